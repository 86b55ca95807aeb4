"""Pictures of what the node sees: the annotated image and RViz markers (built on demand)."""

from __future__ import annotations

import cv2
import numpy as np
from builtin_interfaces.msg import Duration
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from vision_node.core.detections import Detection

PALETTE = ((230, 60, 60), (60, 140, 230), (60, 200, 90), (230, 180, 40), (180, 80, 220))
MARKER_TYPES = {"cube": Marker.CUBE, "cylinder": Marker.CYLINDER, "sphere": Marker.SPHERE}


def annotate(rgb: np.ndarray, detections: list[Detection]) -> np.ndarray:
    """A copy of ``rgb`` with each detection's box, class, score and distance drawn."""
    image = rgb.copy()
    for detection in detections:
        colour = PALETTE[detection.class_id % len(PALETTE)]
        x0, y0, x1, y1 = (int(round(v)) for v in detection.box.corners())
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, 2)
        label = f"{detection.class_name}{detection.object_id and ' ' + detection.object_id}"
        label += f" {detection.score:.2f}"
        if detection.position is not None:
            label += f" {float(np.linalg.norm(detection.position)):.2f}m"
        cv2.putText(
            image,
            label,
            (x0, max(12, y0 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            colour,
            1,
            cv2.LINE_AA,
        )
    return image


def marker_array(
    detections: list[Detection],
    header: Header,
    shape_of,
    lifetime_s: float,
    namespace: str = "vision",
) -> MarkerArray:
    """One shape marker and one text marker per localised detection.

    The array starts with a DELETEALL marker, so markers of objects no longer seen disappear
    at once; each marker also expires after ``lifetime_s`` [s] if the node stops publishing.

    Args:
        detections: Detections of one image.
        header: The image's header (stamp and frame).
        shape_of: Class name -> "cube", "cylinder" or "sphere".
        lifetime_s: Marker lifetime [s].
        namespace: Marker namespace.
    """
    msg = MarkerArray()
    clear = Marker()
    clear.header = header
    clear.ns = namespace
    clear.action = Marker.DELETEALL
    msg.markers.append(clear)
    seconds = int(lifetime_s)
    lifetime = Duration(sec=seconds, nanosec=int((lifetime_s - seconds) * 1e9))
    for index, detection in enumerate(d for d in detections if d.position is not None):
        colour = PALETTE[detection.class_id % len(PALETTE)]
        shape = Marker()
        shape.header = header
        shape.ns, shape.id = namespace, 2 * index
        shape.type = MARKER_TYPES.get(shape_of(detection.class_name), Marker.SPHERE)
        shape.action = Marker.ADD
        shape.pose.position.x, shape.pose.position.y, shape.pose.position.z = (
            float(v) for v in detection.position
        )
        q = shape.pose.orientation
        q.x, q.y, q.z, q.w = (float(v) for v in detection.orientation)
        size = detection.size if detection.size is not None else np.full(3, 0.05)
        shape.scale.x, shape.scale.y, shape.scale.z = (max(float(v), 0.005) for v in size)
        shape.color.r, shape.color.g, shape.color.b = (c / 255.0 for c in colour)
        shape.color.a = 0.6
        shape.lifetime = lifetime
        text = Marker()
        text.header = header
        text.ns, text.id = namespace, 2 * index + 1
        text.type, text.action = Marker.TEXT_VIEW_FACING, Marker.ADD
        text.pose.position.x = shape.pose.position.x
        text.pose.position.y = shape.pose.position.y - 0.6 * shape.scale.y - 0.02
        text.pose.position.z = shape.pose.position.z
        text.pose.orientation.w = 1.0
        text.scale.z = 0.03
        text.color.r = text.color.g = text.color.b = text.color.a = 1.0
        text.text = f"{detection.class_name}{detection.object_id and ' ' + detection.object_id}"
        text.lifetime = lifetime
        msg.markers += [shape, text]
    return msg
