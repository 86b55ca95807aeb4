"""Decoding of detector outputs into boxes, scores and classes (numpy).

Two layouts:
- YOLOv8 / YOLO11 detection exports (Ultralytics): one tensor ``[1, 4 + classes, N]`` of N
  candidate boxes, rows ``cx, cy, w, h`` in input pixels followed by one sigmoid score per class
  (no objectness row). Some exports are transposed, ``[1, N, 4 + classes]``.
- A centre heatmap (CenterNet, Zhou et al. 2019, "Objects as Points"): per class a map of
  object-centre scores at stride ``s``, already reduced to local maxima (3x3 max-pool), with
  the box size and the sub-cell centre offset regressed at each cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision_node.core.nms import non_max_suppression
from vision_node.errors import ModelError, VisionNodeError


@dataclass(frozen=True)
class RawDetections:
    """Boxes in model-input pixels: (N, 4) left, top, right, bottom; (N,) scores and classes."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def _check_thresholds(score_threshold: float, max_detections: int) -> None:
    if not 0.0 <= score_threshold <= 1.0:
        raise VisionNodeError(f"score_threshold = {score_threshold}: expected a value in [0, 1]")
    if max_detections < 1:
        raise VisionNodeError(f"max_detections = {max_detections}: expected >= 1")


def decode_yolo(
    output: np.ndarray,
    num_classes: int,
    score_threshold: float,
    iou_threshold: float,
    max_detections: int,
    class_agnostic: bool = False,
) -> RawDetections:
    """Decode a YOLOv8 / YOLO11 detection output.

    Args:
        output: ``[1, 4 + num_classes, N]`` or ``[1, N, 4 + num_classes]`` (the batch axis may
            be absent).
        num_classes: Number of classes the model was exported with.
        score_threshold: Minimum class score kept.
        iou_threshold: NMS overlap threshold.
        max_detections: Keep at most this many boxes.
        class_agnostic: Suppress overlapping boxes across classes too.

    Raises:
        ModelError: If the output's shape does not fit ``num_classes``.
    """
    _check_thresholds(score_threshold, max_detections)
    array = np.asarray(output)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    rows = 4 + num_classes
    if array.ndim != 2 or rows not in array.shape:
        raise ModelError(
            f"YOLO output has shape {tuple(np.shape(output))}: expected [1, {rows}, N] "
            f"(4 box rows + {num_classes} class scores) or its transpose"
        )
    if array.shape[0] != rows:  # [N, 4 + classes]
        array = array.T
    scores_all = array[4:]
    class_ids = np.argmax(scores_all, axis=0)
    scores = scores_all[class_ids, np.arange(array.shape[1])]
    keep = scores >= score_threshold
    if not np.any(keep):
        return RawDetections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))
    cx, cy, w, h = (array[i, keep].astype(np.float64) for i in range(4))
    boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    scores, class_ids = scores[keep].astype(np.float64), class_ids[keep].astype(np.int64)
    kept = non_max_suppression(
        boxes, scores, iou_threshold, max_detections, None if class_agnostic else class_ids
    )
    return RawDetections(boxes[kept], scores[kept], class_ids[kept])


def decode_heatmap(
    peaks: np.ndarray,
    size: np.ndarray,
    offset: np.ndarray,
    stride: float,
    score_threshold: float,
    max_detections: int,
    iou_threshold: float | None = None,
) -> RawDetections:
    """Decode centre-heatmap outputs.

    Args:
        peaks: ``[1, C, h, w]`` (or ``[C, h, w]``) centre scores in [0, 1], zero except at local
            maxima.
        size: ``[1, 2, h, w]`` box width and height [input px].
        offset: ``[1, 2, h, w]`` centre offset from the cell's top-left corner [cells].
        stride: Input pixels per output cell.
        score_threshold: Minimum centre score kept.
        max_detections: Keep at most this many (highest scores).
        iou_threshold: If given, suppress boxes overlapping a better one by more than this,
            across classes: one object sometimes peaks in two classes' maps, and the better
            class wins.

    Raises:
        ModelError: If the shapes do not agree.
    """
    _check_thresholds(score_threshold, max_detections)
    peaks, size, offset = (
        np.asarray(a)[0] if np.ndim(a) == 4 else np.asarray(a) for a in (peaks, size, offset)
    )
    if peaks.ndim != 3 or size.shape != (2, *peaks.shape[1:]) or offset.shape != size.shape:
        raise ModelError(
            f"heatmap outputs {peaks.shape}, {size.shape}, {offset.shape}: expected [C, h, w], "
            "[2, h, w], [2, h, w]"
        )
    class_ids, rows, cols = np.nonzero(peaks >= max(score_threshold, 1e-6))
    scores = peaks[class_ids, rows, cols].astype(np.float64)
    if scores.size > max_detections:
        top = np.argsort(-scores, kind="stable")[:max_detections]
        class_ids, rows, cols, scores = class_ids[top], rows[top], cols[top], scores[top]
    cx = (cols + offset[0, rows, cols]) * stride
    cy = (rows + offset[1, rows, cols]) * stride
    w, h = size[0, rows, cols], size[1, rows, cols]
    boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]).astype(np.float64)
    if iou_threshold is not None:
        order = non_max_suppression(boxes, scores, iou_threshold, max_detections)
    else:
        order = np.argsort(-scores, kind="stable")
    return RawDetections(boxes[order], scores[order], class_ids[order].astype(np.int64))
