"""Velocity command conditioning: validation, limits, rate limits and a timeout.

A command with NaN or infinite components is rejected (the previous target stays); one beyond
the limits is clamped and reported. The command actually walked moves towards the target at
bounded accelerations, and falls back to zero when no command arrived for ``timeout``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from biped_gait.errors import BipedGaitError


@dataclass(frozen=True)
class VelocityLimits:
    """Limits of the walking velocity command.

    Attributes:
        max_forward: [m/s].
        max_backward: [m/s] (positive number).
        max_side: [m/s].
        max_turn: [rad/s].
        max_linear_acceleration: [m/s^2].
        max_angular_acceleration: [rad/s^2].
        timeout: A command older than this is replaced by zero [s].
        deadband: Commands smaller than this (per component) count as zero.
    """

    max_forward: float = 0.5
    max_backward: float = 0.25
    max_side: float = 0.2
    max_turn: float = 0.6
    max_linear_acceleration: float = 0.5
    max_angular_acceleration: float = 1.0
    timeout: float = 1.0
    deadband: float = 0.01

    def __post_init__(self):
        for name, value in vars(self).items():
            if not (math.isfinite(value) and value > 0):
                raise BipedGaitError(f"velocity limit {name} = {value!r}: expected > 0")


class CommandResult(NamedTuple):
    """Outcome of :meth:`VelocityCommandFilter.set_target`.

    Attributes:
        accepted: False when the command was rejected (nothing changed).
        target: The target now in force (vx, vy, wz).
        message: Why it was rejected or clamped; empty when taken as is.
    """

    accepted: bool
    target: np.ndarray
    message: str


class VelocityCommandFilter:
    """Holds the target command and the rate-limited command being walked.

    Args:
        limits: Limits.
    """

    def __init__(self, limits: VelocityLimits):
        self.limits = limits
        self.target = np.zeros(3)
        self.current = np.zeros(3)
        self.last_time: float | None = None
        self._rates: tuple[VelocityLimits, np.ndarray] | None = None

    def _rate_limits(self) -> np.ndarray:
        """(linear, linear, angular) acceleration limits, for the limits in force."""
        cached = self._rates
        if cached is None or cached[0] is not self.limits:
            lim = self.limits
            rates = np.array(
                [
                    lim.max_linear_acceleration,
                    lim.max_linear_acceleration,
                    lim.max_angular_acceleration,
                ]
            )
            cached = self._rates = (lim, rates)
        return cached[1]

    def set_target(self, command, now: float) -> CommandResult:
        """Offer a new command (vx [m/s], vy [m/s], wz [rad/s]) received at ``now`` [s]."""
        values = np.asarray(command, dtype=float).reshape(-1)
        if values.shape != (3,):
            return CommandResult(False, self.target, f"expected 3 components, got {values.size}")
        if not np.all(np.isfinite(values)):
            return CommandResult(
                False, self.target, f"non-finite command {values.tolist()} rejected"
            )
        lim = self.limits
        low = np.array([-lim.max_backward, -lim.max_side, -lim.max_turn])
        high = np.array([lim.max_forward, lim.max_side, lim.max_turn])
        clamped = np.clip(values, low, high)
        message = ""
        if not np.array_equal(clamped, values):
            message = f"command {values.tolist()} clamped to {clamped.tolist()}"
        self.target = clamped
        self.last_time = now
        return CommandResult(True, self.target, message)

    def reset(self) -> None:
        """Zero the target and the current command."""
        self.target[:] = 0.0
        self.current[:] = 0.0
        self.last_time = None

    def step(self, now: float, dt: float) -> np.ndarray:
        """Advance the walked command towards the target by one period.

        Returns:
            The command to walk (vx, vy, wz).
        """
        lim = self.limits
        target = self.target
        if self.last_time is None or now - self.last_time > lim.timeout:
            target = np.zeros(3)
        step = self._rate_limits()
        self.current += np.clip(target - self.current, -step * dt, step * dt)
        return self.current

    def forecast(self, ahead: float, now: float | None = None) -> np.ndarray:
        """The walked command ``ahead`` seconds from now if the target stays (rate limits
        applied), for planning future steps."""
        lim = self.limits
        target = self.target
        if now is not None and (self.last_time is None or now - self.last_time > lim.timeout):
            target = np.zeros(3)
        reach = self._rate_limits() * max(ahead, 0.0)
        return self.current + np.clip(target - self.current, -reach, reach)

    def is_zero(self, command=None) -> bool:
        """True when every component is within the deadband."""
        values = self.current if command is None else command
        band = self.limits.deadband
        return abs(values[0]) < band and abs(values[1]) < band and abs(values[2]) < band
