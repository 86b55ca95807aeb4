"""Find detectors by name through the entry-point group ``vision_node.detectors``.

The built-in detectors are registered in this package's setup.py the way a third-party package
registers its own::

    entry_points={"vision_node.detectors": ["my_detector = my_package.detector:MyDetector"]}
"""

from __future__ import annotations

from humanoid_common.plugins import available, load_class

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
    return available(GROUP, BUILT_IN)


def load_detector(name: str) -> type[Detector]:
    """The detector class registered under ``name``.

    Raises:
        VisionNodeError: Unknown name (the message lists the available ones), an import
            failure, or a class that is not a Detector.
    """
    return load_class(GROUP, name, Detector, VisionNodeError, "detector", BUILT_IN)
