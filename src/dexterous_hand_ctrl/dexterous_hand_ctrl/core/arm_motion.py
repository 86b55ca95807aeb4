"""The arm's commanded motion: palm paths tracked by one-step IK, under the arm's limits.

Every command leaves through :func:`~dexterous_hand_ctrl.core.safety.limit_arm_command`, so it
is within the joint limits (those the IK uses, tighter than the URDF where the arm would touch
the torso) and moves no joint faster than the arm's velocity limit, whatever the path asks;
the gravity torques of the commanded posture go with it as feed-forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pinocchio as pin

from dexterous_hand_ctrl.core.arm_ik import ArmKinematics
from dexterous_hand_ctrl.core.cartesian_path import CartesianPath
from dexterous_hand_ctrl.core.hand_description import ArmSpec
from dexterous_hand_ctrl.core.safety import limit_arm_command


class ArmMotion:
    """Commanded arm posture and the palm path it follows.

    Args:
        arm: Arm kinematics (holding the measured robot state).
        spec: The arm's description (speed limits).
        ik_iterations: IK steps per control period while following a path.
        angular_speed_rad_s: Palm rotation speed on paths [rad/s].
    """

    def __init__(
        self, arm: ArmKinematics, spec: ArmSpec, ik_iterations: int, angular_speed_rad_s: float
    ):
        self.arm = arm
        self.spec = spec
        self.ik_iterations = int(ik_iterations)
        self.angular_speed_rad_s = float(angular_speed_rad_s)
        self.q_cmd: np.ndarray | None = None
        self.path: CartesianPath | None = None
        self.joint_target: np.ndarray | None = None
        self._joint_speed = 0.0
        self._start = 0.0

    def reset(self, q_arm: np.ndarray | None = None) -> None:
        """Command ``q_arm`` [rad] (None: nothing yet); no path."""
        self.q_cmd = None if q_arm is None else np.asarray(q_arm, dtype=float).copy()
        self.path = None
        self.joint_target = None

    def move_joints(self, q_target: np.ndarray, speed_fraction: float = 0.5) -> None:
        """Move every joint straight to ``q_target`` [rad] (clipped into the limits) at
        ``speed_fraction`` of the arm's joint speed limit; replaces any palm path."""
        self.path = None
        self.joint_target = np.clip(
            np.asarray(q_target, dtype=float), self.arm.lower, self.arm.upper
        )
        self._joint_speed = self.spec.max_velocity_rad_s * min(max(speed_fraction, 0.01), 1.0)

    def joints_done(self, tolerance_rad: float = 1e-3) -> bool:
        """The command reached the joint target (True when there is none)."""
        if self.joint_target is None or self.q_cmd is None:
            return True
        return float(np.max(np.abs(self.q_cmd - self.joint_target))) <= tolerance_rad

    def palm(self) -> pin.SE3:
        """Palm pose of the commanded posture (base frame)."""
        return self.arm.palm_pose(self.q_cmd)

    def follow(
        self,
        waypoints: Sequence[pin.SE3],
        now: float,
        speed_m_s: float = 0.0,
        segment_speeds_m_s: Sequence[float] | None = None,
    ) -> None:
        """Start a path from the commanded palm pose through ``waypoints``.

        Args:
            waypoints: Palm poses (base frame).
            now: Current time [s].
            speed_m_s: Average speed [m/s]; 0 or above the arm's limit: the arm's limit.
            segment_speeds_m_s: Per waypoint, a lower speed for the segment ending there
                [m/s] (0: ``speed_m_s``); None: none.
        """
        speed = min(speed_m_s or self.spec.max_speed_m_s, self.spec.max_speed_m_s)
        self.joint_target = None
        self.path = CartesianPath(
            self.palm(),
            waypoints,
            speed,
            self.angular_speed_rad_s,
            segment_speeds_m_s=segment_speeds_m_s,
        )
        self._start = now

    def stop(self) -> None:
        """Stop following the path or joint move: hold the commanded posture."""
        self.path = None
        self.joint_target = None

    @property
    def on_last_segment(self) -> bool:
        return self.path is not None and self.path.segment == len(self.path.durations) - 1

    def done(self, now: float, tolerance_m: float) -> bool:
        """The path's time is up and the commanded palm is within ``tolerance_m`` of its end."""
        if self.path is None:
            return True
        if now - self._start < self.path.duration_s:
            return False
        error = self.palm().translation - self.path.poses[-1].translation
        return float(np.linalg.norm(error)) <= tolerance_m

    def ended(self, now: float, tolerance_m: float, grace_s: float = 0.5) -> bool:
        """:meth:`done`, or the path's time is ``grace_s`` past (a retreat whose end is out of
        reach ends where the arm got to)."""
        if self.done(now, tolerance_m):
            return True
        return now - self._start >= self.path.duration_s + grace_s

    def step(self, now: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Advance by ``dt``: the limited command [rad] and its gravity torques [N*m]."""
        desired = self.q_cmd
        velocity = self.spec.max_velocity_rad_s
        if self.path is not None:
            target = self.path.pose(now - self._start)
            for _ in range(self.ik_iterations):
                desired = self.arm.track(target, desired)
        elif self.joint_target is not None:
            desired, velocity = self.joint_target, self._joint_speed
        self.q_cmd = limit_arm_command(
            self.q_cmd, desired, self.arm.lower, self.arm.upper, velocity, dt
        )
        return self.q_cmd.copy(), self.arm.gravity(self.q_cmd)
