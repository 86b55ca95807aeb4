"""Walking to the stand-off pose: a velocity command from the odometry pose, closed loop.

An omnidirectional proportional law in the robot's frame, the planar form of the
"go-to-pose" controllers of mobile robotics (Siegwart, Nourbakhsh and Scaramuzza,
*Introduction to Autonomous Mobile Robots*, 2nd ed., sec. 3.6): the command is
``v = K e`` on the pose error expressed in the robot frame, saturated per axis. A biped walks
sideways and turns slower than it walks forward, hence separate limits; far from the goal the
robot first turns toward it (it walks forward best), near it, it holds the goal heading.
Commands change at most ``max_accel`` per second (a step change in cmd_vel upsets a walking
controller's footstep plan). Time is passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from humanoid_brain.core.geometry import Pose2D, wrap_angle
from humanoid_brain.errors import HumanoidBrainError


@dataclass(frozen=True)
class ApproachConfig:
    """Gains, limits and tolerances of the approach.

    Attributes:
        gain_linear: Position gain [1/s], > 0.
        gain_angular: Heading gain [1/s], > 0.
        max_forward_mps: Forward speed limit [m/s], > 0 (backwards: half of it).
        max_lateral_mps: Sideways speed limit [m/s], > 0.
        max_turn_rps: Turn rate limit [rad/s], > 0.
        max_accel: Largest change of each command per second [m/s^2, rad/s^2], > 0.
        position_tolerance_m: Arrived within this distance [m], > 0.
        yaw_tolerance_rad: Arrived within this heading error [rad], > 0.
        face_goal_distance_m: Beyond this distance, steer toward the goal, not its heading [m].
        turn_in_place_rad: Near the goal, a heading error above this is turned away in place
            before the robot steps sideways or forward: a gait asked to turn and side-step at
            once places its feet for neither (seen in the whole chain: the G1 drifted away
            from the goal and fell), while each alone is what it walks well [rad].
    """

    gain_linear: float = 1.0
    gain_angular: float = 1.5
    max_forward_mps: float = 0.25
    max_lateral_mps: float = 0.10
    max_turn_rps: float = 0.40
    max_accel: float = 0.5
    position_tolerance_m: float = 0.05
    yaw_tolerance_rad: float = 0.10
    face_goal_distance_m: float = 0.5
    turn_in_place_rad: float = 0.15

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
                raise HumanoidBrainError(
                    f"approach {name} = {value!r}: expected a finite value > 0"
                )


class Twist2D(NamedTuple):
    """A planar velocity command in the robot frame [m/s, m/s, rad/s]."""

    vx: float
    vy: float
    wz: float


ZERO = Twist2D(0.0, 0.0, 0.0)


class ApproachOutput(NamedTuple):
    """Result of one approach step.

    Attributes:
        command: Velocity to send [m/s, rad/s].
        arrived: Within both tolerances (the command is then zero).
        distance_m: Distance to the goal [m].
        yaw_error_rad: Goal heading minus robot heading [rad].
    """

    command: Twist2D
    arrived: bool
    distance_m: float
    yaw_error_rad: float


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class ApproachController:
    """The go-to-pose law with saturation and a rate limit on the command."""

    def __init__(self, config: ApproachConfig | None = None) -> None:
        self.config = config or ApproachConfig()
        self.last = ZERO

    def reset(self) -> None:
        """Start from rest (the next command ramps up from zero)."""
        self.last = ZERO

    def step(self, robot: Pose2D, goal: Pose2D, dt: float) -> ApproachOutput:
        """One control step.

        Args:
            robot: Current pose in the odometry frame.
            goal: Stand-off pose in the same frame.
            dt: Time since the previous step [s], > 0.

        Raises:
            HumanoidBrainError: For a non-positive or non-finite ``dt``.
        """
        if not (math.isfinite(dt) and dt > 0.0):
            raise HumanoidBrainError(f"dt = {dt!r} s: expected a finite value > 0")
        c = self.config
        error = robot.to_local((goal.x, goal.y))
        distance = math.hypot(error[0], error[1])
        yaw_error = wrap_angle(goal.yaw - robot.yaw)
        if distance <= c.position_tolerance_m and abs(yaw_error) <= c.yaw_tolerance_rad:
            self.last = ZERO
            return ApproachOutput(ZERO, True, distance, yaw_error)
        if distance > c.face_goal_distance_m:
            # Far: turn toward the goal and walk forward, slowing while misaligned.
            bearing = math.atan2(error[1], error[0])
            heading_error = bearing
            alignment = max(0.0, math.cos(bearing))
            vx = c.gain_linear * distance * alignment
            vy = 0.0
        else:
            heading_error = yaw_error
            if abs(yaw_error) > c.turn_in_place_rad:
                vx = vy = 0.0
            else:
                vx, vy = c.gain_linear * error[0], c.gain_linear * error[1]
        target = Twist2D(
            _clip(vx, -0.5 * c.max_forward_mps, c.max_forward_mps),
            _clip(vy, -c.max_lateral_mps, c.max_lateral_mps),
            _clip(c.gain_angular * heading_error, -c.max_turn_rps, c.max_turn_rps),
        )
        step = c.max_accel * dt
        command = Twist2D(
            *(
                _clip(new, old - step, old + step)
                for new, old in zip(target, self.last, strict=True)
            )
        )
        self.last = command
        return ApproachOutput(command, False, distance, yaw_error)
