"""ZMP preview control of the cart-table model (Kajita et al. 2003).

Kajita, Kanehiro, Kaneko, Fujiwara, Harada, Yokoi, Hirukawa, "Biped walking pattern generation
by using preview control of zero-moment point", ICRA 2003. The CoM moves at constant height
``z_c``; per horizontal axis the state is ``x = [c, c_dot, c_ddot]``, the input the CoM jerk
``u`` and the output the ZMP ``p = c - z_c / g c_ddot``::

    x[k+1] = A x[k] + B u[k],    p[k] = C x[k]

The optimal preview servo (Katayama et al. 1985, used in the paper) minimises
``sum Q_e (p - p_ref)^2 + R u^2`` and gives::

    u[k] = -G_i sum_{i<=k} (p[i] - p_ref[i]) - G_x x[k] - sum_{j=1..N} G_p[j] p_ref[k + j]

The gains come from the discrete algebraic Riccati equation of the system augmented with the
integrated tracking error. Both axes share the gains; one step costs two dot products of length
``N``. Why preview control here (and not DCM planning): it takes any ZMP reference (linear
transfers in double support, shifted footsteps from the step adjustment) without closed-form
segment bookkeeping, and yields a CoM with continuous acceleration for the inverse dynamics.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.linalg

from biped_gait.core.lipm import STANDARD_GRAVITY
from biped_gait.errors import BipedGaitError


class PreviewGains(NamedTuple):
    """Gains of the preview servo.

    Attributes:
        integral: G_i [m/s^3 per m*step] (scalar).
        state: G_x, shape (3,), acting on ``[c, c_dot, c_ddot]``.
        preview: G_p[1..N], shape (N,), acting on the future ZMP references.
    """

    integral: float
    state: np.ndarray
    preview: np.ndarray


def cart_table_matrices(dt: float, z_c: float, g: float = STANDARD_GRAVITY):
    """Discrete cart-table model (A, B, C) for a jerk input held over ``dt``.

    Args:
        dt: Sampling period [s].
        z_c: CoM height [m].
        g: Gravity [m/s^2].

    Returns:
        (A (3, 3), B (3,), C (3,)).
    """
    a = np.array([[1.0, dt, dt * dt / 2.0], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    b = np.array([dt**3 / 6.0, dt * dt / 2.0, dt])
    c = np.array([1.0, 0.0, -z_c / g])
    return a, b, c


def preview_gains(
    dt: float, z_c: float, horizon: int, q_e: float = 1.0, r: float = 1e-6
) -> PreviewGains:
    """Solve the Riccati equation of the augmented system and the preview gains.

    Args:
        dt: Sampling period [s], > 0.
        z_c: CoM height [m], > 0.
        horizon: Number N of future ZMP samples previewed, >= 1.
        q_e: Weight of the ZMP tracking error.
        r: Weight of the jerk input.

    Returns:
        The preview servo gains.

    Raises:
        BipedGaitError: On a non-positive period, height, horizon or weight.
    """
    if not (dt > 0 and z_c > 0 and horizon >= 1 and q_e > 0 and r > 0):
        raise BipedGaitError(
            f"preview gains need dt > 0, z_c > 0, horizon >= 1, q_e > 0, r > 0; got dt={dt}, "
            f"z_c={z_c}, horizon={horizon}, q_e={q_e}, r={r}"
        )
    a, b, c = cart_table_matrices(dt, z_c)
    # Augmented state [e_k, dx_k] with dx_k = x_k - x_{k-1} (Katayama's incremental form).
    a_aug = np.zeros((4, 4))
    a_aug[0, 0] = 1.0
    a_aug[0, 1:] = c @ a
    a_aug[1:, 1:] = a
    b_aug = np.concatenate([[c @ b], b])
    q_aug = np.zeros((4, 4))
    q_aug[0, 0] = q_e
    r_mat = np.array([[r]])
    p = scipy.linalg.solve_discrete_are(a_aug, b_aug.reshape(4, 1), q_aug, r_mat)
    inv = 1.0 / (r + float(b_aug @ p @ b_aug))
    i_aug = np.array([1.0, 0.0, 0.0, 0.0])
    f_aug = np.vstack([c @ a, a])
    g_i = inv * float(b_aug @ p @ i_aug)
    g_x = inv * (b_aug @ p @ f_aug)
    a_closed = a_aug - np.outer(b_aug, inv * (b_aug @ p @ a_aug))
    x_l = -a_closed.T @ p @ i_aug
    g_p = np.empty(horizon)
    g_p[0] = -g_i
    for j in range(1, horizon):
        g_p[j] = inv * float(b_aug @ x_l)
        x_l = a_closed.T @ x_l
    return PreviewGains(g_i, g_x, g_p)


class PreviewController:
    """CoM pattern from a ZMP reference, one sample at a time, for both horizontal axes.

    Args:
        dt: Control period [s].
        z_c: CoM height above the ground [m].
        horizon_s: Preview horizon [s] (Kajita uses 1.6 s; beyond ~2/omega it adds little).
        q_e: ZMP error weight.
        r: Jerk weight.
    """

    def __init__(
        self, dt: float, z_c: float, horizon_s: float = 1.6, q_e: float = 1.0, r: float = 1e-6
    ):
        if not (math.isfinite(horizon_s) and horizon_s > dt > 0):
            raise BipedGaitError(f"preview horizon {horizon_s} s must exceed the period {dt} s")
        self.dt = float(dt)
        self.z_c = float(z_c)
        self.horizon = int(round(horizon_s / dt))
        self.gains = preview_gains(dt, z_c, self.horizon, q_e, r)
        self.a, self.b, self.c = cart_table_matrices(dt, z_c)
        self.state = np.zeros((3, 2))  # rows c, c_dot, c_ddot; columns x, y
        self.error_sum = np.zeros(2)

    @property
    def sample_times(self) -> np.ndarray:
        """Offsets [s] of the ZMP samples expected by :meth:`step`: 0, dt, ..., N dt."""
        return np.arange(self.horizon + 1) * self.dt

    def reset(self, com, com_vel=(0.0, 0.0), com_acc=(0.0, 0.0)) -> None:
        """Start from a CoM state (horizontal) with no integrated error.

        Args:
            com: CoM position (x, y) [m].
            com_vel: CoM velocity [m/s].
            com_acc: CoM acceleration [m/s^2].
        """
        self.state[0] = com
        self.state[1] = com_vel
        self.state[2] = com_acc
        self.error_sum[:] = 0.0

    def zmp(self) -> np.ndarray:
        """ZMP of the current pattern state (x, y) [m]."""
        return self.c @ self.state

    def step(self, zmp_reference: np.ndarray) -> np.ndarray:
        """Advance the pattern one period.

        Args:
            zmp_reference: ZMP references at offsets :attr:`sample_times` [m], shape (N + 1, 2):
                row 0 is the current instant, rows 1..N the preview.

        Returns:
            The new state, shape (3, 2): CoM position [m], velocity [m/s], acceleration [m/s^2].

        Raises:
            BipedGaitError: On a reference of the wrong shape.
        """
        ref = np.asarray(zmp_reference, dtype=float)
        if ref.shape != (self.horizon + 1, 2):
            raise BipedGaitError(
                f"ZMP reference of shape {ref.shape}: expected ({self.horizon + 1}, 2)"
            )
        gains = self.gains
        self.error_sum += self.c @ self.state - ref[0]
        jerk = -gains.integral * self.error_sum - gains.state @ self.state - gains.preview @ ref[1:]
        self.state = self.a @ self.state + np.outer(self.b, jerk)
        return self.state
