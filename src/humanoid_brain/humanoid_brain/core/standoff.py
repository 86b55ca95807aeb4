"""Where to stand to grasp an object on a table: the stand-off pose.

The arm reaches best when the object lies a fixed distance ahead of the pelvis and to the side
of the grasping hand (``reach_distance_m``, ``lateral_offset_m``: negative = to the right).
The heading faces the object from where the robot was when the task started, and stays (the
goal does not swing while walking, and a retry from the stand-off finds itself there);
re-detections move the position only.
A keep-out line (``max_x_m`` in the odometry frame: the table's front edge minus the body's
half depth) keeps the pelvis out of the table when the object sits far back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from humanoid_brain.core.geometry import Pose2D
from humanoid_brain.errors import HumanoidBrainError


@dataclass(frozen=True)
class StandoffConfig:
    """Stand-off geometry.

    Attributes:
        reach_distance_m: Object distance ahead of the pelvis at the stand-off [m], > 0.
        lateral_offset_m: Object offset to the left (+) / right (-) of the pelvis [m].
        max_x_m: Largest stand-off x in the odometry frame [m] (the table keep-out).
        replan_distance_m: A re-detection moves the goal only if it shifts it this much [m].
        max_turn_rad: The stand-off heading turns at most this far from the robot's heading
            when the task starts (0: keep the heading, approach by walking forward and
            sideways only) [rad], >= 0.
    """

    reach_distance_m: float = 0.30
    lateral_offset_m: float = -0.15
    max_x_m: float = math.inf
    replan_distance_m: float = 0.03
    max_turn_rad: float = math.pi

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reach_distance_m) and self.reach_distance_m > 0.0):
            raise HumanoidBrainError(
                f"reach_distance_m = {self.reach_distance_m!r}: expected a finite value > 0"
            )
        if not math.isfinite(self.lateral_offset_m):
            raise HumanoidBrainError(f"lateral_offset_m = {self.lateral_offset_m!r}: not finite")
        if math.isnan(self.max_x_m):
            raise HumanoidBrainError("max_x_m is NaN")
        if not (math.isfinite(self.max_turn_rad) and self.max_turn_rad >= 0.0):
            raise HumanoidBrainError(
                f"max_turn_rad = {self.max_turn_rad!r}: expected a finite value >= 0"
            )
        if not (math.isfinite(self.replan_distance_m) and self.replan_distance_m >= 0.0):
            raise HumanoidBrainError(
                f"replan_distance_m = {self.replan_distance_m!r}: expected a finite value >= 0"
            )


def standoff_pose(config: StandoffConfig, object_xy, heading: float) -> Pose2D:
    """The stand-off pose for an object at ``object_xy`` [m] approached with ``heading`` [rad].

    Returns the pose whose frame has the object at ``(reach_distance_m, lateral_offset_m)``,
    moved back along the heading if that crosses the keep-out line.
    """
    cos, sin = math.cos(heading), math.sin(heading)
    reach, lateral = config.reach_distance_m, config.lateral_offset_m
    x = object_xy[0] - (cos * reach - sin * lateral)
    y = object_xy[1] - (sin * reach + cos * lateral)
    if x > config.max_x_m:
        if cos > 1e-6:  # facing the table: slide back along the heading onto the line
            back = (x - config.max_x_m) / cos
            x, y = x - back * cos, y - back * sin
        else:
            x = config.max_x_m
    return Pose2D(float(x), float(y), float(heading))


class StandoffPlanner:
    """Keeps the task's stand-off goal: heading frozen, position following re-detections."""

    def __init__(self, config: StandoffConfig) -> None:
        self.config = config
        self.goal: Pose2D | None = None

    def reset(self) -> None:
        """Forget the goal (a new task picks a new heading)."""
        self.goal = None

    def update(self, object_xy, robot: Pose2D) -> Pose2D:
        """The goal for an object at ``object_xy`` [m]; the first call after :meth:`reset` fixes
        the heading to face the object from ``robot`` (turning at most ``max_turn_rad``)."""
        object_xy = np.asarray(object_xy, dtype=float)[:2]
        if self.goal is None:
            bearing = math.atan2(object_xy[1] - robot.y, object_xy[0] - robot.x)
            turn = math.atan2(math.sin(bearing - robot.yaw), math.cos(bearing - robot.yaw))
            limit = self.config.max_turn_rad
            heading = robot.yaw + min(max(turn, -limit), limit)
            self.goal = standoff_pose(self.config, object_xy, heading)
            return self.goal
        candidate = standoff_pose(self.config, object_xy, self.goal.yaw)
        if candidate.distance_to(self.goal) >= self.config.replan_distance_m:
            self.goal = candidate
        return self.goal
