"""Tests of the fetch-the-object state machine (no ROS graph needed)."""

import pytest

from humanoid_brain.core.fetch_fsm import (
    FetchConfig,
    FetchInputs,
    FetchState,
    FetchStateMachine,
)
from humanoid_brain.errors import HumanoidBrainError

NOTHING = FetchInputs()
CONFIG = FetchConfig(
    wait_target_timeout_s=5.0,
    approach_timeout_s=10.0,
    grasp_timeout_s=4.0,
    lift_timeout_s=2.0,
    max_retries=2,
)


def test_happy_path():
    fsm = FetchStateMachine(CONFIG)
    steps = [
        (0.0, NOTHING, FetchState.WAIT_TARGET),
        (1.0, FetchInputs(target_visible=True), FetchState.APPROACH),
        (5.0, NOTHING, FetchState.APPROACH),
        (6.0, FetchInputs(approach_done=True), FetchState.GRASP),
        (7.0, FetchInputs(grasp_succeeded=True), FetchState.LIFT),
        (8.0, FetchInputs(lift_done=True), FetchState.DONE),
        (100.0, NOTHING, FetchState.DONE),  # final: no timeout
    ]
    for t, inputs, expected in steps:
        out = fsm.step(inputs, t)
        assert out.state is expected, (t, out)
    assert out.failures == 0
    assert not out.changed


def test_outputs_report_transition_and_entry_time():
    fsm = FetchStateMachine(CONFIG)
    fsm.step(NOTHING, 2.0)
    out = fsm.step(FetchInputs(target_visible=True), 3.5)
    assert out.changed and out.reason == "target visible"
    assert (out.previous_state, out.state, out.entered_at_s) == (
        FetchState.WAIT_TARGET,
        FetchState.APPROACH,
        3.5,
    )


def test_timeouts_retry_then_abort_after_max_retries():
    fsm = FetchStateMachine(CONFIG)
    t = 0.0
    fsm.step(NOTHING, t)
    for attempt in range(1, CONFIG.max_retries + 2):
        assert fsm.step(FetchInputs(target_visible=True), t).state is FetchState.APPROACH
        t += CONFIG.approach_timeout_s  # exactly at the limit: not yet a timeout
        assert fsm.step(NOTHING, t).state is FetchState.APPROACH
        t += 0.01
        out = fsm.step(NOTHING, t)
        assert out.failures == attempt
        assert "APPROACH timed out" in out.reason
        if attempt <= CONFIG.max_retries:
            assert out.state is FetchState.WAIT_TARGET
            assert f"retry {attempt} of {CONFIG.max_retries}" in out.reason
        else:
            assert out.state is FetchState.ABORTED
            assert "giving up" in out.reason
    assert fsm.step(FetchInputs(target_visible=True), t + 1.0).state is FetchState.ABORTED


def test_grasp_failure_and_drop_count_as_failed_attempts():
    fsm = FetchStateMachine(FetchConfig(max_retries=1))
    fsm.step(FetchInputs(target_visible=True), 0.0)
    fsm.step(FetchInputs(approach_done=True), 1.0)
    out = fsm.step(FetchInputs(grasp_failed=True), 2.0)
    assert (out.state, out.failures) == (FetchState.WAIT_TARGET, 1)
    fsm.step(FetchInputs(target_visible=True), 3.0)
    fsm.step(FetchInputs(approach_done=True), 4.0)
    fsm.step(FetchInputs(grasp_succeeded=True), 5.0)
    out = fsm.step(FetchInputs(object_dropped=True), 6.0)
    assert (out.state, out.failures) == (FetchState.ABORTED, 2)


def test_no_target_aborts_without_retry():
    fsm = FetchStateMachine(CONFIG)
    fsm.step(NOTHING, 10.0)  # the clock starts at the first step
    assert fsm.step(NOTHING, 15.0).state is FetchState.WAIT_TARGET
    out = fsm.step(NOTHING, 15.1)
    assert out.state is FetchState.ABORTED and "WAIT_TARGET timed out" in out.reason


@pytest.mark.parametrize(
    "path",
    [
        [],
        [FetchInputs(target_visible=True)],
        [FetchInputs(target_visible=True), FetchInputs(approach_done=True)],
        [
            FetchInputs(target_visible=True),
            FetchInputs(approach_done=True),
            FetchInputs(grasp_succeeded=True),
        ],
    ],
)
def test_abort_from_any_state(path):
    fsm = FetchStateMachine(CONFIG)
    for i, inputs in enumerate(path):
        fsm.step(inputs, float(i))
    before = fsm.state
    # An abort request wins over an event arriving in the same step.
    out = fsm.step(FetchInputs(abort_requested=True, lift_done=True, approach_done=True), 9.0)
    assert out.state is FetchState.ABORTED and out.previous_state is before
    assert f"abort requested in {before.value}" == out.reason


def test_event_wins_over_timeout_and_reset_starts_over():
    fsm = FetchStateMachine(CONFIG)
    fsm.step(NOTHING, 0.0)
    assert fsm.step(FetchInputs(target_visible=True), 50.0).state is FetchState.APPROACH
    fsm.step(FetchInputs(abort_requested=True), 51.0)
    fsm.reset()
    out = fsm.step(NOTHING, 1.0)  # after reset the clock may restart
    assert (out.state, out.failures) == (FetchState.WAIT_TARGET, 0)


def test_time_going_backwards_raises():
    fsm = FetchStateMachine(CONFIG)
    fsm.step(NOTHING, 5.0)
    with pytest.raises(HumanoidBrainError, match="before the previous step"):
        fsm.step(NOTHING, 4.0)
    with pytest.raises(HumanoidBrainError, match="finite"):
        fsm.step(NOTHING, float("nan"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grasp_timeout_s": 0.0}, "grasp_timeout_s"),
        ({"lift_timeout_s": float("inf")}, "lift_timeout_s"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
    ],
)
def test_invalid_config_raises(kwargs, match):
    with pytest.raises(HumanoidBrainError, match=match):
        FetchConfig(**kwargs)
