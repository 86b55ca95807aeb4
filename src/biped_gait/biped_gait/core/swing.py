"""Swing-foot trajectories: lift, carry, smooth touchdown.

Horizontal position and heading follow a minimum-jerk (quintic) path re-planned every period
from the current position, velocity and acceleration to the target, so that a target moved
during the swing (step adjustment) bends the path without a jump. The last part of the swing
keeps its target. Height: apex ``h`` at mid-swing, zero velocity and acceleration at
lift-off and touchdown (a smooth touchdown); the vertical motion is two minimum-jerk legs
(ground to apex at mid-swing, apex to ground), also re-planned every period so that a swing
shortened by step-timing adaptation lands smoothly.
"""

from __future__ import annotations

import math

import numpy as np
import pinocchio as pin

from biped_gait.errors import BipedGaitError


def quintic_step(
    position: np.ndarray,
    velocity: np.ndarray,
    acceleration: np.ndarray,
    target: np.ndarray,
    remaining: float,
    dt: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Advance a minimum-jerk path towards ``target`` (reached at rest after ``remaining``).

    The quintic with the current position, velocity and acceleration at time 0 and the target
    with zero velocity and acceleration at ``remaining`` is evaluated at ``dt``.

    Args:
        position: Current position: a float or an array.
        velocity: Current velocity (units per s).
        acceleration: Current acceleration (units per s^2).
        target: Target position.
        remaining: Time left until the target [s].
        dt: Time to advance [s].

    Returns:
        (position, velocity, acceleration) after ``dt``. At or past the end: the target at rest.
    """
    if remaining <= dt:
        zero = target * 0.0
        return target * 1.0, zero, zero * 1.0
    if isinstance(position, np.ndarray) and position.ndim == 1:
        # Element by element on Python floats: the same operations in the same order as on
        # the arrays (so the same results), without numpy's per-operation cost on 3-vectors.
        rows = [
            _quintic(p0, v0, a0, goal, remaining, dt)
            for p0, v0, a0, goal in zip(
                position.tolist(),
                np.asarray(velocity, dtype=float).tolist(),
                np.asarray(acceleration, dtype=float).tolist(),
                np.asarray(target, dtype=float).tolist(),
                strict=True,
            )
        ]
        p, v, a = zip(*rows, strict=True)
        return np.array(p), np.array(v), np.array(a)
    return _quintic(position, velocity, acceleration, target, remaining, dt)


def _quintic(p0, v0, a0, target, t: float, s: float):
    """:func:`quintic_step`'s evaluation (``t`` remaining > ``s`` = dt)."""
    # Coefficients of p(tau) = p0 + v0 tau + a0/2 tau^2 + c3 tau^3 + c4 tau^4 + c5 tau^5.
    d = target - p0 - v0 * t - 0.5 * a0 * t * t
    dv = -v0 - a0 * t
    da = -a0
    c3 = (10.0 * d - 4.0 * dv * t + 0.5 * da * t * t) / t**3
    c4 = (-15.0 * d + 7.0 * dv * t - da * t * t) / t**4
    c5 = (6.0 * d - 3.0 * dv * t + 0.5 * da * t * t) / t**5
    p = p0 + v0 * s + 0.5 * a0 * s * s + c3 * s**3 + c4 * s**4 + c5 * s**5
    v = v0 + a0 * s + 3.0 * c3 * s * s + 4.0 * c4 * s**3 + 5.0 * c5 * s**4
    a = a0 + 6.0 * c3 * s + 12.0 * c4 * s * s + 20.0 * c5 * s**3
    return p, v, a


class SwingFoot:
    """State of one swing: ground-plane pose (x, y, yaw) and height, advanced per period.

    Args:
        start: Foot (x [m], y [m], yaw [rad]) at lift-off.
        target: Foot pose at touchdown.
        duration: Single-support duration [s].
        height: Apex height [m].
        freeze_fraction: The target is frozen for the last fraction of the swing.
    """

    def __init__(self, start, target, duration: float, height: float, freeze_fraction=0.2):
        if not (math.isfinite(duration) and duration > 0):
            raise BipedGaitError(f"swing duration {duration!r} s: expected a value > 0")
        if not (math.isfinite(height) and height >= 0):
            raise BipedGaitError(f"swing height {height!r} m: expected a value >= 0")
        self.duration = float(duration)
        self.height = float(height)
        self.freeze_fraction = float(freeze_fraction)
        self.elapsed = 0.0
        self.position = np.asarray(start, dtype=float).copy()
        self.velocity = np.zeros(3)
        self.acceleration = np.zeros(3)
        self.target = np.asarray(target, dtype=float).copy()
        self.z = self.vz = self.az = 0.0
        # Headings are unwrapped onto the start's branch so that the path never turns the
        # long way round.
        self.target[2] = self.position[2] + _wrap(self.target[2] - self.position[2])

    @property
    def phase(self) -> float:
        """Swing progress in [0, 1]."""
        return min(self.elapsed / self.duration, 1.0)

    def retarget(self, target) -> bool:
        """Move the touchdown target (ignored in the frozen final part of the swing).

        Returns:
            True when the target was taken.
        """
        if self.phase >= 1.0 - self.freeze_fraction:
            return False
        target = np.asarray(target, dtype=float).copy()
        target[2] = self.position[2] + _wrap(target[2] - self.position[2])
        self.target = target
        return True

    def step(self, dt: float):
        """Advance by ``dt`` [s].

        Returns:
            (pose (x, y, yaw), pose rate, height [m], vertical velocity [m/s],
            vertical acceleration [m/s^2]).
        """
        remaining = self.duration - self.elapsed
        self.position, self.velocity, self.acceleration = quintic_step(
            self.position, self.velocity, self.acceleration, self.target, remaining, dt
        )
        # Height: up to the apex at mid-swing, then down to rest on the ground; both legs are
        # minimum-jerk and re-planned each period, so a shortened swing stays smooth.
        apex_time = 0.5 * self.duration - self.elapsed
        if apex_time > dt:
            goal, left = self.height, apex_time
        else:
            goal, left = 0.0, remaining
        self.z, self.vz, self.az = (
            float(v) for v in quintic_step(self.z, self.vz, self.az, goal, left, dt)
        )
        self.elapsed += dt
        return self.position, self.velocity, self.z, self.vz, self.az


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def swing_in_measured_frame(
    soles: dict, weights: dict, pelvis_reference, pelvis_measured, gain=1.0, limit=0.3
) -> dict:
    """Swing foot targets that hold in the world for the pelvis as measured.

    The joints place the swing foot relative to the real pelvis; when the pelvis is tilted by
    ``dR`` from the IK's, the foot would land tilted by ``dR`` too (toe or heel first). Each
    weighted target is rotated by ``dR^-(gain * weight)`` about the IK pelvis.

    Args:
        soles: Side -> sole target (pinocchio SE3) in the world.
        weights: Side -> weight in [0, 1] (sides not named are left alone).
        pelvis_reference: The IK's pelvis pose (SE3).
        pelvis_measured: The measured pelvis orientation, 3x3.
        gain: Fraction of the tilt compensated.
        limit: Largest compensated tilt [rad].

    Returns:
        The targets, side -> SE3.
    """
    error = pin.log3(pelvis_measured @ pelvis_reference.rotation.T)
    norm = float(np.linalg.norm(error))
    if norm > limit:
        error *= limit / norm
    out = dict(soles)
    origin = pelvis_reference.translation
    for side, weight in weights.items():
        undo = pin.exp3(-gain * weight * error)
        target = soles[side]
        out[side] = pin.SE3(undo @ target.rotation, origin + undo @ (target.translation - origin))
    return out
