"""Finger control on a one-finger stand-in: guarded close, stall, miss, force regulation."""

from __future__ import annotations

import numpy as np
import pytest

from dexterous_hand_ctrl.core.finger_control import FingerController, FingerMode, FingerParams
from dexterous_hand_ctrl.core.hand_model import FingerSpec
from dexterous_hand_ctrl.errors import DexterousHandCtrlError

KP = 2.0
DT = 0.002
SPEC = FingerSpec("index", ("j0", "j1"), (1, 1), "tip", (0.05, 0.0, 0.0), ("tip_pad",), 8.0)
LOWER, UPPER = np.zeros(2), np.full(2, 1.6)


def finger(**params) -> FingerController:
    return FingerController(SPEC, LOWER, UPPER, KP, FingerParams(**params))


def close_against_wall(controller, wall, stiffness_m=0.05, seconds=3.0):
    """Joints follow the reference until the wall; force = kp * penetration / stiffness_m."""
    q = np.zeros(2)
    controller.start_closing(q)
    history = []
    for _ in range(int(seconds / DT)):
        penetration = max(0.0, float(np.sum(controller.q_ref - wall)) / 2.0)
        force = KP * penetration / stiffness_m
        q = np.minimum(controller.q_ref, wall)
        controller.step(DT, q, force, 0.0, None, 1.0)
        history.append((controller.mode, force))
        if controller.mode is not FingerMode.CLOSING:
            break
    return q, history


def test_guarded_close_stops_at_contact_without_pushing() -> None:
    controller = finger(contact_force_n=0.3)
    q, history = close_against_wall(controller, np.array([0.5, 0.5]))
    assert controller.mode is FingerMode.CONTACT
    # Stopped within one step of passing the threshold: light touch only.
    assert history[-1][1] < 0.3 + KP * 1.0 * DT / 0.05
    np.testing.assert_allclose(controller.q_ref, q)
    # Velocity-limited: the reference never moved faster than the closing speed.
    assert len(history) * DT >= 0.5 / 1.0 - DT


def test_blocked_finger_without_tactile_contact_stalls() -> None:
    controller = finger(stall_error_rad=0.2, stall_time_s=0.1)
    q = np.array([0.1, 0.1])  # held by something the skin does not feel
    controller.start_closing(q)
    for _ in range(2000):
        controller.step(DT, q, 0.0, 0.0, None, 1.0)
        if controller.mode is not FingerMode.CLOSING:
            break
    assert controller.mode is FingerMode.STALLED
    np.testing.assert_allclose(controller.q_ref, q)  # holds where it is


def test_finger_closing_on_nothing_misses() -> None:
    controller = finger()
    q = np.zeros(2)
    controller.start_closing(q)
    for _ in range(3000):
        q = controller.q_ref.copy()  # free motion
        controller.step(DT, q, 0.0, 0.0, None, 1.0)
        if controller.mode is not FingerMode.CLOSING:
            break
    assert controller.mode is FingerMode.MISSED


@pytest.mark.parametrize(("target", "stiffness_m"), [(3.0, 0.05), (5.0, 0.03), (2.0, 0.08)])
def test_squeeze_converges_to_the_target_and_stays_below_the_limit(target, stiffness_m):
    """The contact's true stiffness differs from the model's: the integral removes the error."""
    controller = finger(force_integral_gain_per_s=10.0)
    wall = np.array([0.4, 0.4])
    close_against_wall(controller, wall)
    controller.start_squeeze()
    g = np.array([0.035, 0.035])  # J^T n of the contact [m]
    forces = []
    for _ in range(int(2.0 / DT)):
        penetration = float(np.sum(controller.q_ref - wall)) / 2.0
        force = max(0.0, KP * penetration / stiffness_m)
        controller.step(DT, wall, force, target, g, 1.0)
        forces.append(force)
    assert forces[-1] == pytest.approx(target, rel=0.03)
    assert max(forces) <= SPEC.max_force_n
    # The offset follows J^T n: equal joints here.
    delta = controller.q_ref - wall
    assert delta[0] == pytest.approx(delta[1])


def test_over_force_is_driven_down() -> None:
    controller = finger()
    wall = np.array([0.4, 0.4])
    close_against_wall(controller, wall)
    controller.start_squeeze()
    g = np.array([0.035, 0.035])
    for _ in range(int(1.0 / DT)):
        penetration = float(np.sum(controller.q_ref - wall)) / 2.0
        # A stiffer contact than modelled and a target above the finger's limit.
        force = max(0.0, KP * penetration / 0.01)
        controller.step(DT, wall, force, 20.0, g, 1.0)
    assert force <= SPEC.max_force_n * 1.05


def test_move_to_is_speed_limited() -> None:
    controller = finger()
    controller.hold(np.zeros(2))
    controller.move_to(np.array([1.0, 0.5]), 2.0)
    controller.step(0.1, np.zeros(2), 0.0, 0.0, None, 1.0)
    np.testing.assert_allclose(controller.q_ref, [0.2, 0.2])
    for _ in range(10):
        controller.step(0.1, controller.q_ref, 0.0, 0.0, None, 1.0)
    np.testing.assert_allclose(controller.q_ref, [1.0, 0.5])
    assert controller.done_moving


def test_bad_parameters_raise() -> None:
    with pytest.raises(DexterousHandCtrlError, match="stall_time_s"):
        FingerParams(stall_time_s=0.0)
    with pytest.raises(DexterousHandCtrlError, match="kp"):
        FingerController(SPEC, LOWER, UPPER, 0.0)
