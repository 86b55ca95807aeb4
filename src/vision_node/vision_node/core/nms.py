"""Greedy non-maximum suppression of boxes (numpy).

Boxes are (left, top, right, bottom) [px]. Class-aware suppression shifts each class's boxes by
a class-dependent offset larger than the image, so boxes of different classes never overlap.
"""

from __future__ import annotations

import numpy as np

from vision_node.errors import VisionNodeError

# Up to this many boxes, NMS computes all pairwise overlaps at once (N x N floats; beyond it,
# e.g. a YOLO output's thousands of candidates, one box against the rest at a time).
PAIRWISE_MAX = 256


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with each of ``boxes``.

    Args:
        box: (4,) left, top, right, bottom [px].
        boxes: (N, 4) the same.

    Returns:
        (N,) IoU in [0, 1].
    """
    left = np.maximum(box[0], boxes[:, 0])
    top = np.maximum(box[1], boxes[:, 1])
    right = np.minimum(box[2], boxes[:, 2])
    bottom = np.minimum(box[3], boxes[:, 3])
    intersection = np.clip(right - left, 0.0, None) * np.clip(bottom - top, 0.0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - intersection
    return np.where(union > 0.0, intersection / np.maximum(union, 1e-12), 0.0)


def pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    """(N, N) intersection over union of each of ``boxes`` (N, 4) with each: row ``i`` holds
    the same values as ``box_iou(boxes[i], boxes)`` (the same operations, element by element)."""
    left = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    top = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    right = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    bottom = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    intersection = np.clip(right - left, 0.0, None) * np.clip(bottom - top, 0.0, None)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = areas[:, None] + areas[None, :] - intersection
    return np.where(union > 0.0, intersection / np.maximum(union, 1e-12), 0.0)


def non_max_suppression(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    max_detections: int,
    class_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the boxes kept, best score first.

    Args:
        boxes: (N, 4) left, top, right, bottom [px].
        scores: (N,) confidences.
        iou_threshold: A box overlapping a kept box by more than this is dropped, in [0, 1].
        max_detections: Keep at most this many, >= 1.
        class_ids: (N,) class of each box: suppress only within a class. None: across classes.

    Raises:
        VisionNodeError: On mismatched shapes or out-of-range thresholds.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != (boxes.shape[0],):
        raise VisionNodeError(
            f"boxes {boxes.shape} and scores {scores.shape}: expected (N, 4) and (N,)"
        )
    if not 0.0 <= iou_threshold <= 1.0:
        raise VisionNodeError(f"iou_threshold = {iou_threshold}: expected a value in [0, 1]")
    if max_detections < 1:
        raise VisionNodeError(f"max_detections = {max_detections}: expected >= 1")
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if class_ids is not None:
        span = float(np.max(boxes) - np.min(boxes)) + 1.0
        boxes = boxes + (np.asarray(class_ids, dtype=np.float64) * span)[:, None]
    order = np.argsort(-scores, kind="stable")
    keep = []
    if boxes.shape[0] <= PAIRWISE_MAX:
        # All overlaps at once (a few boxes: one numpy pass instead of one per kept box).
        overlapping = ~(pairwise_iou(boxes) <= iou_threshold)
        dropped = np.zeros(boxes.shape[0], dtype=bool)
        for best in order.tolist():
            if dropped[best]:
                continue
            keep.append(best)
            if len(keep) >= max_detections:
                break
            dropped |= overlapping[best]
        return np.asarray(keep, dtype=np.int64)
    while order.size and len(keep) < max_detections:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def suppress_contained(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    threshold: float,
    smaller: bool = False,
) -> np.ndarray:
    """Indices kept (best score first) after dropping each box that lies, by more than
    ``threshold`` of its own area, inside a better-scored box of the same class.

    IoU misses the typical duplicate of a two-stage detector: a proposal on part of an object
    (a cylinder's cap) inside the box of the whole object overlaps it by little IoU.

    Args:
        boxes: (N, 4) left, top, right, bottom [px].
        scores: (N,) confidences.
        class_ids: (N,) class of each box (suppression only within a class).
        threshold: Overlap fraction above which the worse box is dropped, in (0, 1].
        smaller: Measure the overlap as a fraction of the smaller box's area, not of the worse
            box's own: a worse box that holds a better one (a box around an object and its
            surroundings, with the object's own box inside) is then a duplicate too.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64)
    class_ids = np.asarray(class_ids)
    if not 0.0 < threshold <= 1.0:
        raise VisionNodeError(f"containment threshold = {threshold}: expected a value in (0, 1]")
    keep: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        box = boxes[index]
        own = max((box[2] - box[0]) * (box[3] - box[1]), 1e-12)
        contained = False
        for kept in keep:
            if class_ids[kept] != class_ids[index]:
                continue
            other = boxes[kept]
            width = min(box[2], other[2]) - max(box[0], other[0])
            height = min(box[3], other[3]) - max(box[1], other[1])
            area = own
            if smaller:
                area = min(own, max((other[2] - other[0]) * (other[3] - other[1]), 1e-12))
            if width > 0 and height > 0 and width * height / area > threshold:
                contained = True
                break
        if not contained:
            keep.append(int(index))
    return np.asarray(keep, dtype=np.int64)
