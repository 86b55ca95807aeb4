"""vision_node's algorithms without ROS: decoding, NMS, letterbox, depth localisation, queue."""

from __future__ import annotations

import numpy as np
import pytest

from vision_node.core.decode import decode_heatmap, decode_yolo
from vision_node.core.detections import Box2D, Detection, select_target
from vision_node.core.letterbox import letterbox_geometry
from vision_node.core.localize import LocalizerParams, localize
from vision_node.core.nms import box_iou, non_max_suppression, suppress_contained
from vision_node.core.projection import CameraIntrinsics
from vision_node.detectors.class_file import load_class_file
from vision_node.errors import InputError, ModelError, VisionNodeError
from vision_node.frame_queue import FrameQueue

CAMERA = CameraIntrinsics(606.0, 606.0, 320.0, 240.0, 640, 480)


def yolo_output(boxes, num_classes: int, candidates: int = 50) -> np.ndarray:
    """A [1, 4 + C, N] tensor holding ``boxes`` (cx, cy, w, h, class, score), zeros elsewhere."""
    output = np.zeros((1, 4 + num_classes, candidates), np.float32)
    for column, (cx, cy, w, h, class_id, score) in enumerate(boxes):
        output[0, :4, column] = (cx, cy, w, h)
        output[0, 4 + class_id, column] = score
    return output


def test_yolo_decode_thresholds_and_class_aware_nms():
    output = yolo_output(
        [
            (100, 100, 40, 40, 0, 0.9),
            (102, 101, 40, 40, 0, 0.8),  # same class, overlapping: suppressed
            (101, 100, 40, 40, 1, 0.7),  # other class at the same place: kept
            (300, 200, 20, 30, 2, 0.3),  # below threshold
        ],
        num_classes=3,
    )
    raw = decode_yolo(output, 3, score_threshold=0.5, iou_threshold=0.5, max_detections=10)
    assert raw.class_ids.tolist() == [0, 1]
    np.testing.assert_allclose(raw.scores, [0.9, 0.7], rtol=1e-6)
    np.testing.assert_allclose(raw.boxes[0], [80, 80, 120, 120])
    agnostic = decode_yolo(output, 3, 0.5, 0.5, 10, class_agnostic=True)
    assert agnostic.class_ids.tolist() == [0]
    # Transposed export layout [1, N, 4 + C] decodes the same.
    transposed = decode_yolo(output.transpose(0, 2, 1), 3, 0.5, 0.5, 10)
    np.testing.assert_allclose(transposed.boxes, raw.boxes)


def test_yolo_decode_rejects_a_layout_that_does_not_fit_the_classes():
    with pytest.raises(ModelError, match=r"expected \[1, 7, N\]"):
        decode_yolo(np.zeros((1, 9, 40)), 3, 0.5, 0.5, 10)


def test_heatmap_decode_places_boxes_at_peaks():
    peaks = np.zeros((1, 2, 10, 12), np.float32)
    size = np.zeros((1, 2, 10, 12), np.float32)
    offset = np.zeros((1, 2, 10, 12), np.float32)
    peaks[0, 1, 3, 5] = 0.9
    size[0, :, 3, 5] = (16, 8)
    offset[0, :, 3, 5] = (0.25, 0.5)
    peaks[0, 0, 7, 2] = 0.2  # below the threshold
    raw = decode_heatmap(peaks, size, offset, 4.0, 0.3, 10)
    assert raw.class_ids.tolist() == [1]
    np.testing.assert_allclose(raw.boxes[0], [(5.25 * 4) - 8, (3.5 * 4) - 4, 21 + 8, 14 + 4])
    # The same object peaking in a second class's map: the better class wins across classes.
    peaks[0, 0, 3, 6] = 0.5
    size[:, :, 3, 6] = size[:, :, 3, 5]
    assert decode_heatmap(peaks, size, offset, 4.0, 0.3, 10).class_ids.tolist() == [1, 0]
    assert decode_heatmap(peaks, size, offset, 4.0, 0.3, 10, 0.3).class_ids.tolist() == [1]


def test_nms_keeps_the_best_of_overlapping_boxes():
    rng = np.random.default_rng(3)
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5]], float)
    scores = np.array([0.5, 0.9, 0.8, 0.4])
    keep = non_max_suppression(boxes, scores, 0.5, 10)
    assert keep.tolist() == [1, 2]
    assert non_max_suppression(boxes, scores, 0.5, 1).tolist() == [1]
    random_boxes = rng.uniform(0, 100, (30, 2))
    random_boxes = np.hstack([random_boxes, random_boxes + rng.uniform(5, 30, (30, 2))])
    kept = non_max_suppression(random_boxes, rng.random(30), 0.3, 100)
    for i in kept:  # no two kept boxes overlap more than the threshold
        others = [j for j in kept if j != i]
        assert np.all(box_iou(random_boxes[i], random_boxes[others]) <= 0.3 + 1e-9)
    with pytest.raises(VisionNodeError, match="iou_threshold"):
        non_max_suppression(boxes, scores, 1.5, 10)


@pytest.mark.parametrize("source", [(640, 480), (480, 640), (1280, 720), (320, 240)])
def test_letterbox_maps_boxes_back_to_the_source(source):
    box = letterbox_geometry(*source, 320, 320)
    assert box.width <= 320 and box.height <= 320
    assert box.width == 320 or box.height == 320
    # A pixel edge x in the source is at (x + 0.5) * scale - 0.5 + pad in the input.
    corners = np.array([[10.0, 20.0, 200.0, 150.0]])
    in_input = (corners + 0.5) * box.scale - 0.5 + [box.pad_x, box.pad_y, box.pad_x, box.pad_y]
    np.testing.assert_allclose(box.to_source(in_input), corners, atol=1e-9)


def sphere_on_table_depth(centre: np.ndarray, radius: float, table_depth: float) -> np.ndarray:
    """Depth [m] of a sphere in front of a fronto-parallel wall, rendered by ray casting."""
    v, u = np.mgrid[0:480, 0:640].astype(float)
    rays = np.stack([(u - CAMERA.cx) / CAMERA.fx, (v - CAMERA.cy) / CAMERA.fy, np.ones_like(u)], -1)
    # |t r - c|^2 = R^2 with r = (x, y, 1): the nearer root gives the depth t (z of the point).
    a = np.sum(rays**2, -1)
    b = -2 * rays @ centre
    c = centre @ centre - radius**2
    disc = b**2 - 4 * a * c
    depth = np.full(u.shape, table_depth)
    hit = disc >= 0
    depth[hit] = np.minimum((-b[hit] - np.sqrt(disc[hit])) / (2 * a[hit]), table_depth)
    return depth.astype(np.float32)


def sphere_box(centre, radius) -> Box2D:
    u = CAMERA.fx * centre[0] / centre[2] + CAMERA.cx
    v = CAMERA.fy * centre[1] / centre[2] + CAMERA.cy
    half = CAMERA.fx * radius / np.sqrt(centre[2] ** 2 - radius**2)
    return Box2D(u, v, 2 * half, 2 * half)


@pytest.mark.parametrize("distance", [0.45, 0.8, 1.15])
def test_localise_a_sphere_to_within_millimetres(distance):
    centre = np.array([0.08, -0.05, distance])
    depth = sphere_on_table_depth(centre, 0.03, distance + 0.25)
    where = localize(depth, sphere_box(centre, 0.03), CAMERA, centre_offset=0.35)
    assert np.linalg.norm(where.position - centre) < 0.004
    assert where.size[0] == pytest.approx(0.06, rel=0.1)
    assert where.variance > 0 and where.points > 20


def test_localise_ignores_invalid_depth_and_scales_millimetres():
    centre = np.array([0.0, 0.0, 0.7])
    depth = sphere_on_table_depth(centre, 0.03, 1.0)
    holes = depth.copy()
    holes[::3, ::2] = np.nan  # a third of the pixels have no return
    holes[1::5] = 0.0
    box = sphere_box(centre, 0.03)
    a = localize(holes, box, CAMERA, 0.35).position
    millimetres = np.nan_to_num(depth * 1000).astype(np.uint16)
    b = localize(millimetres, box, CAMERA, 0.35, depth_scale=0.001).position
    assert np.linalg.norm(a - centre) < 0.005 and np.linalg.norm(b - centre) < 0.005


def test_pose_dependent_offset_model_uses_extent_and_depth_spread():
    """A flat disc facing the camera (a cylinder seen end-on): no depth spread, so the offset
    is a x the box's smaller extent + c; a plain fraction of the width would be too short."""
    depth = np.full((480, 640), 1.5, np.float32)
    depth[200:280, 290:350] = 0.8  # 60 x 80 px at 0.8 m: 7.9 x 10.6 cm
    box = Box2D(319.5, 239.5, 60, 80)
    flat = localize(depth, box, CAMERA, 0.35, offset_model=(0.5, -1.0, 0.02))
    assert flat.spread == pytest.approx(0.0, abs=1e-6)
    smaller = 60 * 0.8 / CAMERA.fx
    assert flat.position[2] == pytest.approx(0.8 + 0.5 * smaller + 0.02, abs=1e-3)
    plain = localize(depth, box, CAMERA, 0.35)
    assert plain.position[2] == pytest.approx(0.8 + 0.35 * smaller, abs=1e-3)
    # A depth ramp across the box (a curved side): the spread lowers the offset, never below 0.
    depth[200:280, 290:350] = np.linspace(0.78, 0.82, 60, dtype=np.float32)[None, :]
    ramp = localize(depth, box, CAMERA, 0.35, offset_model=(0.0, -1.0, 0.02))
    assert ramp.spread == pytest.approx(0.032, abs=0.003)
    assert ramp.position[2] == pytest.approx(0.8, abs=2e-3)
    assert (
        np.linalg.norm(ramp.position)
        >= np.linalg.norm(localize(depth, box, CAMERA, 0.0).position) - 1e-9
    )


@pytest.mark.parametrize("fill", [np.nan, 0.0, np.inf, -1.0, 50.0])
def test_localise_without_valid_depth_raises_input_error(fill):
    depth = np.full((480, 640), fill, np.float32)
    with pytest.raises(InputError, match="no valid depth in box"):
        localize(depth, Box2D(320, 240, 40, 40), CAMERA)


def test_localise_rejects_a_depth_image_of_another_size():
    with pytest.raises(VisionNodeError, match="expected depth aligned to colour"):
        localize(np.ones((240, 320)), Box2D(100, 100, 10, 10), CAMERA)
    with pytest.raises(VisionNodeError, match="depth range"):
        LocalizerParams(min_depth_m=2.0, max_depth_m=1.0)


def test_frame_queue_drops_the_oldest_and_stays_bounded():
    queue = FrameQueue(capacity=2)
    for item in range(5):
        queue.put(item)
    assert len(queue) == 2 and queue.dropped == 3 and queue.high_water == 2
    assert [queue.get(0.01), queue.get(0.01), queue.get(0.01)] == [3, 4, None]


def test_select_target_prefers_score_then_distance():
    def detection(name, score, z):
        return Detection(0, name, score, Box2D(0, 0, 1, 1)).with_pose([0, 0, z], None, 0.0)

    near, far = detection("cube", 0.8, 0.5), detection("cube", 0.8, 1.0)
    best = detection("cube", 0.9, 2.0)
    unlocalised = Detection(0, "cube", 0.99, Box2D(0, 0, 1, 1))
    assert select_target([far, near, unlocalised], "cube") is near
    assert select_target([far, near, best, detection("sphere", 1.0, 0.3)], "cube") is best
    assert select_target([far], "sphere") is None
    assert select_target([far, detection("sphere", 0.95, 0.3)], "").class_name == "sphere"


def test_class_files_in_both_ultralytics_forms(tmp_path):
    listed = tmp_path / "listed.yaml"
    listed.write_text(
        "names: [cube, cylinder]\ncentre_offset: {cube: 0.4}\n"
        "centre_offset_model: {cylinder: [0.5, -0.3, 0.05]}\n"
    )
    mapped = tmp_path / "mapped.yaml"
    mapped.write_text("names: {0: person, 1: bicycle}\npath: ../datasets\n")
    assert load_class_file(listed).names == ("cube", "cylinder")
    assert load_class_file(listed).centre_offset == {"cube": 0.4}
    assert load_class_file(listed).centre_offset_model == {"cylinder": (0.5, -0.3, 0.05)}
    assert load_class_file(mapped).names == ("person", "bicycle")
    for text, match in [
        ("names: {0: a, 2: b}\n", "expected 0..1"),
        ("classes: [a]\n", "'names' key"),
        ("names: [a]\nmarker_shape: {a: torus}\n", "marker_shape"),
        ("names: [a\n", "not readable YAML"),
        ("names: [a]\ncentre_offset_model: {a: [1, 2]}\n", "centre_offset_model"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ModelError, match=match):
            load_class_file(bad)
    with pytest.raises(ModelError, match="does not exist"):
        load_class_file(tmp_path / "missing.yaml")


def test_a_part_inside_the_whole_of_the_same_class_is_a_duplicate():
    whole = [100.0, 100.0, 160.0, 220.0]  # a standing cylinder
    cap = [105.0, 100.0, 155.0, 130.0]  # a proposal on its top: IoU 0.21, all inside
    beside = [150.0, 100.0, 210.0, 220.0]  # another cylinder, half overlapping
    boxes = np.array([whole, cap, beside])
    assert box_iou(boxes[0], boxes[1:2])[0] < 0.45  # plain NMS keeps the cap
    kept = suppress_contained(boxes, np.array([0.9, 0.8, 0.7]), np.array([1, 1, 1]), 0.7)
    assert kept.tolist() == [0, 2]
    # A better-scored part keeps its place; the whole is not inside it.
    kept = suppress_contained(boxes, np.array([0.5, 0.8, 0.7]), np.array([1, 1, 1]), 0.7)
    assert kept.tolist() == [1, 2, 0]
    # Another class inside the box (a sphere in front of a cube) is not a duplicate.
    kept = suppress_contained(boxes[:2], np.array([0.9, 0.8]), np.array([0, 2]), 0.7)
    assert kept.tolist() == [0, 1]


def test_containment_over_the_smaller_box_also_drops_a_worse_whole():
    whole = [100.0, 100.0, 160.0, 220.0]
    part = [105.0, 130.0, 155.0, 190.0]  # better scored, inside: 42 % of the whole's area
    beside = [150.0, 100.0, 210.0, 220.0]  # another object: at most 1/6 of a box shared
    boxes = np.array([whole, part, beside])
    scores, ids = np.array([0.5, 0.8, 0.7]), np.array([1, 1, 1])
    assert suppress_contained(boxes, scores, ids, 0.5).tolist() == [1, 2, 0]
    assert suppress_contained(boxes, scores, ids, 0.5, smaller=True).tolist() == [1, 2]
    # Other classes are still never duplicates.
    ids = np.array([0, 1, 2])
    assert suppress_contained(boxes, scores, ids, 0.5, smaller=True).tolist() == [1, 2, 0]
