"""The target object's position from repeated detections: smoothing, confirmation, loss.

Detections arrive in the odometry frame with their measurement time. A target counts as
visible once ``min_detections`` consistent detections arrived within ``lost_timeout_s`` of
each other (one false positive does not start a walk), and as lost when none arrived for
``lost_timeout_s``. Consistent detections are averaged exponentially (``smoothing`` = weight of
the newest); one farther than ``jump_m`` from the estimate starts a new estimate (the object
was moved, or it is another one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from humanoid_brain.errors import HumanoidBrainError


@dataclass(frozen=True)
class TargetConfig:
    """Attributes:
    lost_timeout_s: No detection for longer: lost [s], > 0.
    min_detections: Consistent detections before the target counts as visible, >= 1.
    smoothing: Weight of the newest detection in the estimate, in (0, 1].
    jump_m: A detection this far from the estimate restarts it [m], > 0.
    """

    lost_timeout_s: float = 1.5
    min_detections: int = 2
    smoothing: float = 0.5
    jump_m: float = 0.15

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lost_timeout_s) and self.lost_timeout_s > 0):
            raise HumanoidBrainError(f"lost_timeout_s = {self.lost_timeout_s!r}: expected > 0")
        if isinstance(self.min_detections, bool) or not isinstance(self.min_detections, int):
            raise HumanoidBrainError(f"min_detections = {self.min_detections!r}: not an integer")
        if self.min_detections < 1:
            raise HumanoidBrainError(f"min_detections = {self.min_detections}: expected >= 1")
        if not (0.0 < self.smoothing <= 1.0):
            raise HumanoidBrainError(f"smoothing = {self.smoothing!r}: expected in (0, 1]")
        if not (math.isfinite(self.jump_m) and self.jump_m > 0):
            raise HumanoidBrainError(f"jump_m = {self.jump_m!r}: expected > 0")


class TargetTracker:
    """Estimate of the target's position [m] in the odometry frame."""

    def __init__(self, config: TargetConfig | None = None) -> None:
        self.config = config or TargetConfig()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new task)."""
        self.position: np.ndarray | None = None
        self.count = 0
        self.last_seen_s: float | None = None
        self.fresh_since: float | None = None
        self.fresh_count = 0
        self._restart = False

    def restart(self, t: float) -> None:
        """From now on, estimate from detections measured at or after ``t`` [s] only: the next
        one replaces the estimate, earlier ones (still arriving) are not averaged in (they
        still count as sightings). Used once the robot stands: detections made while it
        walked carry its sway and the odometry's latency."""
        self.fresh_since = float(t)
        self.fresh_count = 0
        self._restart = True

    def end_restart(self) -> None:
        """Average every detection again (see :meth:`restart`)."""
        self.fresh_since = None
        self.fresh_count = 0
        self._restart = False

    def update(self, position, t: float, received_s: float | None = None) -> None:
        """Add a detection at ``position`` [m] measured at time ``t`` [s] and received at
        ``received_s`` [s] (default ``t``): loss is judged by arrivals (a detection that comes
        late still shows the object is there), freshness by measurement.

        Raises:
            HumanoidBrainError: For a non-finite position or time.
        """
        point = np.asarray(position, dtype=float).reshape(3)
        arrival = t if received_s is None else float(received_s)
        if not (np.all(np.isfinite(point)) and math.isfinite(t) and math.isfinite(arrival)):
            raise HumanoidBrainError(f"detection {point} at t = {t}: expected finite values")
        if self.fresh_since is not None:
            if t < self.fresh_since:
                self._seen(arrival)
                return
            self.fresh_count += 1
            if self._restart:
                self._restart = False
                self.position = point
                self.count = max(self.count, 1)
                self._seen(arrival)
                return
        stale = self.last_seen_s is None or arrival - self.last_seen_s > self.config.lost_timeout_s
        jumped = self.position is not None and (
            float(np.linalg.norm(point - self.position)) > self.config.jump_m
        )
        if self.position is None or stale or jumped:
            self.position, self.count = point, 1
        else:
            alpha = self.config.smoothing
            self.position = (1.0 - alpha) * self.position + alpha * point
            self.count += 1
        self._seen(arrival)

    def _seen(self, arrival: float) -> None:
        self.last_seen_s = arrival if self.last_seen_s is None else max(self.last_seen_s, arrival)

    def visible(self, t: float) -> bool:
        """Confirmed and seen within the timeout at time ``t`` [s]."""
        return self.count >= self.config.min_detections and not self.lost(t)

    def lost(self, t: float) -> bool:
        """Not seen for longer than the timeout at time ``t`` [s] (or never)."""
        return self.last_seen_s is None or t - self.last_seen_s > self.config.lost_timeout_s
