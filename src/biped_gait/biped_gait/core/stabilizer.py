"""Balance feedback: DCM tracking, CoM admittance, ankle admittance and step adjustment.

- DCM tracking (Englsberger, Ott, Albu-Schaeffer, "Three-dimensional bipedal walking control
  based on divergent component of motion", IEEE T-RO 2015): with ``xi_dot = omega (xi - p)``,
  the ZMP command ``p_d = p_ref + (1 + k_xi / omega)(xi - xi_ref) + k_i int(xi - xi_ref)``
  makes the DCM error decay at rate ``k_xi``. The feed-forward torques realise ``p_d`` through
  the ankles (see :mod:`feedforward`); the support polygon clips it.
- CoM admittance (Caron, Kheddar, Tempier, "Stair climbing stabilization of the HRP-4 humanoid
  robot using whole-body admittance control", ICRA 2019): the CoM target is accelerated by
  ``A_c (p_measured - p_d)``, which moves the measured ZMP towards ``p_d`` on a
  position-controlled robot; a spring-damper brings the offset back to zero.
- Ankle admittance (same paper, foot damping control): each foot in contact tilts its target
  by ``A_f (tau_desired - tau_measured)`` per second, with a leak, so that the sole complies
  with the ground and its centre of pressure follows the desired one.
- Step adjustment (capture point; Pratt et al., "Capture point: a step toward humanoid push
  recovery", Humanoids 2006): a DCM error ``e`` grows as ``e exp(omega t)`` until touchdown,
  so the swing target is moved by ``e exp(omega t_remaining)`` (bounded) when ``|e|`` exceeds
  a threshold: the next stance foot lands where the disturbed DCM will be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biped_gait.errors import BipedGaitError


@dataclass(frozen=True)
class StabilizerSettings:
    """Feedback gains and bounds.

    Attributes:
        dcm_gain: k_xi, decay rate of the DCM error [1/s].
        dcm_integral_gain: k_i [1/s].
        dcm_integral_limit: Bound of the integral term [m].
        com_admittance: A_c [1/s^2]; 0 disables.
        com_admittance_stiffness: Return stiffness of the CoM offset [1/s^2].
        com_admittance_damping: Damping of the CoM offset [1/s].
        com_offset_limit: Bound of the CoM offset [m].
        ankle_admittance: A_f [rad/(N*m*s)]; 0 disables.
        ankle_leak: Leak rate of the ankle tilt offset [1/s].
        ankle_tilt_limit: Bound of the tilt offset [rad].
        step_adjust_threshold: DCM error that triggers a step adjustment [m].
        step_adjust_limit: Largest move of a touchdown target [m].
        min_swing_remaining: A swing blocked by the stance foot lands within this [s].
        replan_threshold: DCM error at touchdown above which the pattern restarts from the
            measured CoM state [m].
    """

    dcm_gain: float = 6.0
    dcm_integral_gain: float = 0.0
    dcm_integral_limit: float = 0.02
    com_admittance: float = 0.0
    com_admittance_stiffness: float = 20.0
    com_admittance_damping: float = 8.0
    com_offset_limit: float = 0.08
    ankle_admittance: float = 0.0
    ankle_leak: float = 5.0
    ankle_tilt_limit: float = 0.1
    step_adjust_threshold: float = 0.03
    step_adjust_limit: float = 0.15
    min_swing_remaining: float = 0.12
    replan_threshold: float = 0.03

    def __post_init__(self):
        for name, value in vars(self).items():
            if not (math.isfinite(value) and value >= 0):
                raise BipedGaitError(f"stabilizer setting {name} = {value!r}: expected >= 0")


class Stabilizer:
    """Feedback state and laws.

    Args:
        settings: Gains.
        omega: LIPM natural frequency [1/s].
    """

    def __init__(self, settings: StabilizerSettings, omega: float):
        self.settings = settings
        self.omega = omega
        self.integral = np.zeros(2)
        self.com_offset = np.zeros(2)
        self.com_offset_rate = np.zeros(2)
        self.ankle_tilt: dict = {}
        self.com = np.zeros(2)
        self.com_velocity = np.zeros(2)
        self.com_acceleration = np.zeros(2)

    def reset(self) -> None:
        """Forget integrals, corrections and offsets."""
        self.com = np.zeros(2)
        self.com_velocity = np.zeros(2)
        self.com_acceleration = np.zeros(2)
        self.integral[:] = 0.0
        self.com_offset[:] = 0.0
        self.com_offset_rate[:] = 0.0
        self.ankle_tilt = {}

    def zmp_command(self, dcm, dcm_reference, zmp_reference, dt: float) -> np.ndarray:
        """Desired ZMP from the DCM error (not yet clipped to the support) [m]."""
        s = self.settings
        error = np.asarray(dcm[:2]) - np.asarray(dcm_reference[:2])
        if s.dcm_integral_gain > 0:
            self.integral = np.clip(
                self.integral + error * dt, -s.dcm_integral_limit, s.dcm_integral_limit
            )
        gain = 1.0 + s.dcm_gain / self.omega
        return np.asarray(zmp_reference[:2]) + gain * error + s.dcm_integral_gain * self.integral

    def com_correction(self, com, com_reference, zmp, zmp_reference, dt: float):
        """Advance the CoM correction that realises the desired ZMP on a position-controlled
        robot.

        With the feet flat, the ZMP follows from the motion the joints execute, so the
        stabilizer acts through the commanded CoM ``c_cmd = c_ref + dc``: the commanded
        acceleration is the one the LIPM gives for the measured CoM and the desired ZMP,
        ``c_ddot_cmd = omega^2 (c - p_d)``, hence
        ``dc_ddot = omega^2 ((c - c_ref) - (p_d - p_ref))``. With the DCM feedback in ``p_d``
        the correction is stable for ``1 + k_xi / omega > 1``, and at rest it removes any
        offset between the measured and the reference CoM (joint deflection, model errors).

        Args:
            com: Measured CoM (x, y) [m].
            com_reference: Pattern CoM [m].
            zmp: Desired ZMP, feasible (LIPM part) [m].
            zmp_reference: Pattern ZMP [m].
            dt: Period [s].

        Returns:
            (offset [m], velocity [m/s], acceleration [m/s^2]) of the correction.
        """
        s = self.settings
        self.com_acceleration = self.omega**2 * (
            (np.asarray(com[:2]) - np.asarray(com_reference[:2]))
            - (np.asarray(zmp[:2]) - np.asarray(zmp_reference[:2]))
        )
        self.com_velocity = self.com_velocity + self.com_acceleration * dt
        self.com = self.com + self.com_velocity * dt
        over = np.abs(self.com) > s.com_offset_limit
        if np.any(over):
            self.com = np.clip(self.com, -s.com_offset_limit, s.com_offset_limit)
            self.com_velocity[over] = 0.0
        return self.com, self.com_velocity, self.com_acceleration

    def com_admittance(self, zmp_measured, zmp_desired, dt: float) -> np.ndarray:
        """Advance and return the horizontal CoM target offset [m]."""
        s = self.settings
        if s.com_admittance <= 0:
            return self.com_offset
        accel = (
            s.com_admittance * (np.asarray(zmp_measured) - np.asarray(zmp_desired))
            - s.com_admittance_stiffness * self.com_offset
            - s.com_admittance_damping * self.com_offset_rate
        )
        self.com_offset_rate += accel * dt
        self.com_offset += self.com_offset_rate * dt
        np.clip(self.com_offset, -s.com_offset_limit, s.com_offset_limit, out=self.com_offset)
        return self.com_offset

    def ankle_admittance(
        self, side: str, in_contact: bool, torque_desired, torque_measured, dt: float
    ) -> np.ndarray:
        """Advance and return a foot's tilt offset (roll, pitch) about its sole [rad].

        Args:
            side: Foot.
            in_contact: Only a foot in contact complies; a swing foot's offset leaks away.
            torque_desired: Desired ground torque at the sole (x, y), sole frame [N*m].
            torque_measured: Measured ground torque at the sole (x, y), sole frame [N*m].
            dt: Period [s].
        """
        s = self.settings
        tilt = self.ankle_tilt.setdefault(side, np.zeros(2))
        if s.ankle_admittance <= 0:
            return tilt
        rate = -s.ankle_leak * tilt
        if in_contact:
            rate += s.ankle_admittance * (
                np.asarray(torque_desired[:2]) - np.asarray(torque_measured[:2])
            )
        tilt += rate * dt
        np.clip(tilt, -s.ankle_tilt_limit, s.ankle_tilt_limit, out=tilt)
        return tilt

    def step_adjustment(self, dcm, dcm_reference, time_to_touchdown: float) -> np.ndarray:
        """Move of the touchdown target for the current DCM error (x, y) [m]; zero below the
        threshold."""
        s = self.settings
        error = np.asarray(dcm[:2]) - np.asarray(dcm_reference[:2])
        norm = float(np.linalg.norm(error))
        if norm < s.step_adjust_threshold:
            return np.zeros(2)
        grown = error * math.exp(self.omega * max(time_to_touchdown, 0.0))
        size = float(np.linalg.norm(grown))
        if size > s.step_adjust_limit:
            grown *= s.step_adjust_limit / size
        return grown
