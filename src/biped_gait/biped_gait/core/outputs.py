"""What the walking controller produces: joint commands and its status report, plus small
rotation helpers shared by its modules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from biped_gait.core.footsteps import LEFT, RIGHT, Pose2

DOUBLE = "double"
IDLE, STAND, WALK, DAMPING = "idle", "stand", "walk", "damping"
STATE_CODES = {IDLE: 0, STAND: 1, WALK: 2, DAMPING: 3}
SUPPORT_CODES = {DOUBLE: 0, LEFT: 1, RIGHT: 2, "none": 3}


@dataclass
class JointCommandOut:
    """Joint command, one entry per name."""

    names: tuple
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    kp: np.ndarray
    kd: np.ndarray


@dataclass
class GaitReport:
    """What /gait/status shows."""

    state: str = IDLE
    support: str = DOUBLE
    phase: float = 0.0
    step_count: int = 0
    zmp_planned: np.ndarray = field(default_factory=lambda: np.zeros(2))
    zmp_measured: np.ndarray = field(default_factory=lambda: np.zeros(2))
    dcm_planned: np.ndarray = field(default_factory=lambda: np.zeros(2))
    dcm_measured: np.ndarray = field(default_factory=lambda: np.zeros(2))
    com: np.ndarray = field(default_factory=lambda: np.zeros(3))
    command: np.ndarray = field(default_factory=lambda: np.zeros(3))
    message: str = "idle: call stand"


def yaw_matrix(yaw: float) -> np.ndarray:
    """Rotation about z [rad]."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def flat_pose(pose) -> Pose2:
    """Ground-plane pose (x, y, heading) of a 3D pose (pinocchio SE3)."""
    r = pose.rotation
    return Pose2(
        float(pose.translation[0]), float(pose.translation[1]), math.atan2(r[1, 0], r[0, 0])
    )
