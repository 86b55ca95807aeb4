"""The per-frame fast paths give exactly what the generic numpy / OpenCV calls they replace give."""

import pathlib

import cv2
import numpy as np
import pytest

from vision_node.core.letterbox import letterbox_geometry
from vision_node.core.localize import SPREAD_PERCENTILES, _median, _percentiles
from vision_node.core.nms import PAIRWISE_MAX, box_iou, non_max_suppression, pairwise_iou
from vision_node.detectors.base import DetectorConfig
from vision_node.detectors.crops import row_medians
from vision_node.detectors.heatmap_detector import HeatmapDetector
from vision_node.detectors.onnx_detector import PAD_VALUE, image_blob
from vision_node.detectors.yolo_detector import YoloDetector

MODELS = pathlib.Path(__file__).resolve().parents[1] / "models"


def greedy_nms(boxes, scores, iou_threshold, max_detections):
    """Reference NMS: one box against the remaining ones at a time."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size and len(keep) < max_detections:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return keep


def random_boxes(rng, count):
    corner = rng.uniform(0.0, 300.0, (count, 2))
    size = rng.uniform(0.0, 80.0, (count, 2))
    size[rng.random(count) < 0.1] = 0.0  # degenerate boxes: zero area
    boxes = np.hstack([corner, corner + size])
    boxes[rng.random(count) < 0.2] = boxes[0]  # exact duplicates
    return boxes


def test_image_blob_is_blob_from_image_for_every_byte_value():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image[0, :, :] = np.arange(256, dtype=np.uint8)[: 53 * 3].reshape(1, 53, 3)[0, :53]
    image[1:6, 0, 0] = (0, 1, 127, 254, 255)
    expected = cv2.dnn.blobFromImage(image, scalefactor=1.0 / 255.0)
    blob = image_blob(image)
    assert blob.dtype == np.float32 and blob.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(blob, expected)
    every = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(
        image_blob(every), cv2.dnn.blobFromImage(every, scalefactor=1.0 / 255.0)
    )


@pytest.mark.parametrize("count", [1, 2, 7, 40, PAIRWISE_MAX, PAIRWISE_MAX + 30])
@pytest.mark.parametrize("iou_threshold", [0.0, 0.3, 0.45, 1.0])
def test_nms_keeps_what_the_one_at_a_time_greedy_nms_keeps(count, iou_threshold):
    rng = np.random.default_rng(count)
    boxes = random_boxes(rng, count)
    scores = rng.random(count)
    scores[rng.random(count) < 0.3] = 0.5  # ties: the stable order decides
    for max_detections in (1, 5, count):
        kept = non_max_suppression(boxes, scores, iou_threshold, max_detections)
        assert kept.tolist() == greedy_nms(boxes, scores, iou_threshold, max_detections)


def test_pairwise_iou_rows_are_box_iou():
    boxes = random_boxes(np.random.default_rng(5), 60)
    matrix = pairwise_iou(boxes)
    for index in range(len(boxes)):
        np.testing.assert_array_equal(matrix[index], box_iou(boxes[index], boxes))


def test_row_medians_are_numpy_medians_of_the_masked_values():
    rng = np.random.default_rng(1)
    for trial in range(300):
        rows, columns = int(rng.integers(1, 10)), int(rng.integers(1, 300))
        values = rng.uniform(0.1, 5.0, (rows, columns)).astype(np.float32)
        if trial % 3 == 0:
            values = np.round(values, 1)  # repeated values
        mask = rng.random((rows, columns)) < rng.random()
        medians = row_medians(values, mask)
        assert medians.dtype == np.float32
        for row in range(rows):
            if mask[row].any():
                assert medians[row] == np.median(values[row][mask[row]])
            else:
                assert np.isnan(medians[row])


def test_localize_median_is_numpy_median():
    rng = np.random.default_rng(2)
    for trial in range(300):
        values = rng.normal(1.0, 0.3, (3, int(rng.integers(1, 500))))
        if trial % 2:
            values = np.round(values, 2)
        np.testing.assert_array_equal(_median(values), np.median(values, axis=1))
        assert _median(values[2]) == np.median(values[2])


def reference_blob(rgb, input_width, input_height):
    """The letterboxed input as cv2.dnn.blobFromImage makes it (the code before the fast path)."""
    box = letterbox_geometry(rgb.shape[1], rgb.shape[0], input_width, input_height)
    canvas = np.full((input_height, input_width, 3), PAD_VALUE, np.uint8)
    resized = cv2.resize(rgb, (box.width, box.height), interpolation=cv2.INTER_AREA)
    canvas[box.pad_y : box.pad_y + box.height, box.pad_x : box.pad_x + box.width] = resized
    return cv2.dnn.blobFromImage(canvas, scalefactor=1.0 / 255.0), box


def reference_depth_blob(depth, scale, box, input_width, input_height):
    """The heatmap's depth input as the code before the fast path made it."""
    canvas = np.zeros((1, 1, input_height, input_width), np.float32)
    resized = cv2.resize(depth, (box.width, box.height), interpolation=cv2.INTER_NEAREST)
    metres = canvas[0, 0, box.pad_y : box.pad_y + box.height, box.pad_x : box.pad_x + box.width]
    np.multiply(resized.astype(np.float32, copy=False), np.float32(scale), out=metres)
    with np.errstate(invalid="ignore"):
        known = (metres > 0.0) & (metres < np.inf)
    np.copyto(metres, 0.0, where=~known)
    return canvas


@pytest.mark.parametrize("detector_type", [HeatmapDetector, YoloDetector])
def test_prepared_inputs_are_those_of_the_reference_code(detector_type):
    """Unpadded (the heatmap's 320x240 from 640x480) and letterboxed (YOLO's 320x320) inputs,
    frame after frame (the buffers are reused), of images of several sizes."""
    model = "scene_objects.onnx" if detector_type is HeatmapDetector else "scene_objects_yolo.onnx"
    detector = detector_type(DetectorConfig(model=str(MODELS / model)))
    width, height = detector.input_size
    rng = np.random.default_rng(4)
    for rows, cols in ((480, 640), (480, 640), (360, 640), (480, 640), (100, 90)):
        rgb = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
        blob, box = detector.prepare(rgb)
        expected, expected_box = reference_blob(rgb, width, height)
        assert box == expected_box
        np.testing.assert_array_equal(blob, expected)
        if detector_type is not HeatmapDetector:
            continue
        depth = rng.uniform(0.2, 3.0, (rows, cols)).astype(np.float32)
        depth[rng.random(depth.shape) < 0.1] = np.nan
        depth[rng.random(depth.shape) < 0.05] = np.inf
        depth[rng.random(depth.shape) < 0.05] = -1.0
        depth[rng.random(depth.shape) < 0.05] = -np.inf
        depth[rng.random(depth.shape) < 0.05] = -0.0
        depth[rng.random(depth.shape) < 0.05] = 0.0
        with np.errstate(invalid="ignore"):
            millimetres = np.nan_to_num(depth * 1000.0, nan=0.0, posinf=0.0, neginf=0.0)
        for array, scale in (
            (depth, 1.0),
            (depth * 2.0, 0.5),
            (millimetres.astype(np.uint16), 1e-3),
        ):
            # Bit for bit (-0.0 is not 0.0 here).
            np.testing.assert_array_equal(
                detector._depth_blob(array, scale, rgb.shape, box).view(np.uint32),
                reference_depth_blob(array, scale, box, width, height).view(np.uint32),
            )
        assert not detector._depth_blob(None, 1.0, rgb.shape, box).any()


def test_localize_percentiles_are_numpy_percentiles():
    rng = np.random.default_rng(3)
    for trial in range(2000):
        values = rng.normal(1.0, 0.2, int(rng.integers(1, 700)))
        if trial % 3 == 0:
            values = np.round(values, 2)
        if trial % 7 == 0:
            values = np.full(values.shape, 0.7)
        percentiles = SPREAD_PERCENTILES if trial % 2 else tuple(rng.uniform(0.0, 100.0, 3))
        np.testing.assert_array_equal(
            _percentiles(values, percentiles), np.percentile(values, percentiles)
        )
    edges = np.array([0.3, 0.1, 0.2, 0.9])
    np.testing.assert_array_equal(
        _percentiles(edges, (0.0, 50.0, 100.0)), np.percentile(edges, (0.0, 50.0, 100.0))
    )
