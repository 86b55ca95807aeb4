"""Palm paths: straight segments between poses, timed by a speed limit, smooth at the ends.

Each segment takes ``max(distance / speed, angle / angular_speed, min_duration)`` seconds (a
segment may have a lower speed of its own, e.g. a slow final descent) and is traversed with
the smoothstep profile ``3 s^2 - 2 s^3`` (zero velocity at both ends, so the arm's PD tracks
it without jerks); rotation follows the geodesic (SE3 interpolation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pinocchio as pin

from dexterous_hand_ctrl.errors import DexterousHandCtrlError


class CartesianPath:
    """A timed sequence of palm poses.

    Args:
        start: Initial pose.
        waypoints: Poses to visit in order.
        speed_m_s: Peak-free average linear speed [m/s] (the smoothstep peaks at 1.5x).
        angular_speed_rad_s: Average angular speed [rad/s].
        min_duration_s: Shortest segment [s].
        segment_speeds_m_s: Per waypoint, the average speed of the segment that ends there
            [m/s]; 0 (or above ``speed_m_s``) means ``speed_m_s``. None: all at ``speed_m_s``.
    """

    def __init__(
        self,
        start: pin.SE3,
        waypoints: Sequence[pin.SE3],
        speed_m_s: float,
        angular_speed_rad_s: float = 1.0,
        min_duration_s: float = 0.2,
        segment_speeds_m_s: Sequence[float] | None = None,
    ):
        if not (speed_m_s > 0 and angular_speed_rad_s > 0 and min_duration_s > 0):
            raise DexterousHandCtrlError("path speeds and min duration must be > 0")
        self.poses = [start, *waypoints]
        speeds = [0.0] * len(waypoints) if segment_speeds_m_s is None else list(segment_speeds_m_s)
        if len(speeds) != len(waypoints) or not all(v >= 0 for v in speeds):
            raise DexterousHandCtrlError(
                f"segment speeds {speeds}: expected one value >= 0 per waypoint"
            )
        self.durations = []
        for a, b, own in zip(self.poses, self.poses[1:], speeds, strict=False):
            speed = min(own, speed_m_s) if own > 0 else speed_m_s
            distance = float(np.linalg.norm(b.translation - a.translation))
            angle = float(np.linalg.norm(pin.log3(a.rotation.T @ b.rotation)))
            self.durations.append(
                max(distance / speed, angle / angular_speed_rad_s, min_duration_s)
            )
        self.duration_s = float(sum(self.durations))
        self.segment = 0

    def pose(self, t: float) -> pin.SE3:
        """Pose at time ``t`` [s] after the start (clamped to the path)."""
        if not self.durations:
            return self.poses[0]
        t = min(max(t, 0.0), self.duration_s)
        for index, duration in enumerate(self.durations):
            if t <= duration or index == len(self.durations) - 1:
                s = min(t / duration, 1.0)
                self.segment = index
                return pin.SE3.Interpolate(
                    self.poses[index], self.poses[index + 1], 3 * s * s - 2 * s**3
                )
            t -= duration
        return self.poses[-1]  # pragma: no cover - the loop always returns

    def segment_start(self, index: int) -> float:
        """Time at which segment ``index`` starts [s]."""
        return float(sum(self.durations[:index]))
