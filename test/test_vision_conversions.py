"""vision_node's message conversions: image encodings, bad images, camera_info, outputs."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from vision_node import ros_conversions as conv
from vision_node.annotate import annotate, marker_array
from vision_node.core.detections import Box2D, Detection
from vision_node.errors import InputError


def image(array: np.ndarray, encoding: str, step: int | None = None, big_endian=False) -> Image:
    msg = Image()
    msg.height, msg.width = array.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = int(big_endian)
    row = array.shape[1] * (array.shape[2] if array.ndim == 3 else 1) * array.dtype.itemsize
    step = row if step is None else step
    padded = np.zeros((array.shape[0], max(step, row)), np.uint8)
    padded[:, :row] = np.frombuffer(array.tobytes(), np.uint8).reshape(array.shape[0], row)
    padded = padded[:, :step]
    msg.step = step
    msg.data = padded.tobytes()
    return msg


RGB = np.random.default_rng(0).integers(0, 255, (6, 10, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("array", "encoding"),
    [
        (RGB, "rgb8"),
        (RGB[:, :, ::-1].copy(), "bgr8"),
        (np.dstack([RGB, np.full((6, 10), 255, np.uint8)]), "rgba8"),
        (np.dstack([RGB[:, :, ::-1], np.zeros((6, 10), np.uint8)]), "bgra8"),
    ],
)
def test_colour_encodings_become_rgb(array, encoding):
    np.testing.assert_array_equal(conv.colour_image(image(array, encoding)), RGB)
    # Rows padded beyond the pixels (step > width * channels) are read correctly too.
    padded = image(array, encoding, step=array.shape[1] * array.shape[2] + 7)
    np.testing.assert_array_equal(conv.colour_image(padded), RGB)


def test_mono_and_depth_encodings():
    grey = RGB[:, :, 0].copy()
    np.testing.assert_array_equal(conv.colour_image(image(grey, "mono8"))[:, :, 1], grey)
    metres = np.linspace(0.3, 2.0, 60, dtype=np.float32).reshape(6, 10)
    depth, scale = conv.depth_image(image(metres, "32FC1"))
    assert scale == 1.0 and np.array_equal(depth, metres)
    millimetres = (metres * 1000).astype(np.uint16)
    depth, scale = conv.depth_image(image(millimetres, "16UC1"))
    assert scale == 0.001 and np.array_equal(depth, millimetres)
    swapped = image(millimetres.byteswap(), "16UC1", big_endian=True)
    assert np.array_equal(conv.depth_image(swapped)[0], millimetres)


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (image(RGB, "yuv422"), "colour image encoding 'yuv422'"),
        (image(RGB, "32FC1"), "colour image encoding '32FC1'"),
        (image(RGB, "rgb8", step=12), "step 12 bytes"),
    ],
)
def test_unusable_colour_images_raise(msg, match):
    with pytest.raises(InputError, match=match):
        conv.colour_image(msg)


def test_truncated_and_empty_images_raise():
    truncated = image(RGB, "rgb8")
    truncated.data = truncated.data[:-5]
    with pytest.raises(InputError, match="expected step 30 x height 6"):
        conv.colour_image(truncated)
    empty = Image(encoding="rgb8")
    with pytest.raises(InputError, match="positive size"):
        conv.colour_image(empty)
    with pytest.raises(InputError, match="depth image encoding 'rgb8'"):
        conv.depth_image(image(RGB, "rgb8"))


def test_camera_info_to_intrinsics():
    info = CameraInfo(width=640, height=480)
    info.k = [606.0, 0.0, 320.0, 0.0, 606.0, 240.0, 0.0, 0.0, 1.0]
    k = conv.intrinsics_from_camera_info(info)
    assert (k.fx, k.cy, k.width) == (606.0, 240.0, 640)
    with pytest.raises(InputError, match="not calibrated"):
        conv.intrinsics_from_camera_info(CameraInfo(width=640, height=480))
    info.width = 0
    with pytest.raises(InputError, match="image width"):
        conv.intrinsics_from_camera_info(info)


def test_outputs_carry_the_image_header():
    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    localised = Detection(1, "cylinder", 0.9, Box2D(100, 80, 20, 40)).with_pose(
        [0.1, 0.0, 0.8], [0.05, 0.1, 0.05], 1e-4
    )
    flat = Detection(0, "cube", 0.6, Box2D(10, 10, 8, 8))
    array = conv.detection_array([localised, flat], header)
    assert array.header.stamp.nanosec == 345 and array.header.frame_id == "cam_optical"
    first, second = array.detections
    assert first.box.class_name == "cylinder" and first.pose.position.z == pytest.approx(0.8)
    assert first.position_covariance == pytest.approx(1e-4)
    assert second.position_covariance == -1.0 and second.pose.orientation.w == 1.0
    target = conv.target_pose(localised, header)
    assert target.header.frame_id == "cam_optical" and target.pose.position.x == pytest.approx(0.1)
    markers = marker_array([localised, flat], header, lambda c: "cylinder", 0.5)
    assert markers.markers[0].action == Marker.DELETEALL
    assert [m.type for m in markers.markers[1:]] == [Marker.CYLINDER, Marker.TEXT_VIEW_FACING]
    drawn = annotate(np.zeros((120, 160, 3), np.uint8), [localised, flat])
    assert drawn.any() and drawn.shape == (120, 160, 3)
    msg = conv.image_message(drawn, header)
    assert msg.encoding == "rgb8" and np.array_equal(conv.colour_image(msg), drawn)
