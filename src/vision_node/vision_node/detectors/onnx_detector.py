"""Shared part of the ONNX detectors: loading the model and the class file, and preprocessing.

onnxruntime runs on the CPU with ``threads`` intra-op threads and spinning disabled (idle
threads do not burn a shared core). The image is letterboxed into the model's input: scaled by
one factor with area averaging, centred, padded with grey 114; an image whose aspect ratio is
the input's is only scaled.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from vision_node.core.detections import Box2D, Detection
from vision_node.core.letterbox import Letterbox, letterbox_geometry
from vision_node.detectors.base import Detector, DetectorConfig, check_rgb
from vision_node.detectors.class_file import load_class_file
from vision_node.errors import ModelError
from vision_node.resources import resolve_path

PAD_VALUE = 114


def load_session(path, threads: int):
    """An onnxruntime CPU session for ``path``.

    Raises:
        ModelError: Naming the path, if the file is missing or onnxruntime cannot load it.
    """
    import onnxruntime

    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises several unrelated types
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ModelError(f"model file {path} cannot be loaded by onnxruntime: {message}") from error


def image_blob(image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``[1, 3, H, W]`` float32 of an (H, W, 3) uint8 image, scaled by 1/255 (into ``out``,
    a C-contiguous float32 array of that shape, when given).

    The same values as ``cv2.dnn.blobFromImage(image, scalefactor=1 / 255)`` (each byte times
    float32(1/255)) at a tenth of its cost: one strided copy into planes, one multiply.
    """
    blob = np.empty((1, 3, image.shape[0], image.shape[1]), np.float32) if out is None else out
    blob[0] = image.transpose(2, 0, 1)
    np.multiply(blob, np.float32(1.0 / 255.0), out=blob)
    return blob


class OnnxDetector(Detector):
    """An ONNX model whose first input is an image ``[1, 3, H, W]`` (RGB in [0, 1])."""

    max_inputs = 1

    def __init__(self, config: DetectorConfig, options: Mapping[str, Any] | None = None):
        super().__init__(config, options)
        self.model_path = resolve_path(config.model)
        self.class_path = resolve_path(config.class_names)
        self.class_file = load_class_file(self.class_path)
        self.class_names = self.class_file.names
        self.session = load_session(self.model_path, config.threads)
        inputs = self.session.get_inputs()
        if len(inputs) != self.max_inputs and len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(
                f"model file {self.model_path}: inputs "
                f"{[(i.name, i.shape) for i in inputs]}: expected a [1, 3, H, W] image"
                + (" (and a [1, 1, H, W] depth)" if self.max_inputs > 1 else "")
            )
        self.input_name = inputs[0].name
        shape = inputs[0].shape
        height, width = shape[2], shape[3]
        if not (isinstance(height, int) and isinstance(width, int)):
            size = self.options.get("input_size", [640, 640])
            width, height = int(size[0]), int(size[1])
        self.input_size = (int(width), int(height))
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._letterbox: tuple[tuple[int, int], Letterbox] | None = None
        self._canvas: np.ndarray | None = None
        self._blob: np.ndarray | None = None

    def letterbox_for(self, width: int, height: int) -> Letterbox:
        """Letterbox of a ``width`` x ``height`` image (cached for the last size)."""
        if self._letterbox is None or self._letterbox[0] != (width, height):
            box = letterbox_geometry(width, height, *self.input_size)
            self._letterbox = ((width, height), box)
            self._canvas = np.full((self.input_size[1], self.input_size[0], 3), PAD_VALUE, np.uint8)
        return self._letterbox[1]

    def prepare(self, rgb: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """The model input blob ``[1, 3, H, W]`` float32 and the letterbox used.

        The blob is this detector's buffer (no new ~1 MB array, and its page faults, per
        frame): the next call overwrites it.
        """
        check_rgb(rgb)
        box = self.letterbox_for(rgb.shape[1], rgb.shape[0])
        canvas = self._canvas
        size = (box.width, box.height)
        if size == (canvas.shape[1], canvas.shape[0]):  # no padding: resized into the canvas
            cv2.resize(rgb, size, dst=canvas, interpolation=cv2.INTER_AREA)
        else:
            resized = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            canvas[box.pad_y : box.pad_y + box.height, box.pad_x : box.pad_x + box.width] = resized
        if self._blob is None or self._blob.shape[2:] != canvas.shape[:2]:
            self._blob = np.empty((1, 3, *canvas.shape[:2]), np.float32)
        return image_blob(canvas, self._blob), box

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        """Raw inference on the image alone; see :meth:`run_feeds`."""
        return self.run_feeds({self.input_name: blob})

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Raw inference; its duration is kept in ``last_inference_s``."""
        start = time.perf_counter()
        outputs = self.session.run(self.output_names, feeds)
        self.last_inference_s = time.perf_counter() - start
        return outputs

    def to_detections(self, raw, box: Letterbox, width: int, height: int) -> list[Detection]:
        """Detections in source pixels from decoded input-pixel boxes (clipped to the image)."""
        if len(raw) == 0:
            return []
        corners = box.to_source(raw.boxes)
        corners[:, [0, 2]] = np.clip(corners[:, [0, 2]], -0.5, width - 0.5)
        corners[:, [1, 3]] = np.clip(corners[:, [1, 3]], -0.5, height - 0.5)
        detections = []
        for (x0, y0, x1, y1), score, class_id in zip(
            corners, raw.scores, raw.class_ids, strict=True
        ):
            if x1 - x0 < 1.0 or y1 - y0 < 1.0 or not 0 <= class_id < len(self.class_names):
                continue
            detections.append(
                Detection(
                    int(class_id),
                    self.class_names[class_id],
                    float(score),
                    Box2D.from_corners(float(x0), float(y0), float(x1), float(y1)),
                )
            )
        return detections

    def centre_offset(self, class_name: str) -> float:
        return self.class_file.centre_offset.get(class_name, super().centre_offset(class_name))

    def centre_offset_model(self, class_name: str) -> tuple[float, float, float] | None:
        return self.class_file.centre_offset_model.get(class_name)

    def marker_shape(self, class_name: str) -> str:
        return self.class_file.marker_shape.get(class_name, super().marker_shape(class_name))

    def describe(self) -> str:
        return (
            f"{type(self).__name__} {self.model_path} (input {self.input_size[0]}x"
            f"{self.input_size[1]}, classes {list(self.class_names)})"
        )
