"""The detector contract: an RGB image in, a list of :class:`Detection` out.

A detector is chosen by name in the node's configuration (parameter ``detector``) and found
through the entry-point group ``vision_node.detectors`` (see :mod:`registry`). It is built once
with its options and then called for every frame from one thread. ``detect`` raises
:class:`InputError` for an image it cannot use; configuration it cannot work with (a missing or
corrupt model file) raises :class:`ModelError` from the constructor, and the node refuses to
start.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vision_node.core.detections import Detection
from vision_node.core.projection import CameraIntrinsics
from vision_node.errors import InputError, VisionNodeError


@dataclass(frozen=True)
class DetectorConfig:
    """Settings every detector gets (node parameters); detector-specific ones come as options.

    Attributes:
        model: Model file (``package://``, absolute, or relative to the stack root).
        class_names: Class-name YAML (``names:`` list or mapping, Ultralytics style).
        score_threshold: Minimum confidence.
        iou_threshold: Non-maximum suppression overlap threshold.
        max_detections: Most detections per frame.
        threads: Inference threads (onnxruntime intra-op).
    """

    model: str = "package://vision_node/models/scene_objects.onnx"
    class_names: str = "package://vision_node/models/scene_objects.yaml"
    score_threshold: float = 0.5
    iou_threshold: float = 0.45
    max_detections: int = 50
    threads: int = 1

    @classmethod
    def from_folder(cls, folder, threads: int = 1) -> DetectorConfig:
        """The stack's detector files (scene_objects.onnx, scene_objects.yaml) in ``folder``
        (a candidate model set, for benchmarks and tuning); None or "": the shipped ones."""
        if not folder:
            return cls(threads=threads)
        import pathlib

        folder = pathlib.Path(folder).resolve()
        return cls(
            model=str(folder / "scene_objects.onnx"),
            class_names=str(folder / "scene_objects.yaml"),
            threads=threads,
        )


class Detector(abc.ABC):
    """Base class of detectors.

    Args:
        config: Common settings.
        options: Detector-specific options; unknown keys are rejected with VisionNodeError.

    Attributes:
        class_names: Class labels, indexed by class id.
        localises: True when ``detect`` fills the 3D pose itself (fiducials); otherwise the
            pipeline localises the boxes with depth.
        last_inference_s: Time of the last raw model inference [s] (0 for non-model detectors).
    """

    localises = False
    allowed_options: frozenset[str] = frozenset()

    def __init__(self, config: DetectorConfig, options: Mapping[str, Any] | None = None):
        self.config = config
        self.options = dict(options or {})
        unknown = sorted(set(self.options) - self.allowed_options)
        if unknown:
            raise VisionNodeError(
                f"detector '{type(self).__name__}': unknown options {unknown}; "
                f"allowed: {sorted(self.allowed_options)}"
            )
        self.class_names: tuple[str, ...] = ()
        self.last_inference_s = 0.0

    @abc.abstractmethod
    def detect(
        self,
        rgb: np.ndarray,
        intrinsics: CameraIntrinsics | None = None,
        depth: np.ndarray | None = None,
        depth_scale: float = 1.0,
    ) -> list[Detection]:
        """Objects in one image.

        Args:
            rgb: Image, (rows, cols, 3) uint8 RGB.
            intrinsics: Camera intrinsics when known (detectors that localise need them).
            depth: Depth aligned to ``rgb`` (rows, cols), when known; detectors may use it.
            depth_scale: Metres per depth unit.

        Raises:
            InputError: If the image is not (rows, cols, 3) uint8.
        """

    def centre_offset(self, class_name: str) -> float:
        """Distance from the visible surface to the object's centre, in object widths."""
        return 0.35

    def centre_offset_model(self, class_name: str) -> tuple[float, float, float] | None:
        """(a, b, c): surface-to-centre distance [m] = a x smaller box extent + b x depth
        spread + c, for classes whose offset depends on their pose; None: use
        :meth:`centre_offset`."""
        return None

    def marker_shape(self, class_name: str) -> str:
        """Shape to draw the class with in RViz: cube, cylinder or sphere."""
        return "sphere"

    def describe(self) -> str:
        """One line for the start-up log."""
        return f"{type(self).__name__} with classes {list(self.class_names)}"


def check_rgb(rgb: np.ndarray) -> None:
    """Raise InputError unless ``rgb`` is a non-empty (rows, cols, 3) uint8 image."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3:
        raise InputError(
            f"image is {getattr(rgb, 'dtype', type(rgb))} with shape "
            f"{getattr(rgb, 'shape', None)}: expected (rows, cols, 3) uint8 RGB"
        )
    if rgb.shape[2] != 3 or rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise InputError(f"image shape {rgb.shape}: expected (rows >= 8, cols >= 8, 3)")
