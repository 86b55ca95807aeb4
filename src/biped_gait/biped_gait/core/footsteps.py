"""Footstep planning from a velocity command.

A *walking frame* sits midway between the feet. Each step advances it by the commanded velocity
over one step period and places the swing foot half the nominal foot separation to its side, at
its heading. Turning, side-stepping and stepping in place fall out of the same rule; per-step
limits (length, side, turn) bound the displacement and a minimum foot separation, measured in
the stance foot's frame, keeps the feet from colliding. A closing step puts the swing foot
beside the stance foot at the nominal separation: walking stops within two steps (the step in
progress, then the closing step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from biped_gait.errors import BipedGaitError

LEFT, RIGHT = "left", "right"


def other_side(side: str) -> str:
    """The other foot."""
    return RIGHT if side == LEFT else LEFT


def side_sign(side: str) -> float:
    """+1 for the left foot (on the +y side of the walking frame), -1 for the right."""
    return 1.0 if side == LEFT else -1.0


def wrap_angle(angle: float) -> float:
    """Angle wrapped to [-pi, pi) [rad]."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


class Pose2(NamedTuple):
    """Planar pose on flat ground: x, y [m] and yaw [rad]."""

    x: float
    y: float
    yaw: float

    def transform(self, local_x: float, local_y: float) -> tuple[float, float]:
        """A point given in this pose's frame, in the parent frame [m]."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return self.x + c * local_x - s * local_y, self.y + s * local_x + c * local_y

    def inverse_transform(self, x: float, y: float) -> tuple[float, float]:
        """A parent-frame point in this pose's frame [m]."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = x - self.x, y - self.y
        return c * dx + s * dy, -s * dx + c * dy


@dataclass(frozen=True)
class StepLimits:
    """Planner settings.

    Attributes:
        foot_separation: Nominal lateral distance between the sole centres [m].
        min_foot_separation: Smallest lateral distance between the soles, in the stance foot's
            frame [m].
        max_step_forward: Largest forward displacement of the walking frame per step [m].
        max_step_backward: Largest backward displacement per step [m] (positive number).
        max_step_side: Largest lateral displacement per step [m].
        max_step_turn: Largest heading change per step [rad].
    """

    foot_separation: float = 0.237
    min_foot_separation: float = 0.17
    max_step_forward: float = 0.2
    max_step_backward: float = 0.12
    max_step_side: float = 0.1
    max_step_turn: float = 0.3

    def __post_init__(self):
        for name in (
            "foot_separation",
            "min_foot_separation",
            "max_step_forward",
            "max_step_backward",
            "max_step_side",
            "max_step_turn",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise BipedGaitError(f"step limit {name} = {value!r}: expected a value > 0")
        if self.min_foot_separation > self.foot_separation:
            raise BipedGaitError(
                f"min_foot_separation {self.min_foot_separation} m exceeds foot_separation "
                f"{self.foot_separation} m"
            )


@dataclass(frozen=True)
class Footstep:
    """One planned step: the swing foot goes from ``start`` to ``target`` while the other foot
    (at ``stance``) carries the robot.

    Attributes:
        side: The swing foot, "left" or "right".
        start: Swing foot pose at lift-off.
        target: Swing foot pose at touchdown.
        stance: Stance foot pose.
        closing: True for a step that squares the feet to stop.
    """

    side: str
    start: Pose2
    target: Pose2
    stance: Pose2
    closing: bool = False


def walking_frame(foot: Pose2, side: str, separation: float) -> Pose2:
    """The walking frame implied by one foot's pose (half the separation to its inner side)."""
    x, y = foot.transform(0.0, -side_sign(side) * separation / 2.0)
    return Pose2(x, y, foot.yaw)


class FootstepPlanner:
    """Turns a velocity command into footsteps.

    Args:
        limits: Step limits and nominal separation.
        step_period: Duration of one step, double plus single support [s].
    """

    def __init__(self, limits: StepLimits, step_period: float):
        if not (math.isfinite(step_period) and step_period > 0):
            raise BipedGaitError(f"step period {step_period!r} s: expected a value > 0")
        self.limits = limits
        self.step_period = float(step_period)

    def displacement(self, command: np.ndarray) -> tuple[float, float, float]:
        """Walking-frame displacement for one step at ``command`` (vx, vy, wz), within limits.

        Returns:
            (forward [m], left [m], turn [rad]) per step.
        """
        lim = self.limits
        t = self.step_period
        dx = min(max(float(command[0]) * t, -lim.max_step_backward), lim.max_step_forward)
        dy = min(max(float(command[1]) * t, -lim.max_step_side), lim.max_step_side)
        dyaw = min(max(float(command[2]) * t, -lim.max_step_turn), lim.max_step_turn)
        return dx, dy, dyaw

    def next_step(
        self, swing_side: str, swing: Pose2, stance: Pose2, command: np.ndarray, closing=False
    ) -> Footstep:
        """Plan the step of ``swing_side`` for the command, or a closing step.

        Args:
            swing_side: Foot to move.
            swing: Its current pose.
            stance: The stance foot's pose.
            command: Velocity command (vx [m/s], vy [m/s], wz [rad/s]) in the walking frame.
            closing: Put the swing foot beside the stance foot instead (to stop).

        Returns:
            The footstep.
        """
        sep = self.limits.foot_separation
        sign = side_sign(swing_side)
        frame = walking_frame(stance, other_side(swing_side), sep)
        if closing:
            x, y = frame.transform(0.0, sign * sep / 2.0)
            return Footstep(swing_side, swing, Pose2(x, y, frame.yaw), stance, closing=True)
        dx, dy, dyaw = self.displacement(command)
        # The frame implied by the stance foot was reached half a step ago: the swing target
        # is one full step ahead of the midpoint between the feet at the last touchdown.
        mid_yaw = frame.yaw + dyaw / 2.0
        c, s = math.cos(mid_yaw), math.sin(mid_yaw)
        # Moving towards the stance side would cross the feet: that half of the lateral motion
        # is taken by the stance foot's next step (the frame advances only when stepping out).
        if dy * sign < 0:
            dy = 0.0
        else:
            dy *= 2.0
        # Same for turning: the outer foot turns twice the step's share, the inner one follows.
        new_yaw = frame.yaw if dyaw * sign < 0 else frame.yaw + 2.0 * dyaw
        frame_x = frame.x + c * dx - s * dy
        frame_y = frame.y + s * dx + c * dy
        target_frame = Pose2(frame_x, frame_y, wrap_angle(new_yaw))
        x, y = target_frame.transform(0.0, sign * sep / 2.0)
        target = self.keep_apart(swing_side, Pose2(x, y, target_frame.yaw), stance)
        return Footstep(swing_side, swing, target, stance)

    def keep_apart(self, swing_side: str, target: Pose2, stance: Pose2) -> Pose2:
        """Push the target out so that it stays ``min_foot_separation`` from the stance foot."""
        sign = side_sign(swing_side)
        local_x, local_y = stance.inverse_transform(target.x, target.y)
        if sign * local_y < self.limits.min_foot_separation:
            local_y = sign * self.limits.min_foot_separation
            x, y = stance.transform(local_x, local_y)
            return Pose2(x, y, target.yaw)
        return target
