"""Tests of the joint command multiplexer: validation, all-or-nothing rejection, hold, PD law."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_sim.core.command_mux import CommandDelayLine, JointCommandMux
from humanoid_sim.errors import CommandRejected, SimError

JOINTS = ("hip", "knee", "ankle", "shoulder", "elbow")


@pytest.fixture
def mux() -> JointCommandMux:
    mux = JointCommandMux(JOINTS, max_kp=500.0, max_kd=20.0)
    # A known non-zero starting state, as after a stand hold.
    mux.submit(
        0.0,
        name=list(JOINTS),
        position=[0.1, 0.2, 0.3, 0.4, 0.5],
        velocity=[0.01, 0.02, 0.03, 0.04, 0.05],
        effort=[1.0, 2.0, 3.0, 4.0, 5.0],
        kp=[100.0, 110.0, 120.0, 130.0, 140.0],
        kd=[1.0, 1.1, 1.2, 1.3, 1.4],
    )
    return mux


def _snapshot(mux: JointCommandMux) -> dict:
    return {
        field: getattr(mux, field).copy()
        for field in ("position", "velocity", "effort", "kp", "kd", "last_update")
    }


def test_initial_state_is_zero_and_passive():
    mux = JointCommandMux(JOINTS)
    ctrl, bias_kp, bias_kd = mux.actuator_inputs()
    assert np.all(ctrl == 0) and np.all(bias_kp == 0) and np.all(bias_kd == 0)
    assert mux.accepted == 0 and mux.rejected == 0 and mux.last_rejection == ""
    assert np.all(np.isneginf(mux.last_update))


def test_valid_command_is_applied_to_its_joints_only(mux):
    before = _snapshot(mux)
    targets = mux.submit(
        2.5,
        name=["elbow", "hip"],
        position=[-1.0, 0.7],
        velocity=[0.5, -0.5],
        effort=[3.0, -3.0],
        kp=[200.0, 0.0],
        kd=[20.0, 0.0],
    )
    np.testing.assert_array_equal(targets.index, [4, 0])
    np.testing.assert_array_equal(mux.position, [0.7, 0.2, 0.3, 0.4, -1.0])
    np.testing.assert_array_equal(mux.velocity, [-0.5, 0.02, 0.03, 0.04, 0.5])
    np.testing.assert_array_equal(mux.effort, [-3.0, 2.0, 3.0, 4.0, 3.0])
    np.testing.assert_array_equal(mux.kp, [0.0, 110.0, 120.0, 130.0, 200.0])
    np.testing.assert_array_equal(mux.kd, [0.0, 1.1, 1.2, 1.3, 20.0])
    np.testing.assert_array_equal(mux.last_update, [2.5, 0.0, 0.0, 0.0, 2.5])
    # Untouched joints hold their previous targets exactly.
    for field, values in before.items():
        np.testing.assert_array_equal(getattr(mux, field)[1:4], values[1:4], err_msg=field)
    assert mux.accepted == 2 and mux.rejected == 0


def test_empty_optional_fields_default(mux):
    mux.submit(1.0, name=["knee", "ankle"], position=[-0.2, -0.3])
    # Velocity and effort default to zero ...
    np.testing.assert_array_equal(mux.velocity[[1, 2]], [0.0, 0.0])
    np.testing.assert_array_equal(mux.effort[[1, 2]], [0.0, 0.0])
    # ... kp and kd keep each joint's current gain.
    np.testing.assert_array_equal(mux.kp[[1, 2]], [110.0, 120.0])
    np.testing.assert_array_equal(mux.kd[[1, 2]], [1.1, 1.2])
    np.testing.assert_array_equal(mux.position[[1, 2]], [-0.2, -0.3])
    # Tuples and numpy arrays are accepted like lists.
    mux.submit(1.5, name=("hip",), position=np.array([0.9]), kp=np.array([50.0]), kd=())
    assert mux.position[0] == 0.9 and mux.kp[0] == 50.0 and mux.kd[0] == 1.0


BAD_COMMANDS = [
    ("unknown joint", dict(name=["hip", "wing"], position=[0.0, 0.0]), "unknown joints"),
    ("empty names", dict(name=[], position=[]), "empty command"),
    ("duplicate names", dict(name=["hip", "knee", "hip"], position=[0, 0, 0]), "duplicate"),
    ("position too short", dict(name=["hip", "knee"], position=[0.0]), "'position' has 1"),
    ("position empty", dict(name=["hip"], position=[]), "'position' has 0"),
    (
        "velocity too long",
        dict(name=["hip"], position=[0.0], velocity=[0.0, 1.0]),
        "'velocity' has 2",
    ),
    ("effort mismatch", dict(name=["hip", "knee"], position=[0, 0], effort=[1.0]), "'effort'"),
    ("kp mismatch", dict(name=["hip", "knee"], position=[0, 0], kp=[1.0, 2.0, 3.0]), "'kp'"),
    ("kd mismatch", dict(name=["hip", "knee"], position=[0, 0], kd=[1.0]), "'kd'"),
    ("nan position", dict(name=["hip", "knee"], position=[0.0, np.nan]), "'position'.*'knee'"),
    ("inf position", dict(name=["hip"], position=[np.inf]), "'position'.*'hip'"),
    (
        "nan velocity",
        dict(name=["hip", "knee"], position=[0, 0], velocity=[np.nan, 0]),
        "'velocity'.*'hip'",
    ),
    ("-inf effort", dict(name=["knee"], position=[0], effort=[-np.inf]), "'effort'"),
    ("nan kp", dict(name=["knee", "hip"], position=[0, 0], kp=[1.0, np.nan]), "'kp'.*'hip'"),
    ("inf kd", dict(name=["knee"], position=[0], kd=[np.inf]), "'kd'"),
    ("negative kp", dict(name=["hip", "knee"], position=[0, 0], kp=[10.0, -1.0]), "kp must"),
    ("too large kp", dict(name=["hip"], position=[0], kp=[500.001]), "kp must be in"),
    ("negative kd", dict(name=["hip"], position=[0], kd=[-0.1]), "kd must"),
    ("too large kd", dict(name=["hip", "knee"], position=[0, 0], kd=[1.0, 20.5]), "kd must"),
]


@pytest.mark.parametrize(
    ("command", "message"),
    [pytest.param(c, m, id=i) for i, c, m in BAD_COMMANDS],
)
def test_bad_command_is_rejected_as_a_whole(mux, command, message):
    before = _snapshot(mux)
    with pytest.raises(CommandRejected, match=message) as caught:
        mux.submit(9.0, **command)
    assert isinstance(caught.value, SimError)
    for field, values in before.items():
        np.testing.assert_array_equal(getattr(mux, field), values, err_msg=field)
    assert mux.rejected == 1
    assert mux.accepted == 1
    assert mux.last_rejection == str(caught.value)
    assert mux.last_rejection


def test_rejections_are_counted_and_the_mux_keeps_working(mux):
    for attempt in range(3):
        with pytest.raises(CommandRejected):
            mux.submit(1.0, name=["hip"], position=[np.nan])
        assert mux.rejected == attempt + 1
    with pytest.raises(CommandRejected):
        mux.submit(1.0, name=["nose"], position=[0.0])
    assert mux.rejected == 4
    assert "nose" in mux.last_rejection
    mux.submit(2.0, name=["hip"], position=[0.25])
    assert mux.position[0] == 0.25 and mux.accepted == 2
    # A later success does not clear the record of the last rejection.
    assert "nose" in mux.last_rejection


def test_limits_are_inclusive(mux):
    mux.submit(1.0, name=["hip", "knee"], position=[0, 0], kp=[0.0, 500.0], kd=[20.0, 0.0])
    np.testing.assert_array_equal(mux.kp[:2], [0.0, 500.0])
    np.testing.assert_array_equal(mux.kd[:2], [20.0, 0.0])


def test_validate_does_not_apply(mux):
    before = _snapshot(mux)
    targets = mux.validate(name=["ankle"], position=[1.0], kp=[5.0])
    assert targets.position.tolist() == [1.0] and targets.kp.tolist() == [5.0]
    for field, values in before.items():
        np.testing.assert_array_equal(getattr(mux, field), values, err_msg=field)
    assert mux.accepted == 1


def test_actuator_inputs_implement_the_pd_law():
    rng = np.random.default_rng(42)
    names = [f"j{i}" for i in range(30)]
    mux = JointCommandMux(names, max_kp=2000.0, max_kd=100.0)
    for trial in range(20):
        count = int(rng.integers(1, len(names) + 1))
        chosen = rng.choice(names, size=count, replace=False)
        mux.submit(
            float(trial),
            name=list(chosen),
            position=rng.uniform(-3, 3, count),
            velocity=rng.uniform(-10, 10, count),
            effort=rng.uniform(-50, 50, count),
            kp=rng.uniform(0, 2000, count),
            kd=rng.uniform(0, 100, count),
        )
        q = rng.uniform(-3, 3, len(names))
        dq = rng.uniform(-10, 10, len(names))
        ctrl, bias_kp, bias_kd = mux.actuator_inputs()
        np.testing.assert_array_equal(bias_kp, -mux.kp)
        np.testing.assert_array_equal(bias_kd, -mux.kd)
        # MuJoCo's affine actuator: force = gain * ctrl + bias0 + bias1 * q + bias2 * dq.
        actuator_force = ctrl + bias_kp * q + bias_kd * dq
        expected = mux.effort + mux.kp * (mux.position - q) + mux.kd * (mux.velocity - dq)
        np.testing.assert_allclose(actuator_force, expected, rtol=1e-12, atol=1e-9)
    assert mux.accepted == 20


def test_the_delay_line_releases_by_stamp_whatever_the_arrival_order() -> None:
    mux = JointCommandMux(["a", "b"])
    line = CommandDelayLine()

    def targets(value: float):
        return mux.check(name=["a"], position=[value])

    line.hold(30, targets(3.0))
    line.hold(10, targets(1.0))
    line.hold(20, targets(2.0))
    line.hold(10, targets(1.5))  # the same stamp again: after the first, in arrival order
    assert line.release(5) == []
    assert [t.position[0] for t in line.release(20)] == [1.0, 1.5, 2.0]
    assert len(line) == 1
    assert line.release(20) == []
    line.clear()
    assert line.release(10**9) == [] and len(line) == 0


def test_check_counts_a_rejection_and_applies_nothing() -> None:
    mux = JointCommandMux(["a", "b"])
    with pytest.raises(CommandRejected, match="non-finite"):
        mux.check(name=["a"], position=[float("nan")])
    assert mux.rejected == 1 and mux.accepted == 0
    assert mux.position[0] == 0.0
