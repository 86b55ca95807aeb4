"""Find detectors by name through the entry-point group ``vision_node.detectors``.

The built-in detectors are registered in this package's setup.py the way a third-party package
registers its own::

    entry_points={"vision_node.detectors": ["my_detector = my_package.detector:MyDetector"]}
"""

from __future__ import annotations

from importlib import metadata

from vision_node.detectors.base import Detector
from vision_node.errors import VisionNodeError

GROUP = "vision_node.detectors"
BUILT_IN = {
    "scene_objects": "vision_node.detectors.heatmap_detector:HeatmapDetector",
    "yolo": "vision_node.detectors.yolo_detector:YoloDetector",
    "fiducial": "vision_node.detectors.fiducial_detector:FiducialDetector",
}


def available_detectors() -> dict[str, str]:
    """Detector name -> ``module:Class`` for every installed one (built-ins always)."""
    found = dict(BUILT_IN)
    found.update({entry.name: entry.value for entry in metadata.entry_points(group=GROUP)})
    return found


def load_detector(name: str) -> type[Detector]:
    """The detector class registered under ``name``.

    Raises:
        VisionNodeError: Unknown name (the message lists the available ones), an import
            failure, or a class that is not a Detector.
    """
    entries = available_detectors()
    if name not in entries:
        raise VisionNodeError(
            f"unknown detector {name!r}; available: {sorted(entries)} (entry-point group '{GROUP}')"
        )
    module_name, _, attribute = entries[name].partition(":")
    try:
        module = __import__(module_name, fromlist=[attribute])
        detector = getattr(module, attribute)
    except Exception as error:  # noqa: BLE001 - any import failure of a plugin is reported
        raise VisionNodeError(f"detector {name!r} failed to load: {error!r}") from error
    if not (isinstance(detector, type) and issubclass(detector, Detector)):
        raise VisionNodeError(f"detector {name!r} is {detector!r}, not a Detector")
    return detector
