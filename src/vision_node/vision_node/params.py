"""Parameters of the vision node, declared once with default, range and meaning.

The node declares every entry of :data:`PARAMETERS` and hands the values to :func:`validate`,
which returns typed :class:`VisionParams` or raises :class:`ParameterError` naming the first bad
parameter (the node then prints "refusing to start: ..." and exits with code 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from humanoid_common.params import ParamSpec, check_specs

from vision_node.core.localize import LocalizerParams
from vision_node.core.projection import CameraIntrinsics
from vision_node.detectors.base import DetectorConfig
from vision_node.errors import VisionNodeError
from vision_node.resources import resolve_path


class ParameterError(VisionNodeError):
    """A parameter has a bad value (the message names it)."""


PARAMETERS = (
    ParamSpec(
        "source",
        "topic",
        "Frame source by name: topic (ROS Image topics), camera (OpenCV capture, V4L2), "
        "video (a video file), images (an image folder), or a third-party source",
    ),
    ParamSpec(
        "source_options",
        "{}",
        "Source options as a YAML mapping source -> options, e.g. "
        "'{camera: {device: 0}, video: {path: clip.mp4}}' (see each source's docstring)",
    ),
    ParamSpec(
        "camera_info_file",
        "",
        "Calibration YAML in the ROS camera_info format, for sources without camera_info "
        "(and used by the topic source until camera_info arrives); empty: none",
    ),
    ParamSpec(
        "frame_id",
        "camera_color_optical_frame",
        "Optical frame of images that carry none (camera, video, images sources)",
    ),
    ParamSpec(
        "detector",
        "scene_objects",
        "Detector by name: scene_objects (the shipped model), yolo (a YOLOv8 / YOLO11 ONNX "
        "export), fiducial (ArUco / AprilTag), or a third-party detector",
    ),
    ParamSpec(
        "model",
        "package://vision_node/models/scene_objects.onnx",
        "ONNX model file (package://, absolute, or relative to the stack root)",
    ),
    ParamSpec(
        "class_names",
        "package://vision_node/models/scene_objects.yaml",
        "Class-name YAML of the model ('names:' list or mapping, as Ultralytics writes it)",
    ),
    ParamSpec(
        "detector_options",
        "{}",
        "Detector options as a YAML mapping detector -> options, e.g. "
        "'{fiducial: {dictionary: DICT_APRILTAG_36h11, marker_size_m: 0.05}}'",
    ),
    ParamSpec("score_threshold", 0.5, "Minimum detection confidence", 0.0, 1.0),
    ParamSpec("iou_threshold", 0.45, "Non-maximum suppression overlap threshold", 0.0, 1.0),
    ParamSpec("max_detections", 50, "Most detections per frame", 1, 1000),
    ParamSpec("inference_threads", 1, "onnxruntime intra-op threads", 1, 64),
    ParamSpec(
        "target_class",
        "cube",
        "Class published on /vision/target (best score, then nearest); empty: any class",
    ),
    ParamSpec(
        "queue_depth",
        2,
        "Frames waiting for processing; when full the oldest is dropped (no backlog)",
        1,
        30,
    ),
    ParamSpec(
        "localizer.inner_fraction",
        0.3,
        "Central part of a box whose median depth is the object's reference depth",
        0.05,
        1.0,
    ),
    ParamSpec(
        "localizer.depth_tolerance",
        0.4,
        "Object pixels lie within this many object widths of the reference depth",
        0.05,
        5.0,
    ),
    ParamSpec("localizer.min_depth_m", 0.1, "Nearest valid depth [m]", 0.0, 100.0),
    ParamSpec("localizer.max_depth_m", 6.0, "Farthest valid depth [m]", 0.01, 100.0),
    ParamSpec("marker_lifetime_s", 0.5, "Lifetime of the RViz markers [s]", 0.01, 60.0),
    ParamSpec(
        "annotated_rate_hz",
        15.0,
        "Max rate of /vision/annotated (built only while someone subscribes); 0 disables",
        0.0,
        100.0,
    ),
    ParamSpec(
        "stale_timeout_s", 2.0, "No frame for this long: report stale on /diagnostics", 0.1, 600.0
    ),
    ParamSpec("diagnostics_rate_hz", 1.0, "Rate of /diagnostics", 0.1, 50.0),
)


@dataclass(frozen=True)
class VisionParams:
    source: str
    source_options: dict
    camera_info: CameraIntrinsics | None
    frame_id: str
    detector: str
    detector_config: DetectorConfig
    detector_options: dict
    target_class: str
    queue_depth: int
    localizer: LocalizerParams
    marker_lifetime_s: float
    annotated_rate_hz: float
    stale_timeout_s: float
    diagnostics_rate_hz: float


def _options(values: dict, name: str, key: str) -> dict:
    """The options of ``key`` in the YAML mapping parameter ``name``."""
    try:
        options = yaml.safe_load(values[name] or "{}")
    except yaml.YAMLError as error:
        raise ParameterError(f"parameter '{name}': not YAML: {error}") from error
    if options is None:
        options = {}
    if not isinstance(options, dict) or not all(
        isinstance(v, dict) or v is None for v in options.values()
    ):
        raise ParameterError(
            f"parameter '{name}': expected a YAML mapping name -> options mapping, "
            f"got {values[name]!r}"
        )
    return dict(options.get(key) or {})


def load_camera_info_file(path: str) -> CameraIntrinsics:
    """Intrinsics from a camera_info YAML (camera_calibration_parsers format).

    Raises:
        ParameterError: Naming the file when it is missing or invalid.
    """
    file = resolve_path(path)
    if not file.is_file():
        raise ParameterError(f"parameter 'camera_info_file': file {file} does not exist")
    try:
        data = yaml.safe_load(file.read_text())
        if not isinstance(data, dict):
            raise VisionNodeError("expected a mapping")
        return CameraIntrinsics.from_camera_info_dict(data, ignore_distortion=True)
    except (OSError, yaml.YAMLError, VisionNodeError) as error:
        raise ParameterError(f"parameter 'camera_info_file': {file}: {error}") from error


def validate(values: dict) -> VisionParams:
    """Typed, checked node parameters.

    Raises:
        ParameterError: Naming the first bad parameter.
    """
    check_specs(PARAMETERS, values, ParameterError)
    for name in ("source", "detector"):
        if not values[name]:
            raise ParameterError(f"parameter '{name}': must not be empty")
    if values["localizer.min_depth_m"] >= values["localizer.max_depth_m"]:
        raise ParameterError(
            "parameter 'localizer.min_depth_m': must be below localizer.max_depth_m"
        )
    camera_info = values["camera_info_file"]
    return VisionParams(
        source=values["source"],
        source_options=_options(values, "source_options", values["source"]),
        camera_info=load_camera_info_file(camera_info) if camera_info else None,
        frame_id=values["frame_id"],
        detector=values["detector"],
        detector_config=DetectorConfig(
            model=values["model"],
            class_names=values["class_names"],
            score_threshold=float(values["score_threshold"]),
            iou_threshold=float(values["iou_threshold"]),
            max_detections=int(values["max_detections"]),
            threads=int(values["inference_threads"]),
        ),
        detector_options=_options(values, "detector_options", values["detector"]),
        target_class=values["target_class"],
        queue_depth=int(values["queue_depth"]),
        localizer=LocalizerParams(
            inner_fraction=float(values["localizer.inner_fraction"]),
            depth_tolerance=float(values["localizer.depth_tolerance"]),
            min_depth_m=max(float(values["localizer.min_depth_m"]), 1e-3),
            max_depth_m=float(values["localizer.max_depth_m"]),
        ),
        marker_lifetime_s=float(values["marker_lifetime_s"]),
        annotated_rate_hz=float(values["annotated_rate_hz"]),
        stale_timeout_s=float(values["stale_timeout_s"]),
        diagnostics_rate_hz=float(values["diagnostics_rate_hz"]),
    )
