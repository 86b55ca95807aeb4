"""Tests of the pinhole camera geometry (no ROS graph needed)."""

import numpy as np
import pytest

from vision_node.core.projection import CameraIntrinsics, backproject, box_depth, project
from vision_node.errors import VisionNodeError

CAMERA_INFO = {
    "image_width": 640,
    "image_height": 480,
    "camera_name": "head_camera",
    "camera_matrix": {"rows": 3, "cols": 3, "data": [610.0, 0, 321.5, 0, 605.0, 238.2, 0, 0, 1]},
    "distortion_model": "plumb_bob",
    "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0, 0, 0, 0, 0]},
}


@pytest.fixture
def cam() -> CameraIntrinsics:
    return CameraIntrinsics.from_camera_info_dict(CAMERA_INFO)


def test_parse_camera_info(cam):
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (610.0, 605.0, 321.5, 238.2)
    assert (cam.width, cam.height) == (640, 480)
    np.testing.assert_array_equal(
        cam.matrix, np.reshape(CAMERA_INFO["camera_matrix"]["data"], (3, 3))
    )


def test_project_backproject_round_trip(cam):
    rng = np.random.default_rng(0)
    points = np.column_stack(
        [rng.uniform(-0.5, 0.5, 50), rng.uniform(-0.4, 0.4, 50), rng.uniform(0.2, 4.0, 50)]
    )
    uv = project(points, cam)
    np.testing.assert_allclose(backproject(uv[:, 0], uv[:, 1], points[:, 2], cam), points)
    np.testing.assert_allclose(project(backproject(uv[:, 0], uv[:, 1], 2.0, cam), cam), uv)


def test_principal_point_is_on_the_optical_axis(cam):
    np.testing.assert_allclose(backproject(cam.cx, cam.cy, 1.5, cam), [0.0, 0.0, 1.5])


def test_box_depth_is_the_median_of_valid_pixels():
    img = np.full((48, 64), np.nan, dtype=np.float32)
    img[10:20, 30:40] = 1.25
    img[10, 30:40] = 0.0  # no return
    img[11, 30:35] = 9.0  # a few background pixels
    assert box_depth(img, 34.5, 14.5, 10, 10) == pytest.approx(1.25)


def test_box_depth_clips_to_image_and_scales_millimetres():
    img = np.zeros((48, 64), dtype=np.uint16)
    img[:5, :5] = 800
    assert box_depth(img, 0.0, 0.0, 20, 20, depth_scale=0.001) == pytest.approx(0.8)


def test_box_depth_inner_fraction_leaves_out_the_border():
    img = np.full((20, 20), 3.0)
    img[8:12, 8:12] = 1.0  # object in the middle, background around it
    assert box_depth(img, 9.5, 9.5, 12, 12) == pytest.approx(3.0)
    assert box_depth(img, 9.5, 9.5, 12, 12, inner_fraction=1 / 3) == pytest.approx(1.0)


def test_box_without_valid_depth_raises():
    img = np.full((48, 64), np.nan)
    img[0, 0] = 0.0
    with pytest.raises(VisionNodeError, match="no valid depth in box centre"):
        box_depth(img, 20.0, 20.0, 8, 8)
    with pytest.raises(VisionNodeError, match="no valid depth"):
        box_depth(img, 1000.0, 1000.0, 8, 8)  # box entirely outside the image


@pytest.mark.parametrize("data", [[610.0, 0, 321.5, 0, 605.0, 238.2, 0, 0], list(range(12))])
def test_wrong_matrix_size_raises(data):
    info = dict(CAMERA_INFO, camera_matrix={"rows": 3, "cols": 3, "data": data})
    with pytest.raises(VisionNodeError, match="expected 3 x 3 and 9 values"):
        CameraIntrinsics.from_camera_info_dict(info)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"image_width": 0}, "image width"),
        ({"camera_matrix": {"data": [-1.0, 0, 320, 0, 600, 240, 0, 0, 1]}}, "fx"),
        ({"camera_matrix": {"data": [600.0, 2.0, 320, 0, 600, 240, 0, 0, 1]}}, "no skew"),
        ({"distortion_coefficients": {"data": [0.1, 0, 0, 0, 0]}}, "distortion"),
    ],
)
def test_invalid_camera_info_raises(change, match):
    with pytest.raises(VisionNodeError, match=match):
        CameraIntrinsics.from_camera_info_dict(dict(CAMERA_INFO, **change))


def test_distortion_can_be_ignored_explicitly():
    info = dict(CAMERA_INFO, distortion_coefficients={"data": [0.1, 0, 0, 0, 0]})
    assert CameraIntrinsics.from_camera_info_dict(info, ignore_distortion=True).fx == 610.0


def test_invalid_depth_and_points_raise(cam):
    with pytest.raises(VisionNodeError, match="depth"):
        backproject(10.0, 10.0, 0.0, cam)
    with pytest.raises(VisionNodeError, match="in front|z ="):
        project(np.array([0.0, 0.0, -1.0]), cam)
    with pytest.raises(VisionNodeError, match=r"expected \(\.\.\., 3\)"):
        project(np.zeros((4, 2)), cam)
