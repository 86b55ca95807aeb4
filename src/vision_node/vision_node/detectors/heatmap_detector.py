"""The stack's own detector for the simulated scene objects: a small centre-heatmap network.

The ONNX model (``share/vision_node/models/scene_objects.onnx``, trained by
``src/vision_node/training/train_detector.py`` on randomised MuJoCo renders) takes a 320x240
RGB image in [0, 1] (``images``) and, when the model has a second input ``depth``, the aligned
depth at the same size [m] (nearest-sampled, 0 where unknown: frames without depth are fed
zeros, which the model was trained to cope with, less accurately). It returns three maps at
stride 4: ``peaks`` (per-class centre scores, already reduced to 3x3 local maxima), ``size``
(box width and height [input px]) and ``offset`` (sub-cell centre [cells]); see
:func:`vision_node.core.decode.decode_heatmap`.

When the class file names a ``classifier`` (``scene_objects_classifier.onnx``), the heatmap's
peaks above ``proposal_threshold`` (any class) are only candidates: a second network classifies
a full-resolution crop of each (colour and relative depth, see :mod:`crops`) as one of the
classes or background, and its probability is the detection's score. The heatmap at 320x240
finds objects reliably but confuses small ones' classes; the crop at full resolution does not.
Which classified candidates become detections (thresholds, combining the heatmap peak, the
mirrored second pass, duplicate suppression) is :class:`DecisionRules`, read from the class
file and tuned on a validation seed by ``training/tune_decision.py``.
"""

from __future__ import annotations

import dataclasses
import time

import cv2
import numpy as np

from vision_node.core.decode import decode_heatmap
from vision_node.core.detections import Detection
from vision_node.core.nms import non_max_suppression, suppress_contained
from vision_node.core.projection import CameraIntrinsics
from vision_node.detectors.crops import CHANNELS, crop_batch
from vision_node.detectors.onnx_detector import OnnxDetector, load_session
from vision_node.errors import ModelError

OUTPUTS = ("peaks", "size", "offset")
# A same-class detection lying by more than this fraction of its area inside a better one is
# a duplicate (bench/vision_accuracy.py: 27 of 59 false positives were such duplicates; this
# threshold removes 17 of them, recall unchanged; 0.3 removed 23 but risks two real objects).
CONTAINED = 0.5
MIRROR_MODES = ("mean", "min", "none")
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclasses.dataclass(frozen=True)
class DecisionRules:
    """What the two-stage detector keeps of its networks' outputs.

    Defaults come from the node's settings (``score_threshold``, ``iou_threshold``) and the
    class file (keys ``proposal_threshold``, ``proposal_iou``, ``score_thresholds``,
    ``background_margin``, ``mirror``, ``containment``, ``cross_class_containment``,
    ``containment_smaller``), where ``training/tune_decision.py`` writes them after tuning on
    a validation seed.

    Attributes:
        proposal_threshold: Heatmap peaks (any class) at least this are candidates.
        proposal_iou: NMS of the candidates (across classes) before classification.
        score_threshold: The node's minimum score (a floor for every class).
        class_thresholds: Per class id minimum score (the larger of it and the floor counts);
            empty: the floor alone.
        background_margin: Minimum class probability minus background probability.
        mirror: Crop and mirror image: ``mean`` of the probabilities, ``min`` (the class of
            the mean, the smaller of the two scores), ``none`` (crop alone, half the cost).
        iou_threshold: NMS across classes after classification.
        containment: Drop a detection lying by more than this fraction of its area inside a
            better one (1: off).
        cross_class_containment: Containment across classes, not only within one.
        containment_smaller: Containment as the overlap over the smaller box's area (also
            drops a worse box that holds a better one), not over the worse box's own.
        peak_weight: A candidate is kept when the classifier's probability p and the heatmap
            peak h combined, ``p ** (1 - peak_weight) * h ** peak_weight`` (0: p alone), reach
            the threshold; its score (and so which of overlapping boxes wins) stays p.
    """

    proposal_threshold: float = 0.1
    proposal_iou: float = 0.45
    score_threshold: float = 0.5
    class_thresholds: tuple[float, ...] = ()
    background_margin: float = 0.0
    mirror: str = "mean"
    iou_threshold: float = 0.45
    containment: float = CONTAINED
    cross_class_containment: bool = False
    containment_smaller: bool = False
    peak_weight: float = 0.0

    def __post_init__(self):
        if self.mirror not in MIRROR_MODES:
            raise ModelError(f"mirror = {self.mirror!r}: expected one of {MIRROR_MODES}")
        values = (
            self.proposal_threshold,
            self.proposal_iou,
            self.score_threshold,
            *self.class_thresholds,
            self.iou_threshold,
            self.containment,
            self.peak_weight,
        )
        if not all(0.0 <= float(v) <= 1.0 for v in values) or self.containment <= 0.0:
            raise ModelError(f"decision rules {self}: thresholds must lie in [0, 1]")
        if not -1.0 <= self.background_margin <= 1.0:
            raise ModelError(f"background_margin = {self.background_margin}: expected [-1, 1]")

    def threshold(self, class_id: int) -> float:
        """Minimum score of class ``class_id``."""
        if class_id < len(self.class_thresholds):
            return max(self.score_threshold, self.class_thresholds[class_id])
        return self.score_threshold

    def replace(self, **changes) -> DecisionRules:
        return dataclasses.replace(self, **changes)


class HeatmapDetector(OnnxDetector):
    """Centre-heatmap ONNX detector (registered as ``scene_objects``)."""

    max_inputs = 2

    def __init__(self, config, options=None):
        super().__init__(config, options)
        if sorted(self.output_names) != sorted(OUTPUTS):
            raise ModelError(
                f"model file {self.model_path}: outputs {self.output_names}: expected "
                f"{list(OUTPUTS)} (a centre-heatmap model; use detector 'yolo' for YOLO exports)"
            )
        shapes = {o.name: o.shape for o in self.session.get_outputs()}
        channels = shapes["peaks"][1]
        if isinstance(channels, int) and channels != len(self.class_names):
            raise ModelError(
                f"model file {self.model_path} has {channels} classes but class file "
                f"{self.class_path} names {len(self.class_names)}"
            )
        cells = shapes["peaks"][3]
        self.stride = self.input_size[0] / cells if isinstance(cells, int) else 4.0
        self._order = [self.output_names.index(name) for name in OUTPUTS]
        others = [i for i in self.session.get_inputs() if i.name != self.input_name]
        self.depth_name = others[0].name if others else None
        self._depth_canvas = np.zeros((1, 1, self.input_size[1], self.input_size[0]), np.float32)
        self._load_classifier()

    def _depth_blob(self, depth, depth_scale: float, rgb_shape, box) -> np.ndarray:
        """The depth input: aligned depth resized like the image [m], 0 where unknown."""
        canvas = self._depth_canvas
        size = (box.width, box.height)
        whole = size == (canvas.shape[3], canvas.shape[2])  # no padding
        if not whole or depth is None or depth.shape[:2] != rgb_shape[:2]:
            canvas[:] = 0.0
        if depth is None or depth.shape[:2] != rgb_shape[:2]:
            return canvas
        metres = canvas[0, 0, box.pad_y : box.pad_y + box.height, box.pad_x : box.pad_x + box.width]
        # Written in place: float32 metres, 0 where unknown (NaN, infinite, zero, negative).
        if whole and depth.dtype == np.float32:
            # Resized straight into the input; x 1 (float metres) changes no value.
            cv2.resize(depth, size, dst=metres, interpolation=cv2.INTER_NEAREST)
            if depth_scale != 1.0:
                np.multiply(metres, np.float32(depth_scale), out=metres)
        else:
            resized = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
            np.multiply(resized.astype(np.float32, copy=False), np.float32(depth_scale), out=metres)
        if whole:
            # 0 where unknown, by OpenCV in place (a tenth of numpy's masks' time): NaN -> 0,
            # then <= 0 (-inf, -0.0 included) -> 0, then > the largest float32 (inf) -> 0.
            cv2.patchNaNs(metres, 0.0)
            cv2.threshold(metres, 0.0, 0.0, cv2.THRESH_TOZERO, dst=metres)
            cv2.threshold(metres, FLOAT32_MAX, 0.0, cv2.THRESH_TOZERO_INV, dst=metres)
            return canvas
        with np.errstate(invalid="ignore"):
            known = (metres > 0.0) & (metres < np.inf)
        np.copyto(metres, 0.0, where=~known)
        return canvas

    def _load_classifier(self) -> None:
        """The second stage named in the class file (``classifier:``), if any."""
        meta = self.class_file.metadata
        self.classifier = None
        self.rules = DecisionRules(
            score_threshold=float(self.config.score_threshold),
            iou_threshold=float(self.config.iou_threshold),
        )
        if not meta.get("classifier"):
            return
        path = self.class_path.parent / str(meta["classifier"])
        self.classifier = load_session(path, self.config.threads)
        self.classifier_path = path
        inputs, outputs = self.classifier.get_inputs(), self.classifier.get_outputs()
        shape = inputs[0].shape if len(inputs) == 1 else None
        classes = outputs[0].shape[-1] if len(outputs) == 1 else None
        if (
            shape is None
            or len(shape) != 4
            or shape[1] != CHANNELS
            or classes != len(self.class_names) + 1
        ):
            raise ModelError(
                f"classifier file {path}: input {[i.shape for i in inputs]}, output "
                f"{[o.shape for o in outputs]}: expected [N, {CHANNELS}, S, S] crops and "
                f"[N, {len(self.class_names) + 1}] probabilities (classes + background)"
            )
        self.crop_size = int(shape[2])
        self.crop_context = float(meta.get("classifier_context", 1.3))
        self.classifier_input = inputs[0].name
        self._outputs = len(self.class_names) + 1
        per_class = meta.get("score_thresholds") or {}
        unknown = sorted(set(per_class) - set(self.class_names))
        if not isinstance(per_class, dict) or unknown:
            raise ModelError(
                f"class file {self.class_path}: score_thresholds must map class names "
                f"{list(self.class_names)} to scores (unknown: {unknown})"
            )
        self.rules = DecisionRules(
            proposal_threshold=float(meta.get("proposal_threshold", 0.1)),
            proposal_iou=float(meta.get("proposal_iou", self.config.iou_threshold)),
            score_threshold=float(self.config.score_threshold),
            class_thresholds=tuple(float(per_class.get(name, 0.0)) for name in self.class_names)
            if per_class
            else (),
            background_margin=float(meta.get("background_margin", 0.0)),
            mirror=str(meta.get("mirror", "mean")),
            iou_threshold=float(self.config.iou_threshold),
            containment=float(meta.get("containment", CONTAINED)),
            cross_class_containment=bool(meta.get("cross_class_containment", False)),
            containment_smaller=bool(meta.get("containment_smaller", False)),
            peak_weight=float(meta.get("peak_weight", 0.0)),
        )
        self.proposal_threshold = self.rules.proposal_threshold

    def detect(
        self,
        rgb: np.ndarray,
        intrinsics: CameraIntrinsics | None = None,
        depth: np.ndarray | None = None,
        depth_scale: float = 1.0,
    ) -> list[Detection]:
        peaks, size, offset, box = self.run_heatmap(rgb, depth, depth_scale)
        two_stage = self.classifier is not None
        raw = decode_heatmap(
            peaks,
            size,
            offset,
            self.stride,
            self.rules.proposal_threshold if two_stage else self.config.score_threshold,
            self.config.max_detections,
            self.rules.proposal_iou if two_stage else self.config.iou_threshold,
        )
        detections = self.to_detections(raw, box, rgb.shape[1], rgb.shape[0])
        if two_stage and detections:
            detections = self._classify(rgb, depth, depth_scale, detections)
        return detections

    def run_heatmap(self, rgb: np.ndarray, depth: np.ndarray | None, depth_scale: float = 1.0):
        """The first stage on one frame: (peaks, size, offset) as the network outputs them and
        the letterbox ``box`` that maps them back to the image; its onnxruntime time becomes
        ``last_inference_s`` (``detect`` adds the classifier's)."""
        blob, box = self.prepare(rgb)
        feeds = {self.input_name: blob}
        if self.depth_name is not None:
            feeds[self.depth_name] = self._depth_blob(depth, depth_scale, rgb.shape, box)
        start = time.perf_counter()
        outputs = self.session.run(self.output_names, feeds)
        # Raw onnxruntime time: both networks' runs, not the decoding and crops between them.
        self.last_inference_s = time.perf_counter() - start
        peaks, size, offset = (outputs[i] for i in self._order)
        return peaks, size, offset, box

    def _classify(self, rgb, depth, depth_scale, candidates: list[Detection]) -> list[Detection]:
        """Second stage: class (or background) of each candidate from a full-resolution crop."""
        aligned = depth if depth is not None and depth.shape[:2] == rgb.shape[:2] else None
        # The raw depth: crop_batch converts only the pixels it samples to metres.
        crops = crop_batch(
            rgb,
            aligned,
            [c.box for c in candidates],
            self.crop_size,
            self.crop_context,
            depth_scale=depth_scale,
        )
        if self.rules.mirror != "none":
            # Each crop and its mirror image (both scores combined: steadier than either).
            crops = np.concatenate([crops, crops[..., ::-1]])
        start = time.perf_counter()
        (probabilities,) = self.classifier.run(None, {self.classifier_input: crops})
        self.last_inference_s += time.perf_counter() - start
        return self.decide(candidates, probabilities.reshape(-1, len(candidates), self._outputs))

    def decide(
        self,
        candidates: list[Detection],
        probabilities: np.ndarray,
        rules: DecisionRules | None = None,
    ) -> list[Detection]:
        """The detections kept from classified candidates (pure: also replayed by
        ``training/tune_decision.py`` on cached network outputs).

        Args:
            candidates: Stage-1 proposals (box in source pixels).
            probabilities: (1 or 2, N, classes + 1) classifier outputs of the crops (and of
                their mirror images), background last.
            rules: Decision rules (default: this detector's).
        """
        rules = rules or self.rules
        classes = len(self.class_names)
        probabilities = np.asarray(probabilities, dtype=np.float64)
        mean = probabilities.mean(axis=0)
        if rules.mirror == "none" or probabilities.shape[0] == 1:
            chosen = probabilities[0]
        else:
            chosen = mean
        kept = []
        for index, candidate in enumerate(candidates):
            p = chosen[index]
            class_id = int(np.argmax(p[:classes]))
            score = float(p[class_id])
            if rules.mirror == "min" and probabilities.shape[0] > 1:
                score = float(np.min(probabilities[:, index, class_id]))
            evidence = score
            if rules.peak_weight > 0.0:
                peak = max(candidate.score, 0.0)
                evidence = score ** (1.0 - rules.peak_weight) * peak**rules.peak_weight
            if evidence < rules.threshold(class_id):
                continue
            if float(p[class_id] - p[classes]) < rules.background_margin:
                continue
            kept.append(
                dataclasses.replace(
                    candidate, class_id=class_id, class_name=self.class_names[class_id], score=score
                )
            )
        kept.sort(key=lambda d: -d.score)
        if not kept:
            return kept
        # Two candidates on one object: keep the better (across classes).
        boxes = np.array([d.box.corners() for d in kept]).reshape(-1, 4)
        scores = np.array([d.score for d in kept])
        keep = non_max_suppression(boxes, scores, rules.iou_threshold, len(kept))
        kept = [kept[i] for i in keep]
        if len(kept) > 1 and rules.containment < 1.0:
            # A proposal on part of an object inside the box of the whole, same class.
            boxes = np.array([d.box.corners() for d in kept]).reshape(-1, 4)
            scores = np.array([d.score for d in kept])
            ids = np.array([d.class_id for d in kept])
            if rules.cross_class_containment:
                ids = np.zeros_like(ids)
            keep = suppress_contained(
                boxes, scores, ids, rules.containment, rules.containment_smaller
            )
            kept = [kept[i] for i in keep]
        return kept[: self.config.max_detections]

    def describe(self) -> str:
        text = super().describe()
        if self.classifier is not None:
            text += f" + classifier {self.classifier_path.name} (candidates >= "
            text += f"{self.proposal_threshold})"
        return text
