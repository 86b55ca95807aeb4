"""Detection and localisation accuracy of a pipeline on rendered scenes with ground truth.

Matching, per frame, detections in decreasing score: a detection matches the nearest unmatched
object of its class whose visible box (grown by 10 %, at least 2 px) contains the detection's
centre. A match with a required object is a true positive; with an object that is not required
(mostly hidden or cut by the border) it is ignored; anything else (wrong class, nothing there, a
second detection of one object) is a false positive. Recall = true positives / required
objects; false-positive rate = false positives / (true positives + false positives). The 3D
error of a true positive is the distance between the estimated and the true centre [m]; the
object's range is the distance from the camera to its centre [m].
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from vision_node.core.detections import Box2D, Detection
from vision_node.core.nms import box_iou
from vision_node.synthetic.scene_generator import ObjectTruth, RenderedScene


@dataclass
class TruePositive:
    """A required object found: class, range [m], 3D error [m] (NaN: not localised), IoU."""

    class_name: str
    range_m: float
    error_m: float
    iou: float
    error_vector: np.ndarray | None = None


@dataclass
class FrameMatches:
    """Outcome of one frame."""

    true_positives: list[TruePositive] = field(default_factory=list)
    false_positives: list[Detection] = field(default_factory=list)
    missed: list[ObjectTruth] = field(default_factory=list)
    ignored: int = 0


def _contains(box: tuple[float, float, float, float], u: float, v: float) -> bool:
    cx, cy, w, h = box
    grow_w, grow_h = max(2.0, 0.1 * w), max(2.0, 0.1 * h)
    return abs(u - cx) <= w / 2 + grow_w and abs(v - cy) <= h / 2 + grow_h


def match_frame(detections: list[Detection], truths: list[ObjectTruth]) -> FrameMatches:
    """Match one frame's detections to its ground truth (see the module docstring)."""
    result = FrameMatches()
    matched = [False] * len(truths)
    for detection in sorted(detections, key=lambda d: -d.score):
        u, v = detection.box.center_x, detection.box.center_y
        candidates = [
            i
            for i, t in enumerate(truths)
            if not matched[i]
            and t.class_name == detection.class_name
            and _contains(t.visible_box, u, v)
        ]
        if not candidates:
            result.false_positives.append(detection)
            continue
        best = min(
            candidates,
            key=lambda i: np.hypot(truths[i].visible_box[0] - u, truths[i].visible_box[1] - v),
        )
        matched[best] = True
        truth = truths[best]
        if not truth.required:
            result.ignored += 1
            continue
        truth_box = np.array(Box2D(*truth.visible_box).corners())
        iou = float(box_iou(np.array(detection.box.corners()), truth_box[None])[0])
        error, vector = float("nan"), None
        if detection.localised:
            vector = detection.position - truth.position
            error = float(np.linalg.norm(vector))
        result.true_positives.append(
            TruePositive(
                truth.class_name, float(np.linalg.norm(truth.position)), error, iou, vector
            )
        )
    result.missed = [t for t, m in zip(truths, matched, strict=True) if t.required and not m]
    return result


@dataclass
class Evaluation:
    """Accumulated results over frames."""

    frames: int = 0
    true_positives: list[TruePositive] = field(default_factory=list)
    false_positives: int = 0
    missed: list[ObjectTruth] = field(default_factory=list)
    false_positive_classes: list[str] = field(default_factory=list)
    ignored: int = 0
    detect_s: list[float] = field(default_factory=list)
    inference_s: list[float] = field(default_factory=list)
    localize_s: list[float] = field(default_factory=list)

    def add(self, matches: FrameMatches) -> None:
        self.frames += 1
        self.true_positives += matches.true_positives
        self.false_positives += len(matches.false_positives)
        self.false_positive_classes += [d.class_name for d in matches.false_positives]
        self.missed += matches.missed
        self.ignored += matches.ignored

    @property
    def required(self) -> int:
        return len(self.true_positives) + len(self.missed)

    @property
    def recall(self) -> float:
        return len(self.true_positives) / max(self.required, 1)

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / max(len(self.true_positives) + self.false_positives, 1)

    def errors(
        self, low_m: float = 0.0, high_m: float = np.inf, class_name: str = ""
    ) -> np.ndarray:
        """3D errors [m] of localised true positives with range in [low_m, high_m]."""
        return np.array(
            [
                tp.error_m
                for tp in self.true_positives
                if low_m <= tp.range_m <= high_m
                and np.isfinite(tp.error_m)
                and (not class_name or tp.class_name == class_name)
            ]
        )

    def summary(self, range_m: tuple[float, float] = (0.4, 1.2)) -> dict:
        """Headline figures: recall, false-positive rate, 3D error median and p95 in range."""
        errors = self.errors(*range_m)
        return {
            "frames": self.frames,
            "required_objects": self.required,
            "true_positives": len(self.true_positives),
            "missed": len(self.missed),
            "false_positives": self.false_positives,
            "recall": round(self.recall, 4),
            "false_positive_rate": round(self.false_positive_rate, 4),
            "iou50_recall": round(
                sum(tp.iou >= 0.5 for tp in self.true_positives) / max(self.required, 1), 4
            ),
            "error_range_m": list(range_m),
            "error_count": int(errors.size),
            "error_median_m": round(float(np.median(errors)), 4) if errors.size else None,
            "error_p95_m": round(float(np.percentile(errors, 95)), 4) if errors.size else None,
            "detect_ms_median": round(1e3 * float(np.median(self.detect_s)), 2)
            if self.detect_s
            else None,
            "inference_ms_median": round(1e3 * float(np.median(self.inference_s)), 2)
            if self.inference_s
            else None,
        }

    def table(self, classes: Iterable[str], bins=((0.3, 0.6), (0.6, 0.9), (0.9, 1.2), (1.2, 2.0))):
        """Rows (label, required, found, recall, error median [cm], p95 [cm]) per class and
        per range bin."""
        rows = []
        for class_name in classes:
            found = sum(tp.class_name == class_name for tp in self.true_positives)
            missed = sum(t.class_name == class_name for t in self.missed)
            errors = self.errors(class_name=class_name)
            rows.append((class_name, found + missed, found, found / max(found + missed, 1), errors))
        for low, high in bins:
            found = sum(low <= tp.range_m < high for tp in self.true_positives)
            missed = sum(low <= float(np.linalg.norm(t.position)) < high for t in self.missed)
            errors = self.errors(low, high)
            rows.append(
                (
                    f"{low:.1f}-{high:.1f} m",
                    found + missed,
                    found,
                    found / max(found + missed, 1),
                    errors,
                )
            )
        return [
            (
                label,
                required,
                found,
                recall,
                100 * float(np.median(e)) if e.size else float("nan"),
                100 * float(np.percentile(e, 95)) if e.size else float("nan"),
            )
            for label, required, found, recall, e in rows
        ]


def evaluate(
    frames: Iterable[RenderedScene],
    process: Callable[[RenderedScene], object],
) -> Evaluation:
    """Run ``process`` (frame -> :class:`vision_node.pipeline.FrameResult`) on rendered frames.

    Args:
        frames: Rendered frames with ground truth.
        process: The pipeline under test.
    """
    evaluation = Evaluation()
    for frame in frames:
        start = time.perf_counter()
        result = process(frame)
        evaluation.detect_s.append(time.perf_counter() - start)
        evaluation.inference_s.append(result.inference_s)
        evaluation.localize_s.append(result.localize_s)
        evaluation.add(match_frame(result.detections, frame.objects))
    return evaluation
