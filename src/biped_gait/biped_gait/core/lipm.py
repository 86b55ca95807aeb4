"""Linear inverted pendulum model (LIPM) and divergent component of motion (DCM) maths.

With the centre of mass (CoM) ``c`` kept at the constant height ``z_c`` above flat ground and the
zero moment point (ZMP) at ``p``, the horizontal CoM dynamics are, per axis::

    c_ddot = omega^2 (c - p),      omega = sqrt(g / z_c)

The DCM ``xi = c + c_dot / omega`` splits them into a stable and an unstable first order system::

    c_dot = omega (xi - c)         (the CoM converges to the DCM)
    xi_dot = omega (xi - p)        (the DCM diverges from the ZMP)

For a ZMP held constant over an interval, everything has a closed form (used here). On flat
ground the DCM is the instantaneous capture point: putting the ZMP there brings the CoM to rest.
Functions work on scalars or arrays of horizontal coordinates (e.g. shape (2,) for x, y) [m].
"""

from __future__ import annotations

import math

import numpy as np

from biped_gait.errors import BipedGaitError

STANDARD_GRAVITY = 9.80665
"""Standard gravitational acceleration [m/s^2]."""


def natural_frequency(z_c: float, g: float = STANDARD_GRAVITY) -> float:
    """Natural frequency of the pendulum ``omega = sqrt(g / z_c)``.

    Args:
        z_c: Constant CoM height above the ground [m], > 0.
        g: Gravitational acceleration [m/s^2], > 0.

    Returns:
        omega [1/s].

    Raises:
        BipedGaitError: If ``z_c`` or ``g`` is not a finite positive number.
    """
    z_c = _positive_finite(z_c, "CoM height z_c", "m")
    g = _positive_finite(g, "gravity g", "m/s^2")
    return math.sqrt(g / z_c)


def _positive_finite(value: float, what: str, unit: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and x > 0.0):
        raise BipedGaitError(f"{what} = {value!r} {unit}: expected a finite value > 0")
    return x


def _check_omega(omega: float) -> None:
    _positive_finite(omega, "omega", "1/s")


def _check_duration(t: float) -> None:
    if not (math.isfinite(t) and t >= 0.0):
        raise BipedGaitError(f"duration t = {t!r} s: expected a finite value >= 0")


def dcm(com: np.ndarray, com_vel: np.ndarray, omega: float) -> np.ndarray:
    """Divergent component of motion ``xi = c + c_dot / omega``.

    Args:
        com: CoM position [m].
        com_vel: CoM velocity [m/s].
        omega: Pendulum natural frequency [1/s] (see :func:`natural_frequency`).

    Returns:
        The DCM [m], shape of ``com``.
    """
    _check_omega(omega)
    return np.asarray(com, dtype=float) + np.asarray(com_vel, dtype=float) / omega


def capture_point(com: np.ndarray, com_vel: np.ndarray, omega: float) -> np.ndarray:
    """Instantaneous capture point: where a constant ZMP brings the CoM to rest (over it).

    On flat ground with the LIPM it equals the DCM.

    Args:
        com: CoM position [m].
        com_vel: CoM velocity [m/s].
        omega: Pendulum natural frequency [1/s].

    Returns:
        The capture point [m], shape of ``com``.
    """
    return dcm(com, com_vel, omega)


def com_evolution(
    com: np.ndarray, com_vel: np.ndarray, zmp: np.ndarray, t: float, omega: float
) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form CoM state after holding the ZMP constant for a duration.

    ``c(t) = p + (c0 - p) cosh(omega t) + c_dot0 / omega sinh(omega t)``.

    Args:
        com: Initial CoM position c0 [m].
        com_vel: Initial CoM velocity c_dot0 [m/s].
        zmp: Constant ZMP p [m].
        t: Duration [s], >= 0.
        omega: Pendulum natural frequency [1/s].

    Returns:
        (CoM position [m], CoM velocity [m/s]) at time ``t``.

    Raises:
        BipedGaitError: If ``t`` is negative or not finite, or ``omega`` is invalid.
    """
    _check_omega(omega)
    _check_duration(t)
    c0 = np.asarray(com, dtype=float)
    v0 = np.asarray(com_vel, dtype=float)
    p = np.asarray(zmp, dtype=float)
    ch, sh = math.cosh(omega * t), math.sinh(omega * t)
    c = p + (c0 - p) * ch + v0 / omega * sh
    v = (c0 - p) * omega * sh + v0 * ch
    return c, v


def dcm_evolution(xi: np.ndarray, zmp: np.ndarray, t: float, omega: float) -> np.ndarray:
    """Closed-form DCM after holding the ZMP constant: ``xi(t) = p + (xi0 - p) exp(omega t)``.

    Args:
        xi: Initial DCM [m].
        zmp: Constant ZMP [m].
        t: Duration [s], >= 0.
        omega: Pendulum natural frequency [1/s].

    Returns:
        The DCM at time ``t`` [m].
    """
    _check_omega(omega)
    _check_duration(t)
    p = np.asarray(zmp, dtype=float)
    return p + (np.asarray(xi, dtype=float) - p) * math.exp(omega * t)


def zmp_to_reach_dcm(xi: np.ndarray, xi_target: np.ndarray, t: float, omega: float) -> np.ndarray:
    """Constant ZMP that moves the DCM from ``xi`` to ``xi_target`` in exactly ``t``.

    Inverse of :func:`dcm_evolution`: ``p = (xi_target - xi e^{omega t}) / (1 - e^{omega t})``.
    The result is not limited to the support polygon; the caller must check it.

    Args:
        xi: Current DCM [m].
        xi_target: DCM wanted at the end of the interval [m].
        t: Duration [s], > 0.
        omega: Pendulum natural frequency [1/s].

    Returns:
        The ZMP [m].

    Raises:
        BipedGaitError: If ``t`` is not a finite value > 0.
    """
    _check_omega(omega)
    _positive_finite(t, "duration t", "s")
    e = math.exp(omega * t)
    return (np.asarray(xi_target, dtype=float) - np.asarray(xi, dtype=float) * e) / (1.0 - e)


def orbital_energy(
    com: np.ndarray, com_vel: np.ndarray, zmp: np.ndarray, omega: float
) -> np.ndarray:
    """Orbital energy per axis ``E = c_dot^2 / 2 - omega^2 (c - p)^2 / 2`` [m^2/s^2].

    It is conserved while the ZMP stays at ``p``. E > 0: the CoM passes over the ZMP;
    E < 0: it turns back before reaching it; E = 0: it comes to rest over it or diverges from it.

    Args:
        com: CoM position [m].
        com_vel: CoM velocity [m/s].
        zmp: ZMP [m].
        omega: Pendulum natural frequency [1/s].

    Returns:
        The orbital energy per axis [m^2/s^2], shape of ``com``.
    """
    _check_omega(omega)
    d = np.asarray(com, dtype=float) - np.asarray(zmp, dtype=float)
    v = np.asarray(com_vel, dtype=float)
    return 0.5 * v**2 - 0.5 * omega**2 * d**2
