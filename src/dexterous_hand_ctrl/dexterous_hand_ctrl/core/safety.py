"""Safety checks of the grasp controller: stale or invalid input, over-force, lost contact,
phase timeouts, and the arm command's joint and velocity limits.

Each check returns None or a reason (a sentence naming what and by how much); the controller
then stops squeezing, holds position and ends the goal with that reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from dexterous_hand_ctrl.errors import DexterousHandCtrlError

DEFAULT_TIMEOUTS_S = {
    "PRESHAPE": 3.0,
    "REACH": 15.0,
    "CLOSE": 4.0,
    "SQUEEZE": 3.0,
    "LIFT": 8.0,
    "SETTLE": 3.0,
    "RELEASE": 3.0,
    "RETRACT": 8.0,
    "HOME": 8.0,
}


@dataclass(frozen=True)
class SafetyParams:
    """Parameters of :class:`SafetyMonitor`.

    Attributes:
        stale_joint_s: Joint states older than this are stale [s].
        stale_tactile_s: Tactile contacts older than this are stale [s].
        overforce_ratio: A finger above ``ratio x`` its limit (or the total above ``ratio x``
            the goal's maximum) ...
        overforce_time_s: ... for this long aborts [s].
        contact_lost_n: A gripping finger below this force ... [N]
        contact_lost_s: ... for this long has lost contact [s].
        timeouts_s: Longest time per phase [s].
    """

    stale_joint_s: float = 0.05
    stale_tactile_s: float = 0.05
    overforce_ratio: float = 1.1
    overforce_time_s: float = 0.3
    contact_lost_n: float = 0.1
    contact_lost_s: float = 0.1
    timeouts_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS_S))

    def __post_init__(self) -> None:
        values = {k: v for k, v in self.__dict__.items() if k != "timeouts_s"}
        values.update({f"timeouts_s.{k}": v for k, v in self.timeouts_s.items()})
        for name, value in values.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise DexterousHandCtrlError(f"safety parameter {name} = {value!r}: expected > 0")
        if self.overforce_ratio < 1.0:
            raise DexterousHandCtrlError(
                f"overforce_ratio = {self.overforce_ratio}: expected >= 1 (a limit, not a target)"
            )


class SafetyMonitor:
    """Stateful checks (they track how long a condition has lasted)."""

    def __init__(self, params: SafetyParams | None = None):
        self.params = params or SafetyParams()
        self._overforce_since: float | None = None
        self._lost_since: dict[str, float] = {}

    def reset(self) -> None:
        """Forget durations (at a new goal or phase change)."""
        self._overforce_since = None
        self._lost_since.clear()

    def check_inputs(
        self,
        now: float,
        joint_stamp: float | None,
        joints_valid: bool,
        tactile_stamp: float | None,
        need_tactile: bool,
    ) -> str | None:
        """Stale or invalid joint states, stale tactile contacts (when they are needed)."""
        p = self.params
        if joint_stamp is None or now - joint_stamp > p.stale_joint_s:
            age = "never received" if joint_stamp is None else f"{(now - joint_stamp) * 1e3:.0f} ms"
            return f"stale joint states ({age}, limit {p.stale_joint_s * 1e3:.0f} ms)"
        if not joints_valid:
            return "invalid joint states (non-finite or missing hand/arm joints)"
        if need_tactile and (tactile_stamp is None or now - tactile_stamp > p.stale_tactile_s):
            age = (
                "never received"
                if tactile_stamp is None
                else f"{(now - tactile_stamp) * 1e3:.0f} ms"
            )
            return f"stale tactile contacts ({age}, limit {p.stale_tactile_s * 1e3:.0f} ms)"
        return None

    def check_forces(
        self,
        now: float,
        forces: Mapping[str, float],
        finger_max_n: Mapping[str, float],
        total_max_n: float,
    ) -> str | None:
        """Force above the limits for longer than ``overforce_time_s``."""
        ratio = self.params.overforce_ratio
        over = [f for f, v in forces.items() if v > ratio * finger_max_n.get(f, math.inf)]
        total = float(sum(forces.values()))
        if not over and total <= ratio * total_max_n:
            self._overforce_since = None
            return None
        if self._overforce_since is None:
            self._overforce_since = now
        if now - self._overforce_since < self.params.overforce_time_s:
            return None
        if over:
            finger = over[0]
            return (
                f"finger {finger} force {forces[finger]:.1f} N above its limit "
                f"{finger_max_n[finger]:.1f} N"
            )
        return f"total force {total:.1f} N above the limit {total_max_n:.1f} N"

    def check_contact(self, now: float, forces: Mapping[str, float]) -> str | None:
        """A gripping finger without force for longer than ``contact_lost_s``."""
        p = self.params
        for finger, force in forces.items():
            if force >= p.contact_lost_n:
                self._lost_since.pop(finger, None)
                continue
            since = self._lost_since.setdefault(finger, now)
            if now - since >= p.contact_lost_s:
                return f"contact lost on finger {finger} ({force:.2f} N for {now - since:.2f} s)"
        return None

    def check_timeout(self, now: float, phase: str, since: float) -> str | None:
        limit = self.params.timeouts_s.get(phase)
        if limit is not None and now - since > limit:
            return f"timeout in phase {phase} after {now - since:.1f} s (limit {limit:.1f} s)"
        return None


def limit_arm_command(
    q_previous: np.ndarray,
    q_desired: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    max_velocity_rad_s: float,
    dt: float,
) -> np.ndarray:
    """The arm command, moved toward ``q_desired`` by at most ``max_velocity_rad_s * dt`` per
    joint and clipped into [lower, upper] [rad]. Applied to every command the controller sends."""
    step = max_velocity_rad_s * max(dt, 0.0)
    q = np.asarray(q_previous, dtype=float) + np.clip(
        np.asarray(q_desired, dtype=float) - q_previous, -step, step
    )
    return np.clip(q, lower, upper)
