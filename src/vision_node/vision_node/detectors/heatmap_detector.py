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
from vision_node.detectors.crops import CHANNELS, crop_batch, depth_in_metres
from vision_node.detectors.onnx_detector import OnnxDetector, load_session
from vision_node.errors import ModelError

OUTPUTS = ("peaks", "size", "offset")
# A same-class detection lying by more than this fraction of its area inside a better one is
# a duplicate (bench/vision_accuracy.py: 27 of 59 false positives were such duplicates; this
# threshold removes 17 of them, recall unchanged; 0.3 removed 23 but risks two real objects).
CONTAINED = 0.5


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
        canvas[:] = 0.0
        if depth is None or depth.shape[:2] != rgb_shape[:2]:
            return canvas
        resized = cv2.resize(depth, (box.width, box.height), interpolation=cv2.INTER_NEAREST)
        metres = resized.astype(np.float32) * np.float32(depth_scale)
        metres[~(metres > 0.0) | ~np.isfinite(metres)] = 0.0
        canvas[0, 0, box.pad_y : box.pad_y + box.height, box.pad_x : box.pad_x + box.width] = metres
        return canvas

    def _load_classifier(self) -> None:
        """The second stage named in the class file (``classifier:``), if any."""
        meta = self.class_file.metadata
        self.classifier = None
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
        self.proposal_threshold = float(meta.get("proposal_threshold", 0.1))
        self.classifier_input = inputs[0].name

    def detect(
        self,
        rgb: np.ndarray,
        intrinsics: CameraIntrinsics | None = None,
        depth: np.ndarray | None = None,
        depth_scale: float = 1.0,
    ) -> list[Detection]:
        blob, box = self.prepare(rgb)
        feeds = {self.input_name: blob}
        if self.depth_name is not None:
            feeds[self.depth_name] = self._depth_blob(depth, depth_scale, rgb.shape, box)
        start = time.perf_counter()
        outputs = self.session.run(self.output_names, feeds)
        peaks, size, offset = (outputs[i] for i in self._order)
        two_stage = self.classifier is not None
        raw = decode_heatmap(
            peaks,
            size,
            offset,
            self.stride,
            self.proposal_threshold if two_stage else self.config.score_threshold,
            self.config.max_detections,
            self.config.iou_threshold,
        )
        detections = self.to_detections(raw, box, rgb.shape[1], rgb.shape[0])
        if two_stage and detections:
            detections = self._classify(rgb, depth, depth_scale, detections)
        self.last_inference_s = time.perf_counter() - start
        return detections

    def _classify(self, rgb, depth, depth_scale, candidates: list[Detection]) -> list[Detection]:
        """Second stage: class (or background) of each candidate from a full-resolution crop."""
        aligned = depth if depth is not None and depth.shape[:2] == rgb.shape[:2] else None
        crops = crop_batch(
            rgb,
            depth_in_metres(aligned, depth_scale),
            [c.box for c in candidates],
            self.crop_size,
            self.crop_context,
        )
        # Each crop and its mirror image, probabilities averaged (steadier than either).
        both = np.concatenate([crops, crops[..., ::-1]])
        (probabilities,) = self.classifier.run(None, {self.classifier_input: both})
        probabilities = 0.5 * (probabilities[: len(crops)] + probabilities[len(crops) :])
        kept = []
        for candidate, p in zip(candidates, probabilities, strict=True):
            class_id = int(np.argmax(p[: len(self.class_names)]))
            score = float(p[class_id])
            if score >= self.config.score_threshold:
                kept.append(
                    dataclasses.replace(
                        candidate,
                        class_id=class_id,
                        class_name=self.class_names[class_id],
                        score=score,
                    )
                )
        kept.sort(key=lambda d: -d.score)
        # Two candidates on one object: keep the better (across classes).
        boxes = np.array([d.box.corners() for d in kept]).reshape(-1, 4)
        scores = np.array([d.score for d in kept])
        keep = non_max_suppression(boxes, scores, self.config.iou_threshold, len(kept) or 1)
        kept = [kept[i] for i in keep] if kept else []
        if len(kept) > 1:
            # A proposal on part of an object inside the box of the whole, same class.
            boxes = np.array([d.box.corners() for d in kept]).reshape(-1, 4)
            scores = np.array([d.score for d in kept])
            classes = np.array([d.class_id for d in kept])
            kept = [kept[i] for i in suppress_contained(boxes, scores, classes, CONTAINED)]
        return kept

    def describe(self) -> str:
        text = super().describe()
        if self.classifier is not None:
            text += f" + classifier {self.classifier_path.name} (candidates >= "
            text += f"{self.proposal_threshold})"
        return text
