"""Per-finger control: velocity-limited guarded closing, force regulation and opening.

Each finger is position-controlled by the joint PD (``tau = kp (q_ref - q) - kd dq``); this
module moves its reference:

* **Guarded close.** The reference advances along the finger's closing direction at the closing
  speed until the finger's counted pads report contact (force >= ``contact_force_n``); the
  reference then freezes at the measured position (the finger stops, it does not push).
  A finger whose reference runs ahead of the measured position by ``stall_error_rad`` for
  ``stall_time_s`` without tactile contact has **stalled** (blocked by something it cannot
  feel); a finger that reaches its joint limits without contact has **missed**.
* **Squeeze (admittance).** With ``g = J_c^T n`` (the contact point's Jacobian transposed times
  the contact normal, summed over the finger's loaded pads weighted by their force, restricted
  to the closing joints), a joint offset ``delta`` along ``u = g / |g|`` makes the PD push with
  ``F = kp delta / |g|`` along ``n``. The offset is the feed-forward ``F_target |g| / kp`` plus
  an integral of the force error, ``d(delta_i)/dt = k_i |g| / kp (F_target - F)``, so a stiffness
  model error is removed with time constant ``1 / k_i`` (an admittance in joint space, after
  Hogan, "Impedance control", 1985). A force above the finger's limit drives the integral down
  at ``overforce_gain`` times the normal rate, and the push the PD sees (reference minus
  measured position along ``u``) never exceeds the one giving ``limit_fraction`` of the finger's
  limit (so a reading that drops out while the contact slides over the skin's edge cannot wind
  the push up past the limit).
* **Open.** The reference moves to a target posture at the opening speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from dexterous_hand_ctrl.core.hand_model import FingerSpec
from dexterous_hand_ctrl.errors import DexterousHandCtrlError


class FingerMode(Enum):
    HOLD = "hold"  # reference fixed
    CLOSING = "closing"
    CONTACT = "contact"  # stopped at contact, not pushing yet
    SQUEEZE = "squeeze"
    STALLED = "stalled"
    MISSED = "missed"
    MOVING = "moving"  # to a target posture (pre-shape, open)


@dataclass(frozen=True)
class FingerParams:
    """Parameters of :class:`FingerController`.

    Attributes:
        contact_force_n: Counted pads' force at which a closing finger stops [N].
        stall_error_rad: Closing reference ahead of the measured position by this ... [rad]
        stall_time_s: ... for this long, without tactile contact: stalled [s].
        force_integral_gain_per_s: k_i of the force integral [1/s].
        max_squeeze_rad: Largest admittance offset [rad].
        overforce_gain: Integral rate multiplier while above the finger's force limit.
        limit_margin_rad: A closing finger within this of its limits has missed [rad].
        limit_fraction: The offset never pushes harder than this fraction of the finger's
            force limit (by the stiffness model).
    """

    contact_force_n: float = 0.3
    stall_error_rad: float = 0.3
    stall_time_s: float = 0.15
    force_integral_gain_per_s: float = 8.0
    max_squeeze_rad: float = 1.0
    overforce_gain: float = 4.0
    limit_margin_rad: float = 0.02
    limit_fraction: float = 0.7

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise DexterousHandCtrlError(f"finger parameter {name} = {value!r}: expected > 0")


class FingerController:
    """Reference of one finger's joints.

    Args:
        spec: The finger.
        lower: Its joints' lower limits [rad].
        upper: Its joints' upper limits [rad].
        kp: Joint PD stiffness [N*m/rad].
        params: Parameters.
    """

    def __init__(
        self,
        spec: FingerSpec,
        lower: np.ndarray,
        upper: np.ndarray,
        kp: float,
        params: FingerParams | None = None,
    ):
        if kp <= 0:
            raise DexterousHandCtrlError(f"finger {spec.name!r}: kp = {kp}: expected > 0")
        self.spec = spec
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.kp = float(kp)
        self.params = params or FingerParams()
        self.closing = np.asarray(spec.close_direction, dtype=float)
        self.mode = FingerMode.HOLD
        self.q_ref = np.clip(np.zeros(len(spec.joints)), self.lower, self.upper)
        self._q_contact = self.q_ref.copy()
        self._direction = self._unit(self.closing)
        self._stiffness = 1.0  # |g| [m]
        self._integral = 0.0
        self._stall_time = 0.0
        self._target: np.ndarray | None = None
        self._speed = 0.0
        self.offset_rad = 0.0

    @staticmethod
    def _unit(vector: np.ndarray) -> np.ndarray:
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    # ------------------------------------------------------------------------------ commands
    def hold(self, q: np.ndarray) -> None:
        """Freeze the reference at ``q`` [rad] (e.g. the measured position: stop pushing)."""
        self.q_ref = np.clip(np.asarray(q, dtype=float), self.lower, self.upper)
        self.mode = FingerMode.HOLD
        self.offset_rad = 0.0

    def move_to(self, target: np.ndarray, speed_rad_s: float) -> None:
        """Move the reference to ``target`` [rad] at ``speed_rad_s`` per joint."""
        self._target = np.clip(np.asarray(target, dtype=float), self.lower, self.upper)
        self._speed = float(speed_rad_s)
        self.mode = FingerMode.MOVING

    def start_closing(self, q_measured: np.ndarray, direction=None) -> None:
        """Start the guarded close from the measured position.

        Args:
            q_measured: The finger's measured joints [rad].
            direction: Closing direction per joint for this grasp (+1 / -1 / 0); None: the
                finger's own. It also restricts which joints squeeze.
        """
        self.closing = np.asarray(
            self.spec.close_direction if direction is None else direction, dtype=float
        )
        self._direction = self._unit(self.closing)
        self.q_ref = np.clip(np.asarray(q_measured, dtype=float), self.lower, self.upper)
        self._stall_time = 0.0
        self.mode = FingerMode.CLOSING

    def start_squeeze(self) -> None:
        """Start regulating the force (from the contact position)."""
        self._integral = 0.0
        self.mode = FingerMode.SQUEEZE

    @property
    def done_moving(self) -> bool:
        return self.mode != FingerMode.MOVING

    # --------------------------------------------------------------------------------- step
    def step(
        self,
        dt: float,
        q_measured: np.ndarray,
        force_n: float,
        target_force_n: float,
        force_direction: np.ndarray | None,
        close_speed_rad_s: float,
    ) -> np.ndarray:
        """Advance the reference by ``dt``.

        Args:
            dt: Time step [s].
            q_measured: The finger's measured joint positions [rad].
            force_n: Normal force on its counted pads [N].
            target_force_n: Desired normal force while squeezing [N].
            force_direction: ``g = sum J_c^T n F / sum F`` over its loaded pads [m] (finger
                joints), or None when no pad carries load (the last one is kept).
            close_speed_rad_s: Closing speed of each closing joint [rad/s].

        Returns:
            The finger's joint references [rad].
        """
        p = self.params
        q = np.asarray(q_measured, dtype=float)
        if self.mode is FingerMode.MOVING and self._target is not None:
            step = np.clip(self._target - self.q_ref, -self._speed * dt, self._speed * dt)
            self.q_ref = self.q_ref + step
            if np.all(np.abs(self._target - self.q_ref) < 1e-9):
                self.mode = FingerMode.HOLD
        elif self.mode is FingerMode.CLOSING:
            if force_n >= p.contact_force_n:
                self._q_contact = np.clip(q, self.lower, self.upper)
                self.q_ref = self._q_contact.copy()
                self.mode = FingerMode.CONTACT
            else:
                self.q_ref = np.clip(
                    self.q_ref + self.closing * close_speed_rad_s * dt, self.lower, self.upper
                )
                lag = float(self.closing @ (self.q_ref - q)) / max(
                    float(np.abs(self.closing).sum()), 1.0
                )
                self._stall_time = self._stall_time + dt if lag > p.stall_error_rad else 0.0
                at_limit = self._closed_limit_reached(q)
                if self._stall_time >= p.stall_time_s:
                    self.hold(q)
                    self.mode = FingerMode.STALLED
                elif at_limit:
                    self.hold(q)
                    self.mode = FingerMode.MISSED
        elif self.mode is FingerMode.SQUEEZE:
            self._squeeze(dt, q, force_n, target_force_n, force_direction)
        return self.q_ref

    def _closed_limit_reached(self, q: np.ndarray) -> bool:
        margin = self.params.limit_margin_rad
        closing = self.closing != 0
        at_upper = (self.closing > 0) & (q >= self.upper - margin)
        at_lower = (self.closing < 0) & (q <= self.lower + margin)
        return bool(np.all((at_upper | at_lower)[closing]))

    def _squeeze(self, dt, q, force_n, target_force_n, force_direction) -> None:
        p = self.params
        if force_direction is not None:
            g = np.asarray(force_direction, dtype=float) * (self.closing != 0)
            norm = float(np.linalg.norm(g))
            # Keep a direction that closes the finger: a contact on the back of a segment
            # would otherwise ask the finger to open.
            if norm > 1e-6 and float(g @ self.closing) > 0:
                self._direction, self._stiffness = g / norm, norm
        error = target_force_n - force_n
        rate = p.force_integral_gain_per_s * self._stiffness / self.kp
        if force_n > self.spec.max_force_n:
            error = (self.spec.max_force_n - force_n) * p.overforce_gain
        feedforward = target_force_n * self._stiffness / self.kp
        self._integral += rate * error * dt
        # The push is what the PD sees, reference minus measured position: the ceiling bounds
        # that (the finger may have moved on since contact if the object yielded).
        moved = max(float(self._direction @ (q - self._q_contact)), 0.0)
        push_limit = p.limit_fraction * self.spec.max_force_n * self._stiffness / self.kp
        ceiling = min(p.max_squeeze_rad, push_limit + moved)
        self._integral = float(np.clip(self._integral, -feedforward, ceiling - feedforward))
        self.offset_rad = feedforward + self._integral
        self.q_ref = np.clip(
            self._q_contact + self.offset_rad * self._direction, self.lower, self.upper
        )
