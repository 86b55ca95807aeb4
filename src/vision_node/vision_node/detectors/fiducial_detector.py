"""Fiducial markers (ArUco, AprilTag 36h11, ...) with OpenCV's ``cv2.aruco`` and PnP pose.

Each marker found gives a detection of class ``fiducial`` whose ``object_id`` is the marker id.
With intrinsics, its pose in the camera optical frame comes from ``cv2.solvePnP`` with
``SOLVEPNP_IPPE_SQUARE`` (Collins and Bartoli 2014, "Infinitesimal Plane-Based Pose
Estimation"), the marker's corners being at (+-s/2, +-s/2, 0) in its own frame (x right, y up,
z out of the marker, OpenCV's convention), s the marker's side [m].

Options: ``dictionary`` (an OpenCV predefined dictionary name, default
``DICT_APRILTAG_36h11``), ``marker_size_m`` (side of the black square [m], default 0.05) and
``marker_sizes_m`` (a mapping id -> side for markers of other sizes).
"""

from __future__ import annotations

import cv2
import numpy as np

from vision_node.core.detections import Box2D, Detection
from vision_node.core.projection import CameraIntrinsics
from vision_node.detectors.base import Detector, DetectorConfig, check_rgb
from vision_node.errors import VisionNodeError

CLASS_NAME = "fiducial"


def _quaternion_xyzw(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation matrix (Shepperd's method)."""
    m = rotation
    trace = float(np.trace(m))
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
    q = np.asarray(q) / np.linalg.norm(q)
    return tuple(float(v) for v in q)


class FiducialDetector(Detector):
    """ArUco / AprilTag detector with PnP pose (registered as ``fiducial``)."""

    localises = True
    allowed_options = frozenset({"dictionary", "marker_size_m", "marker_sizes_m"})

    def __init__(self, config: DetectorConfig, options=None):
        super().__init__(config, options)
        name = str(self.options.get("dictionary", "DICT_APRILTAG_36h11"))
        if not name.startswith("DICT_") or not hasattr(cv2.aruco, name):
            known = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
            raise VisionNodeError(f"fiducial dictionary {name!r} unknown; expected one of {known}")
        self.dictionary_name = name
        self.marker_size = float(self.options.get("marker_size_m", 0.05))
        sizes = self.options.get("marker_sizes_m", {}) or {}
        try:
            self.marker_sizes = {int(k): float(v) for k, v in dict(sizes).items()}
        except (TypeError, ValueError) as error:
            raise VisionNodeError(f"marker_sizes_m = {sizes!r}: expected id -> side [m]") from error
        if not all(s > 0 for s in [self.marker_size, *self.marker_sizes.values()]):
            raise VisionNodeError("fiducial marker sizes must be > 0 m")
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
        parameters = cv2.aruco.DetectorParameters()
        parameters.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        self.detector = cv2.aruco.ArucoDetector(dictionary, parameters)
        self.class_names = (CLASS_NAME,)

    def detect(
        self,
        rgb: np.ndarray,
        intrinsics: CameraIntrinsics | None = None,
        depth: np.ndarray | None = None,
        depth_scale: float = 1.0,
    ) -> list[Detection]:
        check_rgb(rgb)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        corners, ids, _ = self.detector.detectMarkers(gray)
        if ids is None:
            return []
        detections = []
        for marker_corners, marker_id in zip(corners, ids.ravel(), strict=True):
            points = marker_corners.reshape(4, 2).astype(np.float64)
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            detection = Detection(
                0, CLASS_NAME, 1.0, Box2D.from_corners(x0, y0, x1, y1), object_id=str(marker_id)
            )
            if intrinsics is not None:
                detection = self._with_pose(detection, points, int(marker_id), intrinsics)
            detections.append(detection)
        return detections

    def _with_pose(self, detection, points, marker_id: int, k: CameraIntrinsics) -> Detection:
        side = self.marker_sizes.get(marker_id, self.marker_size)
        half = side / 2.0
        # Corner order of cv2.aruco: top-left, top-right, bottom-right, bottom-left.
        model = np.array(
            [[-half, half, 0.0], [half, half, 0.0], [half, -half, 0.0], [-half, -half, 0.0]]
        )
        ok, rotation_vector, translation = cv2.solvePnP(
            model, points, k.matrix, None, flags=cv2.SOLVEPNP_IPPE_SQUARE
        )
        if not ok:
            return detection
        projected, _ = cv2.projectPoints(model, rotation_vector, translation, k.matrix, None)
        error_px = float(np.sqrt(np.mean(np.sum((projected.reshape(4, 2) - points) ** 2, axis=1))))
        position = translation.ravel()
        # Position variance: half a pixel plus the reprojection error, at the marker's distance.
        sigma = (0.5 + error_px) * position[2] / k.fx
        rotation, _ = cv2.Rodrigues(rotation_vector)
        return detection.with_pose(
            position, (side, side, 0.0), sigma**2, orientation=_quaternion_xyzw(rotation)
        )

    def marker_shape(self, class_name: str) -> str:
        return "cube"

    def describe(self) -> str:
        return f"FiducialDetector {self.dictionary_name}, marker side {self.marker_size} m"
