"""ZMP reference of a step sequence, sampled for the preview controller.

A step is a double support (the ZMP moves linearly from the previous stance foot to the new
one) followed by a single support (the ZMP stays on the stance foot). Walking starts with half
the first transfer held (the preview then starts the CoM moving smoothly) and stops with a
transfer to the midpoint of the final feet.

Swing-leg momentum: accelerating a swing leg changes the centroidal angular momentum,
approximately ``L_dot = kappa e_z x a`` (a mass below the CoM; ``a`` the swing foot's
acceleration, taken ``lead`` seconds ahead since the thigh leads the foot), which moves the real
ZMP by ``kappa a / (m g)`` from the LIPM one. The LIPM reference is shifted the other way, so
that the real ZMP stays on the planned footholds: the role of the second stage of Kajita et
al.'s preview control (ICRA 2003), here with a swing-leg model fitted on the G1 (README).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biped_gait.core.footsteps import Footstep
from biped_gait.core.lipm import STANDARD_GRAVITY
from biped_gait.errors import BipedGaitError


@dataclass(frozen=True)
class GaitTiming:
    """Durations [s] and swing settings.

    Attributes:
        single_support: Swing duration.
        double_support: Weight transfer between steps.
        start_double_support: Transfer to the first stance foot when walking starts.
        end_double_support: Transfer to the feet midpoint when walking stops.
        swing_height: Apex height of the swing foot [m].
        zmp_offset_x: ZMP forward of the sole centre in single support [m].
        zmp_offset_y: ZMP inward of the sole centre in single support [m].
    """

    single_support: float = 0.35
    double_support: float = 0.1
    start_double_support: float = 0.4
    end_double_support: float = 0.4
    swing_height: float = 0.05
    zmp_offset_x: float = 0.0
    zmp_offset_y: float = 0.015

    def __post_init__(self):
        for name in (
            "single_support",
            "double_support",
            "start_double_support",
            "end_double_support",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise BipedGaitError(f"gait timing {name} = {value!r} s: expected > 0")

    @property
    def step_period(self) -> float:
        """Double plus single support [s]."""
        return self.single_support + self.double_support


@dataclass(frozen=True)
class PlannedStep:
    """One step of the timeline.

    Attributes:
        footstep: The footstep.
        double_support: Transfer duration before the swing [s].
        single_support: Swing duration [s].
        start_zmp: ZMP at the start of the transfer (x, y) [m].
        stance_zmp: ZMP during the swing [m].
        hold_first_half: Hold the ZMP during the first half of the transfer (walking starts).
    """

    footstep: Footstep
    double_support: float
    single_support: float
    start_zmp: np.ndarray
    stance_zmp: np.ndarray
    hold_first_half: bool = False


@dataclass(frozen=True)
class SwingMomentum:
    """Swing-leg momentum model: ``kappa`` [kg*m], ``lead`` [s], robot mass [kg]."""

    kappa: float = 0.0
    lead: float = 0.0
    mass: float = 1.0


def sample_steps(
    samples: np.ndarray,
    start: float,
    steps: list[PlannedStep],
    final: tuple[float, np.ndarray] | None,
    momentum: SwingMomentum,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample the ZMP reference of a step sequence.

    Args:
        samples: Sample times [s], increasing (relative to now).
        start: Time at which the first step's transfer begins (<= 0 when in progress) [s].
        steps: The steps, in order.
        final: (duration [s], midpoint (x, y) [m]) of the transfer after the last step, or None
            (the last stance is held).
        momentum: Swing-leg momentum model.

    Returns:
        (LIPM ZMP reference (len(samples), 2) [m], momentum shift: real minus LIPM ZMP [m]).
    """
    times, points, swings = [], [], []
    t = start
    for step in steps:
        ds = step.double_support
        if step.hold_first_half:
            times.append(t)
            points.append(step.start_zmp)
            t += ds / 2.0
            ds /= 2.0
        times += [t, t + ds, t + ds + step.single_support]
        points += [step.start_zmp, step.stance_zmp, step.stance_zmp]
        swings.append((t + ds, step.single_support, step.footstep))
        t += ds + step.single_support
    if final is not None:
        times.append(t + final[0])
        points.append(final[1])
    reference = interpolate(samples, times, points)
    shift = np.zeros_like(reference)
    if momentum.kappa > 0:
        for lift, duration, footstep in swings:
            begin = np.searchsorted(samples, lift)
            end = np.searchsorted(samples, lift + duration)
            if end <= 0 or begin >= len(samples):
                continue
            phase = (samples[begin:end] - lift) / duration
            profile = 60.0 * phase - 180.0 * phase**2 + 120.0 * phase**3
            profile += momentum.lead / duration * (60.0 - 360.0 * phase + 360.0 * phase**2)
            travel = np.array(
                [
                    footstep.target.x - footstep.start.x,
                    footstep.target.y - footstep.start.y,
                ]
            )
            scale = momentum.kappa / (momentum.mass * STANDARD_GRAVITY) / duration**2
            shift[begin:end] += scale * np.outer(profile, travel)
    return reference - shift, shift


def interpolate(samples: np.ndarray, times: list, points: list) -> np.ndarray:
    """Piecewise-linear (x, y) through ``points`` at ``times``, held beyond the ends."""
    times = np.asarray(times, dtype=float)
    points = np.asarray(points, dtype=float)
    out = np.empty((len(samples), 2))
    out[:, 0] = np.interp(samples, times, points[:, 0])
    out[:, 1] = np.interp(samples, times, points[:, 1])
    return out
