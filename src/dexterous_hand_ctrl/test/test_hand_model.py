"""Tests of the Dex3 hand kinematics on the G1 URDF from example-robot-data (no ROS graph)."""

import copy

import numpy as np
import pytest

from dexterous_hand_ctrl.core.hand_model import (
    RIGHT_DEX3,
    HandModel,
    find_example_robot_data_dir,
    g1_urdf_path,
)
from dexterous_hand_ctrl.errors import DexterousHandCtrlError


@pytest.fixture(scope="module")
def hand() -> HandModel:
    return HandModel(RIGHT_DEX3)


def test_joints_and_limits_come_from_the_urdf(hand):
    assert hand.finger_names == ("thumb", "index", "middle")
    assert hand.joint_names[:3] == (
        "right_hand_thumb_0_joint",
        "right_hand_thumb_1_joint",
        "right_hand_thumb_2_joint",
    )
    assert hand.model.nq == 7
    limits = dict(zip(hand.joint_names, zip(hand.lower, hand.upper, strict=True), strict=True))
    np.testing.assert_allclose(limits["right_hand_thumb_0_joint"], [-1.04719755, 1.04719755])
    np.testing.assert_allclose(limits["right_hand_thumb_2_joint"], [-1.74532925, 0.0])
    np.testing.assert_allclose(limits["right_hand_index_0_joint"], [0.0, 1.57079632])
    np.testing.assert_allclose(limits["right_hand_middle_1_joint"], [0.0, 1.74532925])


def test_open_hand_geometry(hand):
    tips = hand.fingertip_positions(np.zeros(7))
    # Straight fingers: palm->finger base 0.0777 m, proximal 0.0458 m, tip point 0.05 m.
    np.testing.assert_allclose(tips["index"], [0.0777 + 0.0458 + 0.05, -0.0016, 0.0285])
    np.testing.assert_allclose(tips["middle"], [0.0777 + 0.0458 + 0.05, -0.0016, -0.0285])


@pytest.mark.parametrize("seed", range(4))
def test_jacobian_matches_finite_differences(hand, seed):
    rng = np.random.default_rng(seed)
    q = rng.uniform(hand.lower, hand.upper)
    h = 1e-6
    for finger in hand.finger_names:
        jac = hand.fingertip_jacobian(q, finger)
        numeric = np.zeros_like(jac)
        for j in range(len(q)):
            dq = np.zeros_like(q)
            dq[j] = h
            plus = hand.fingertip_positions(q + dq)[finger]
            minus = hand.fingertip_positions(q - dq)[finger]
            numeric[:, j] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(jac, numeric, atol=1e-8)
        # A fingertip only depends on its own finger's joints.
        spec = next(f for f in hand.fingers if f.name == finger)
        own = [hand.joint_names.index(j) for j in spec.joints]
        others = np.setdiff1d(np.arange(len(q)), own)
        assert np.all(jac[:, others] == 0.0)


def test_closed_hand_fingertips_are_closer_to_the_palm(hand):
    q_open, q_half, q_closed = hand.posture(0.0), hand.posture(0.5), hand.posture(1.0)
    assert np.all(q_closed >= hand.lower) and np.all(q_closed <= hand.upper)
    d_open = {k: np.linalg.norm(v) for k, v in hand.fingertip_positions(q_open).items()}
    d_half = {k: np.linalg.norm(v) for k, v in hand.fingertip_positions(q_half).items()}
    d_closed = {k: np.linalg.norm(v) for k, v in hand.fingertip_positions(q_closed).items()}
    for finger in hand.finger_names:
        assert d_closed[finger] < d_half[finger] < d_open[finger], finger


def test_closing_brings_thumb_and_index_together(hand):
    def gap(closure):
        tips = hand.fingertip_positions(hand.posture(closure))
        return np.linalg.norm(tips["thumb"] - tips["index"])

    assert gap(0.5) < gap(0.0)


def test_bad_inputs_raise(hand):
    with pytest.raises(DexterousHandCtrlError, match=r"expected \(7,\)"):
        hand.fingertip_positions(np.zeros(6))
    with pytest.raises(DexterousHandCtrlError, match="'pinky' is unknown"):
        hand.fingertip_jacobian(np.zeros(7), "pinky")
    with pytest.raises(DexterousHandCtrlError, match="closure"):
        hand.posture(1.5)


def test_description_errors_name_the_problem():
    bad = copy.deepcopy(RIGHT_DEX3)
    bad["fingers"]["index"]["joints"][0] = "right_hand_index_9_joint"
    with pytest.raises(DexterousHandCtrlError, match="right_hand_index_9_joint"):
        HandModel(bad)
    bad = copy.deepcopy(RIGHT_DEX3)
    bad["fingers"]["thumb"]["close_direction"] = [1, 1]
    with pytest.raises(DexterousHandCtrlError, match="close_direction"):
        HandModel(bad)
    bad = copy.deepcopy(RIGHT_DEX3)
    bad["fingers"]["middle"]["tip_link"] = "right_hand_middle_7_link"
    with pytest.raises(DexterousHandCtrlError, match="right_hand_middle_7_link"):
        HandModel(bad)


def test_robot_data_lookup(monkeypatch, tmp_path):
    assert g1_urdf_path().is_file()
    monkeypatch.setenv("EXAMPLE_ROBOT_DATA_DIR", str(tmp_path))
    assert find_example_robot_data_dir() == tmp_path
    with pytest.raises(DexterousHandCtrlError, match="does not exist"):
        g1_urdf_path()
    monkeypatch.setenv("EXAMPLE_ROBOT_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(DexterousHandCtrlError, match="EXAMPLE_ROBOT_DATA_DIR"):
        find_example_robot_data_dir()
