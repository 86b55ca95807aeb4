"""Detections as plain data: a 2D box in source-image pixels, optionally localised in 3D.

A detector fills class, score and box; :mod:`vision_node.core.localize` adds the 3D centre and
size from depth; fiducial detectors fill the 3D pose themselves (from PnP).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Box2D:
    """Axis-aligned box in image pixels (``Detection2D`` convention).

    Attributes:
        center_x: Centre column [px].
        center_y: Centre row [px].
        width: Width [px].
        height: Height [px].
    """

    center_x: float
    center_y: float
    width: float
    height: float

    @classmethod
    def from_corners(cls, x0: float, y0: float, x1: float, y1: float) -> Box2D:
        """Box from its left, top, right and bottom edges [px]."""
        return cls((x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0)

    def corners(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) edges [px]."""
        half_w, half_h = self.width / 2.0, self.height / 2.0
        return (
            self.center_x - half_w,
            self.center_y - half_h,
            self.center_x + half_w,
            self.center_y + half_h,
        )


@dataclass(frozen=True)
class Detection:
    """One detected object.

    Attributes:
        class_id: Index into the detector's class list.
        class_name: Class label.
        score: Confidence in [0, 1].
        box: Box in the source image [px].
        position: Centre in the camera optical frame [m], or None when not localised.
        orientation: Quaternion (x, y, z, w) of the object axes in the optical frame; identity
            when only the position is known.
        size: Extents along the object axes [m], or None.
        position_variance: Isotropic variance of ``position`` [m^2]; -1 when unknown.
        object_id: Identity when the detector knows it (fiducial id), else "".
    """

    class_id: int
    class_name: str
    score: float
    box: Box2D
    position: np.ndarray | None = None
    orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    size: np.ndarray | None = None
    position_variance: float = -1.0
    object_id: str = ""

    @property
    def localised(self) -> bool:
        """Whether a 3D position is known."""
        return self.position is not None

    def with_pose(self, position, size, variance: float, orientation=None) -> Detection:
        """A copy with a 3D position [m], size [m] and variance [m^2]."""
        return replace(
            self,
            position=np.asarray(position, dtype=float),
            size=None if size is None else np.asarray(size, dtype=float),
            position_variance=float(variance),
            orientation=self.orientation if orientation is None else tuple(orientation),
        )


def select_target(detections: list[Detection], class_name: str) -> Detection | None:
    """The detection to act on: the best-scoring localised detection of ``class_name``.

    Args:
        detections: Detections of one frame.
        class_name: Wanted class; empty: any class.

    Returns:
        The detection, or None if no localised detection has that class. Ties in score go to
        the nearer object.
    """
    candidates = [
        d for d in detections if d.localised and (not class_name or d.class_name == class_name)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda d: (d.score, -float(np.linalg.norm(d.position))))
