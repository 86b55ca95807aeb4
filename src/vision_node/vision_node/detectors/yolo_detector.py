"""A generic ONNX detector for YOLOv8 / YOLO11 detection exports.

Export a model with Ultralytics (``yolo export model=yolo11n.pt format=onnx``), write its class
names in a YAML (``names: [...]``, the data YAML of its training works) and set parameters
``detector: yolo``, ``model`` and ``class_names``. The output ``[1, 4 + classes, N]`` is decoded
by :func:`vision_node.core.decode.decode_yolo` (confidence threshold, class-aware NMS) after the
image is letterboxed into the model's input (grey 114 padding, as Ultralytics does).

Options: ``class_agnostic`` (bool, NMS across classes), ``input_size`` ([width, height], for
models exported with a dynamic input size).
"""

from __future__ import annotations

import numpy as np

from vision_node.core.decode import decode_yolo
from vision_node.core.detections import Detection
from vision_node.core.projection import CameraIntrinsics
from vision_node.detectors.onnx_detector import OnnxDetector
from vision_node.errors import ModelError


class YoloDetector(OnnxDetector):
    """YOLOv8 / YOLO11 layout ONNX detector (registered as ``yolo``)."""

    allowed_options = frozenset({"class_agnostic", "input_size"})

    def __init__(self, config, options=None):
        super().__init__(config, options)
        if len(self.output_names) != 1:
            raise ModelError(
                f"model file {self.model_path}: outputs {self.output_names}: expected one "
                "[1, 4 + classes, N] tensor (YOLOv8 / YOLO11 detection export)"
            )
        shape = self.session.get_outputs()[0].shape
        rows = 4 + len(self.class_names)
        if len(shape) != 3 or (isinstance(shape[1], int) and rows not in shape[1:]):
            raise ModelError(
                f"model file {self.model_path}: output shape {shape}: expected [1, {rows}, N] "
                f"for the {len(self.class_names)} classes of {self.class_path}"
            )
        self.class_agnostic = bool(self.options.get("class_agnostic", False))

    def detect(
        self,
        rgb: np.ndarray,
        intrinsics: CameraIntrinsics | None = None,
        depth: np.ndarray | None = None,
        depth_scale: float = 1.0,
    ) -> list[Detection]:
        blob, box = self.prepare(rgb)
        (output,) = self.run(blob)
        raw = decode_yolo(
            output,
            len(self.class_names),
            self.config.score_threshold,
            self.config.iou_threshold,
            self.config.max_detections,
            self.class_agnostic,
        )
        return self.to_detections(raw, box, rgb.shape[1], rgb.shape[0])
