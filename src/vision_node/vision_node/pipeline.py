"""One frame through the vision chain: detect, then localise each detection in 3D.

No ROS here: the node converts messages to a :class:`Frame` and the result back, and the
benchmarks and the training script's evaluation call the same pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from vision_node.core.detections import Detection
from vision_node.core.localize import LocalizerParams, localize
from vision_node.core.projection import CameraIntrinsics
from vision_node.detectors.base import Detector
from vision_node.errors import InputError


@dataclass
class Frame:
    """An image with what is known about it.

    Attributes:
        rgb: Colour image (rows, cols, 3) uint8 RGB.
        depth: Depth aligned to ``rgb`` (rows, cols), float [m] or integer units; None if none.
        intrinsics: Intrinsics of ``rgb``; None if unknown (then nothing is localised).
        stamp_ns: Time of the exposure [ns].
        frame_id: Optical frame of the camera.
        depth_scale: Metres per depth unit (1 for float metres, 0.001 for 16UC1 millimetres).
        warnings: Problems found while decoding (a depth image or camera_info left out).
    """

    rgb: np.ndarray
    depth: np.ndarray | None = None
    intrinsics: CameraIntrinsics | None = None
    stamp_ns: int = 0
    frame_id: str = ""
    depth_scale: float = 1.0
    warnings: list[str] = field(default_factory=list)


@dataclass
class FrameResult:
    """Detections of one frame, with timings [s] and the reasons some are 2D only."""

    detections: list[Detection]
    detect_s: float = 0.0
    inference_s: float = 0.0
    localize_s: float = 0.0
    unlocalised: int = 0
    warnings: list[str] = field(default_factory=list)


class VisionPipeline:
    """Detector + depth localisation.

    Args:
        detector: The detector.
        localizer: Depth localisation parameters.
    """

    def __init__(self, detector: Detector, localizer: LocalizerParams | None = None):
        self.detector = detector
        self.localizer = localizer or LocalizerParams()
        self._offsets = {name: detector.centre_offset(name) for name in detector.class_names}
        self._offset_models = {
            name: detector.centre_offset_model(name) for name in detector.class_names
        }

    def process(self, frame: Frame) -> FrameResult:
        """Detect and localise.

        Raises:
            InputError: If the colour image cannot be used (wrong type or shape).
        """
        intrinsics = frame.intrinsics
        warnings = list(frame.warnings)
        if intrinsics is not None and frame.rgb.shape[:2] != (intrinsics.height, intrinsics.width):
            warnings.append(
                f"camera_info is {intrinsics.width}x{intrinsics.height} px but the image is "
                f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]} px: 3D skipped"
            )
            intrinsics = None
        aligned = frame.depth is not None and frame.depth.shape[:2] == frame.rgb.shape[:2]
        start = time.perf_counter()
        detections = self.detector.detect(
            frame.rgb, intrinsics, frame.depth if aligned else None, frame.depth_scale
        )
        detected = time.perf_counter()
        result = FrameResult(
            detections, detected - start, self.detector.last_inference_s, warnings=warnings
        )
        if self.detector.localises or not detections:
            result.unlocalised = sum(not d.localised for d in detections)
            return result
        depth = frame.depth
        if intrinsics is None:
            if frame.intrinsics is None:
                warnings.append("no camera intrinsics (camera_info): 3D skipped")
            result.unlocalised = len(detections)
            return result
        if depth is None:
            warnings.append("no depth image: 3D skipped")
            result.unlocalised = len(detections)
            return result
        if depth.shape[:2] != frame.rgb.shape[:2]:
            warnings.append(
                f"depth is {depth.shape[1]}x{depth.shape[0]} px but colour is "
                f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]} px (not aligned): 3D skipped"
            )
            result.unlocalised = len(detections)
            return result
        localised = []
        for detection in detections:
            try:
                where = localize(
                    depth,
                    detection.box,
                    intrinsics,
                    self._offsets.get(detection.class_name, 0.35),
                    self.localizer,
                    frame.depth_scale,
                    self._offset_models.get(detection.class_name),
                )
            except InputError as error:
                result.unlocalised += 1
                if len(warnings) < 3:
                    warnings.append(f"{detection.class_name}: {error}")
                localised.append(detection)
                continue
            localised.append(detection.with_pose(where.position, where.size, where.variance))
        result.detections = localised
        result.localize_s = time.perf_counter() - detected
        return result
