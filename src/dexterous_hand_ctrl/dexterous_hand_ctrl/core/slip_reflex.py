"""Grip force command with a slip reflex: raise the target by a Weber fraction on slip.

Human grip responds to slip with a grip-force increase within 60-80 ms that scales with the
force already applied (Johansson and Westling, "Roles of glabrous skin receptors and
sensorimotor memory in automatic control of precision grip", Exp. Brain Res. 1984): a constant
fraction, Weber's law. Here the target is raised in the very control step that receives the
slip event, ``F <- min(F (1 + weber_fraction), F_max)``, and the commanded force follows it
along a smoothstep of ``reflex_ramp_s`` (a force step would ring the finger and read as
vibration). Slip events that arrive while the commanded force is changing, or within
``reafference_s`` after, are the grip's own doing (contact patches grow and their centre of
pressure moves when the force changes) and are ignored, the way an efference copy cancels
self-generated touch; they are still counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dexterous_hand_ctrl.errors import DexterousHandCtrlError


@dataclass(frozen=True)
class SlipReflexParams:
    """Parameters of :class:`GripForce`.

    Attributes:
        weber_fraction: Relative target increase per slip event, > 0.
        refractory_s: Slip events closer than this after a raise do not raise again [s].
        reflex_ramp_s: Time the commanded force takes to reach a raised target [s].
        squeeze_ramp_s: Time the commanded force takes from contact to the first target [s].
        reafference_s: Slip events this soon after the commanded force changed are ignored [s].
        max_fraction: The target never exceeds this fraction of the force limit (headroom for
            transients, so that the measured force stays below the limit).
    """

    weber_fraction: float = 0.25
    refractory_s: float = 0.03
    reflex_ramp_s: float = 0.015
    squeeze_ramp_s: float = 0.2
    reafference_s: float = 0.03
    max_fraction: float = 0.8

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise DexterousHandCtrlError(f"slip reflex {name} = {value!r}: expected > 0")
        if self.max_fraction > 1.0:
            raise DexterousHandCtrlError(
                f"slip reflex max_fraction = {self.max_fraction}: expected <= 1"
            )


class GripForce:
    """Total grip force target (with the slip reflex) and the ramped commanded force.

    Args:
        target_n: Initial total grip force target [N], > 0.
        limit_n: Force limit [N]; the target stays below ``max_fraction`` of it.
        params: Parameters.
    """

    def __init__(self, target_n: float, limit_n: float, params: SlipReflexParams | None = None):
        self.params = params = params or SlipReflexParams()
        if not (target_n > 0 and limit_n >= target_n):
            raise DexterousHandCtrlError(
                f"grip target {target_n} N, limit {limit_n} N: expected 0 < target <= limit"
            )
        self.limit_n = float(limit_n)
        self.max_n = max(float(target_n), params.max_fraction * self.limit_n)
        self.target_n = float(target_n)
        self.command_n = 0.0
        self.events = 0
        self.raises = 0
        self.last_raise_s = -math.inf
        self._ramp = (0.0, 0.0, 0.0, 0.0)  # (start time, duration, from, to)
        self._settled_s = -math.inf

    def start(self, now_s: float, from_n: float) -> None:
        """Ramp the commanded force from ``from_n`` to the target (start of the squeeze)."""
        self._ramp = (now_s, self.params.squeeze_ramp_s, float(from_n), self.target_n)
        self.command_n = float(from_n)

    @property
    def ramping(self) -> bool:
        return self.command_n != self._ramp[3]

    def step(self, now_s: float, slip_events: int, reflex_enabled: bool) -> bool:
        """Advance to ``now_s``: count slip events, maybe raise the target, ramp the command.

        Args:
            now_s: Time [s].
            slip_events: Counted pads with a slip event in this frame.
            reflex_enabled: Whether slip raises the target now (holding, lifting).

        Returns:
            True if the target was raised in this step.
        """
        p = self.params
        raised = False
        self.events += slip_events
        self_caused = self.ramping or now_s - self._settled_s < p.reafference_s
        if (
            slip_events
            and reflex_enabled
            and not self_caused
            and now_s - self.last_raise_s >= p.refractory_s
            and self.target_n < self.max_n
        ):
            self.target_n = min(self.target_n * (1.0 + p.weber_fraction), self.max_n)
            self.last_raise_s = now_s
            self.raises += 1
            self._ramp = (now_s, p.reflex_ramp_s, self.command_n, self.target_n)
            raised = True
        start, duration, begin, end = self._ramp
        s = min(max((now_s - start) / duration, 0.0), 1.0)
        previous = self.command_n
        self.command_n = end if s >= 1.0 else begin + (end - begin) * (3 * s * s - 2 * s**3)
        if previous != self.command_n:
            self._settled_s = now_s
        return raised
