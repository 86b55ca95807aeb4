"""Slip reflex (Weber raise, ramp, refractory, reafference), safety checks and arm limits."""

from __future__ import annotations

import numpy as np
import pytest

from dexterous_hand_ctrl.core.safety import SafetyMonitor, SafetyParams, limit_arm_command
from dexterous_hand_ctrl.core.slip_reflex import GripForce, SlipReflexParams
from dexterous_hand_ctrl.errors import DexterousHandCtrlError

DT = 0.002


def settled_grip(target=5.0, limit=20.0, **params) -> tuple[GripForce, float]:
    grip = GripForce(target, limit, SlipReflexParams(**params))
    grip.start(0.0, 0.0)
    t = 0.0
    while t < 0.5:
        t += DT
        grip.step(t, 0, True)
    return grip, t


def test_slip_raises_by_the_weber_fraction_in_the_same_step() -> None:
    grip, t = settled_grip(weber_fraction=0.3)
    assert grip.command_n == pytest.approx(5.0)
    assert grip.step(t + DT, 1, True)
    assert grip.target_n == pytest.approx(6.5)
    # The command follows within the reflex ramp (15 ms < 20 ms).
    for k in range(2, 10):
        grip.step(t + k * DT, 0, True)
    assert grip.command_n == pytest.approx(6.5)


def test_events_during_own_force_changes_and_refractory_do_not_raise() -> None:
    grip, t = settled_grip()
    grip.step(t + DT, 1, True)
    raised = grip.target_n
    grip.step(t + 2 * DT, 1, True)  # during the ramp: self-caused
    assert grip.target_n == raised
    assert grip.events == 2
    # Disabled (squeeze phase): counted, no raise.
    later = t + 1.0
    grip.step(later, 0, True)
    grip.step(later + DT, 1, False)
    assert grip.target_n == raised and grip.events == 3


def test_target_never_exceeds_the_fraction_of_the_limit() -> None:
    grip, t = settled_grip(target=5.0, limit=10.0, max_fraction=0.8)
    for k in range(200):
        grip.step(t + k * 0.05, 1, True)
    assert grip.target_n == pytest.approx(8.0)
    assert grip.command_n <= 8.0 + 1e-9


def test_grip_and_reflex_parameters_are_checked() -> None:
    with pytest.raises(DexterousHandCtrlError, match="target"):
        GripForce(0.0, 10.0)
    with pytest.raises(DexterousHandCtrlError, match="weber_fraction"):
        SlipReflexParams(weber_fraction=-0.1)
    with pytest.raises(DexterousHandCtrlError, match="max_fraction"):
        SlipReflexParams(max_fraction=1.5)


def test_stale_and_invalid_inputs_are_named() -> None:
    monitor = SafetyMonitor(SafetyParams(stale_joint_s=0.05, stale_tactile_s=0.05))
    assert monitor.check_inputs(1.0, 0.99, True, 0.99, True) is None
    assert "stale joint states (100 ms" in monitor.check_inputs(1.0, 0.9, True, 0.99, True)
    assert "never received" in monitor.check_inputs(1.0, None, True, 0.99, True)
    assert "invalid joint states" in monitor.check_inputs(1.0, 0.99, False, 0.99, True)
    assert "stale tactile" in monitor.check_inputs(1.0, 0.99, True, 0.8, True)
    assert monitor.check_inputs(1.0, 0.99, True, None, False) is None


def test_over_force_and_contact_loss_need_to_last() -> None:
    monitor = SafetyMonitor(SafetyParams(overforce_time_s=0.05, contact_lost_s=0.1))
    limits = {"thumb": 10.0, "index": 10.0}
    assert monitor.check_forces(0.0, {"thumb": 12.0, "index": 1.0}, limits, 30.0) is None
    reason = monitor.check_forces(0.06, {"thumb": 12.0, "index": 1.0}, limits, 30.0)
    assert reason is not None and "finger thumb force 12.0 N" in reason
    assert monitor.check_forces(0.07, {"thumb": 5.0, "index": 5.0}, limits, 30.0) is None
    total = {"thumb": 9.0, "index": 9.0}
    monitor.check_forces(1.0, total, limits, 15.0)
    assert "total force 18.0 N" in monitor.check_forces(1.1, total, limits, 15.0)
    assert monitor.check_contact(2.0, {"thumb": 0.0, "index": 3.0}) is None
    assert "contact lost on finger thumb" in monitor.check_contact(2.11, {"thumb": 0.0})
    assert monitor.check_timeout(5.0, "CLOSE", 0.0) is not None
    assert monitor.check_timeout(1.0, "CLOSE", 0.0) is None


@pytest.mark.parametrize("seed", range(3))
def test_arm_command_respects_joint_and_velocity_limits(seed) -> None:
    rng = np.random.default_rng(seed)
    lower, upper = -np.ones(7), np.ones(7)
    q = np.zeros(7)
    for _ in range(500):
        desired = rng.uniform(-3, 3, size=7)
        dt = rng.uniform(0.0, 0.01)
        new = limit_arm_command(q, desired, lower, upper, 1.5, dt)
        assert np.all(np.abs(new - q) <= 1.5 * dt + 1e-12)
        assert np.all(new >= lower) and np.all(new <= upper)
        q = new
