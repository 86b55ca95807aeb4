"""Rigid transforms for the brain: planar poses on the floor and 4x4 homogeneous transforms.

Conventions (REP-103): x forward, y left, z up; yaw about +z, counter-clockwise positive;
quaternions as (w, x, y, z). ``T_a_b`` maps coordinates in frame b to frame a.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from humanoid_brain.errors import HumanoidBrainError


class Pose2D(NamedTuple):
    """A pose on the floor.

    Attributes:
        x: Position [m].
        y: Position [m].
        yaw: Heading [rad], in (-pi, pi].
    """

    x: float
    y: float
    yaw: float

    def to_local(self, point_xy: Sequence[float]) -> np.ndarray:
        """``point_xy`` (same frame as this pose) in this pose's frame [m]."""
        dx, dy = point_xy[0] - self.x, point_xy[1] - self.y
        cos, sin = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([cos * dx + sin * dy, -sin * dx + cos * dy])

    def distance_to(self, other: Pose2D) -> float:
        """Planar distance to ``other`` [m]."""
        return math.hypot(other.x - self.x, other.y - self.y)


def wrap_angle(angle: float) -> float:
    """``angle`` [rad] wrapped into (-pi, pi]."""
    wrapped = math.remainder(angle, 2.0 * math.pi)
    return math.pi if wrapped == -math.pi else wrapped


def quaternion_to_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Rotation matrix of a quaternion (normalised here).

    Raises:
        HumanoidBrainError: For a zero or non-finite quaternion.
    """
    q = np.array([w, x, y, z], dtype=float)
    norm = float(np.linalg.norm(q))
    if not (math.isfinite(norm) and norm > 1e-9):
        raise HumanoidBrainError(f"quaternion {(w, x, y, z)}: expected a finite non-zero value")
    w, x, y, z = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """(w, x, y, z) of a rotation matrix, with w >= 0 (Shepperd's method)."""
    m = np.asarray(rotation, dtype=float)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0.0:
        s = 2.0 * math.sqrt(1.0 + trace)
        q = (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = ((m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s)
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = ((m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = ((m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s)
    q = np.array(q) / np.linalg.norm(q)
    if q[0] < 0:
        q = -q
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))


def transform(position: Sequence[float], quaternion_wxyz: Sequence[float]) -> np.ndarray:
    """4x4 homogeneous transform from a position [m] and a quaternion (w, x, y, z)."""
    matrix = np.eye(4)
    matrix[:3, :3] = quaternion_to_matrix(*quaternion_wxyz)
    matrix[:3, 3] = np.asarray(position, dtype=float)
    return matrix


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    inverse = np.eye(4)
    rotation = matrix[:3, :3]
    inverse[:3, :3] = rotation.T
    inverse[:3, 3] = -rotation.T @ matrix[:3, 3]
    return inverse


def apply(matrix: np.ndarray, point: Sequence[float]) -> np.ndarray:
    """``matrix`` applied to a 3D point [m]."""
    return matrix[:3, :3] @ np.asarray(point, dtype=float) + matrix[:3, 3]


def yaw_of(matrix_or_rotation: np.ndarray) -> float:
    """Heading [rad] of a transform's x axis projected on the floor."""
    rotation = np.asarray(matrix_or_rotation)[:3, :3]
    return math.atan2(rotation[1, 0], rotation[0, 0])


def planar(matrix: np.ndarray) -> Pose2D:
    """The floor pose (x, y, yaw) of a 4x4 transform."""
    return Pose2D(float(matrix[0, 3]), float(matrix[1, 3]), yaw_of(matrix))


#: Rotation from a camera link (x forward, z up) to its optical frame (z forward, x right,
#: y down), the REP-103 convention for ``*_optical_frame``: columns are the optical axes.
LINK_TO_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
