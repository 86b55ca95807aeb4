"""The optional stages of the fetch state machine (SETTLE, HOLD, RECOVER), target loss, and
invariants over random event sequences (no ROS graph)."""

import numpy as np
import pytest

from humanoid_brain.core.fetch_fsm import (
    FINAL_STATES,
    TRANSITIONS,
    FetchConfig,
    FetchInputs,
    FetchState,
    FetchStateMachine,
)
from humanoid_brain.errors import HumanoidBrainError

NOTHING = FetchInputs()
STAGED = FetchConfig(
    wait_target_timeout_s=5.0,
    approach_timeout_s=10.0,
    grasp_timeout_s=4.0,
    lift_timeout_s=2.0,
    max_retries=2,
    settle_timeout_s=3.0,
    hold_s=1.5,
    recover_timeout_s=2.0,
)


def run(fsm, steps):
    out = None
    for t, inputs in steps:
        out = fsm.step(inputs, t)
    return out


def test_staged_happy_path():
    fsm = FetchStateMachine(STAGED)
    expected = [
        (0.0, NOTHING, FetchState.WAIT_TARGET),
        (0.5, FetchInputs(target_visible=True), FetchState.APPROACH),
        (4.0, FetchInputs(approach_done=True), FetchState.SETTLE),
        (4.5, FetchInputs(standing=True), FetchState.GRASP),
        (6.0, FetchInputs(grasp_succeeded=True), FetchState.LIFT),
        (7.0, FetchInputs(lift_done=True), FetchState.HOLD),
        (8.4, NOTHING, FetchState.HOLD),  # held 1.4 s < 1.5 s
        (8.5, NOTHING, FetchState.DONE),
    ]
    for t, inputs, state in expected:
        assert fsm.step(inputs, t).state is state, t
    assert fsm.failures == 0


def test_failure_with_the_hand_recovers_before_retrying():
    fsm = FetchStateMachine(STAGED)
    run(fsm, [(0, FetchInputs(target_visible=True)), (1, FetchInputs(approach_done=True))])
    run(fsm, [(2, FetchInputs(standing=True))])
    out = fsm.step(FetchInputs(grasp_failed=True), 3.0)
    assert (out.state, out.failures) == (FetchState.RECOVER, 1)
    assert "grasp failed; retry 1 of 2" in out.reason
    out = fsm.step(FetchInputs(released=True), 3.5)
    assert out.state is FetchState.WAIT_TARGET and out.reason == "hand released"
    # Re-detect, re-approach (already there), re-grasp.
    run(fsm, [(4, FetchInputs(target_visible=True)), (4.1, FetchInputs(approach_done=True))])
    assert run(fsm, [(4.2, FetchInputs(standing=True))]).state is FetchState.GRASP


def test_drop_while_holding_recovers_and_release_failure_aborts():
    fsm = FetchStateMachine(STAGED)
    for t, inputs in [
        (0, FetchInputs(target_visible=True)),
        (1, FetchInputs(approach_done=True)),
        (2, FetchInputs(standing=True)),
        (3, FetchInputs(grasp_succeeded=True)),
        (4, FetchInputs(lift_done=True)),
    ]:
        fsm.step(inputs, t)
    out = fsm.step(FetchInputs(object_dropped=True), 4.5)
    assert out.state is FetchState.RECOVER and "object dropped" in out.reason
    out = fsm.step(FetchInputs(release_failed=True), 5.0)
    assert out.state is FetchState.ABORTED and "hand's state is unknown" in out.reason


def test_recover_timeout_aborts():
    fsm = FetchStateMachine(STAGED)
    run(fsm, [(0, FetchInputs(target_visible=True)), (1, FetchInputs(approach_done=True))])
    run(fsm, [(2, FetchInputs(standing=True)), (3, FetchInputs(grasp_failed=True))])
    assert fsm.step(NOTHING, 5.0).state is FetchState.RECOVER  # 2.0 s: at the limit
    out = fsm.step(NOTHING, 5.01)
    assert out.state is FetchState.ABORTED and "RECOVER timed out" in out.reason


@pytest.mark.parametrize("stage", ["approach", "settle"])
def test_target_lost_while_walking_or_settling_retries_without_recover(stage):
    fsm = FetchStateMachine(STAGED)
    fsm.step(FetchInputs(target_visible=True), 0.0)
    if stage == "settle":
        fsm.step(FetchInputs(approach_done=True), 1.0)
    out = fsm.step(FetchInputs(target_lost=True), 2.0)
    assert (out.state, out.failures) == (FetchState.WAIT_TARGET, 1)
    assert out.reason.startswith("target lost")


def test_target_lost_is_ignored_once_grasping():
    fsm = FetchStateMachine(STAGED)
    run(fsm, [(0, FetchInputs(target_visible=True)), (1, FetchInputs(approach_done=True))])
    run(fsm, [(2, FetchInputs(standing=True))])
    assert fsm.step(FetchInputs(target_lost=True), 2.5).state is FetchState.GRASP


def test_settle_timeout_is_a_failure_and_abort_carries_its_reason():
    fsm = FetchStateMachine(STAGED)
    run(fsm, [(0, FetchInputs(target_visible=True)), (1, FetchInputs(approach_done=True))])
    out = fsm.step(NOTHING, 4.5)
    assert out.state is FetchState.WAIT_TARGET and "SETTLE timed out" in out.reason
    out = fsm.step(FetchInputs(abort_requested=True, abort_reason="robot fell"), 5.0)
    assert out.reason == "abort requested in WAIT_TARGET: robot fell"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"settle_timeout_s": 0.0}, "settle_timeout_s"),
        ({"recover_timeout_s": float("nan")}, "recover_timeout_s"),
        ({"hold_s": -1.0}, "hold_s"),
    ],
)
def test_invalid_stage_config(kwargs, match):
    with pytest.raises(HumanoidBrainError, match=match):
        FetchConfig(**kwargs)


FLAGS = [f for f in FetchInputs.__dataclass_fields__ if f != "abort_reason"]


@pytest.mark.parametrize("config", [FetchConfig(max_retries=1), STAGED], ids=["plain", "staged"])
def test_invariants_over_random_event_sequences(config):
    """Whatever happens: only listed transitions, final states absorb, failures bounded,
    every transition has a reason, retries never exceed the budget."""
    rng = np.random.default_rng(12)
    for _ in range(300):
        fsm = FetchStateMachine(config)
        t, previous = 0.0, FetchState.WAIT_TARGET
        for _ in range(40):
            t += float(rng.exponential(1.5))
            flags = {name: bool(rng.random() < 0.12) for name in FLAGS}
            flags["abort_requested"] = bool(rng.random() < 0.01)
            out = fsm.step(FetchInputs(**flags), t)
            assert out.previous_state is previous
            if out.changed:
                assert out.state in TRANSITIONS[previous], (previous, out)
                assert out.entered_at_s == t
            else:
                assert out.state is previous
            if previous in FINAL_STATES:
                assert out.state is previous and not out.changed
            assert out.failures <= config.max_retries + 1
            if out.state is FetchState.ABORTED and out.changed and "giving up" in out.reason:
                assert out.failures == config.max_retries + 1
            if out.state is FetchState.RECOVER:
                assert config.recover_timeout_s is not None
            previous = out.state
