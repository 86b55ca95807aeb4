"""Hand descriptions from the robot YAML (G1 both hands, Allegro) and goal validation."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from dexterous_hand_ctrl.core.goal import GoalRejected, make_goal
from dexterous_hand_ctrl.core.hand_description import hand_from_dict, load_hand_description
from dexterous_hand_ctrl.errors import DexterousHandCtrlError

ROOT = Path(__file__).resolve().parents[3]
G1 = ROOT / "config" / "robots" / "g1_dex3.yaml"


@pytest.fixture(scope="module")
def right():
    return load_hand_description(G1, "right_hand")


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(G1.read_text())


def test_both_g1_hands_and_their_libraries(right) -> None:
    left = load_hand_description(G1, "left_hand")
    for hand in (right, left):
        assert set(hand.grasps) >= {"power", "pinch", "tripod", "lateral"}
        assert hand.arm is not None and len(hand.arm.joints) == 7
        assert hand.pad_to_finger()[f"{hand.name.split('_')[0]}_thumb_tip"] == "thumb"
    # Mirrored: the same grasp closes the mirrored joints the other way.
    assert right.fingers[1].close_direction == (1, 1)
    assert left.fingers[1].close_direction == (-1, -1)


def test_pads_of_the_grasp_library_exist_in_the_skin(raw, right) -> None:
    skin = {p["name"] for p in raw["tactile"][right.skin]["pads"]}
    for grasp in right.grasps.values():
        assert set(grasp.pads) <= skin


def bad(raw, edit):
    data = copy.deepcopy(raw["hands"]["right_hand"])
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d["fingers"]["index"].pop("tip_link"), "tip_link"),
        (lambda d: d["fingers"]["middle"]["pads"].append("right_index_tip"), "belong to two"),
        (lambda d: d["grasps"]["pinch"]["fingers"].update(ring=0.5), "unknown finger 'ring'"),
        (lambda d: d["grasps"]["pinch"]["fingers"].update(thumb=0.9), "sum to"),
        (
            lambda d: d["grasps"]["pinch"]["preshape"].update(right_hand_index_0_joint=3.0),
            "outside the joint limits",
        ),
        (
            lambda d: d["grasps"]["pinch"].update(
                palm_axes_in_grasp={"x": [1, 0, 0], "y": [1, 0, 0], "z": [0, 0, 1]}
            ),
            "orthonormal",
        ),
        (lambda d: d["grasps"]["pinch"].update(closing={"middle": [1]}), "closing.middle"),
        (lambda d: d["grasps"]["pinch"].update(pads=["right_index_tip"]), "none of its pads"),
        (lambda d: d["arm"]["ik_limits"].update(right_knee_joint=[0, 1]), "ik_limits"),
        (lambda d: d.update(max_total_force_n=-1), "max_total_force_n"),
        (lambda d: d.update(finger_gains=[2.0]), "finger_gains"),
        (lambda d: d["arm"].update(home_posture=[0.0] * 6), "home_posture"),
        (lambda d: d["arm"].update(home_posture=[math.nan] * 7), "home_posture"),
    ],
)
def test_description_errors_name_the_problem(raw, right, edit, named) -> None:
    with pytest.raises(DexterousHandCtrlError, match=named):
        hand_from_dict("right_hand", bad(raw, edit), right.urdf_path)


def test_arm_home_posture_from_stand_posture_or_its_own(raw, right) -> None:
    stand = raw["stand_posture"]
    assert np.allclose(right.arm.home_posture, [stand.get(j, 0.0) for j in right.arm.joints])
    assert right.arm.home_posture[1] == pytest.approx(-0.30)  # shoulder roll, off the torso
    own = bad(raw, lambda d: d["arm"].update(home_posture=[0.1] * 7))
    hand = hand_from_dict("right_hand", own, right.urdf_path, stand_posture=stand)
    assert np.allclose(hand.arm.home_posture, 0.1)
    # Neither: a release leaves the arm where it retracted.
    assert (
        hand_from_dict("right_hand", bad(raw, lambda d: None), right.urdf_path).arm.home_posture
        is None
    )


def test_unknown_hand_is_named() -> None:
    with pytest.raises(DexterousHandCtrlError, match="no hand 'third_hand'"):
        load_hand_description(G1, "third_hand")


def goal(hand, **changes):
    fields = dict(
        grasp_type="pinch",
        target_force_n=8.0,
        max_force_n=20.0,
        position=(0.3, -0.14, 0.02),
        quaternion_wxyz=(1.0, 0.0, 0.0, 0.0),
        extents=(0.05, 0.05, 0.05),
        lift_height_m=0.1,
        release=False,
    )
    fields.update(changes)
    return make_goal(hand, **fields)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"grasp_type": "claw"}, "unknown grasp type 'claw'"),
        ({"target_force_n": 0.0}, "target_force_n"),
        ({"target_force_n": -2.0}, "target_force_n"),
        ({"target_force_n": math.nan}, "target_force_n"),
        ({"target_force_n": 25.0}, "target_force_n = 25.0"),
        ({"max_force_n": 31.0}, "max_force_n"),
        ({"position": (math.nan, 0.0, 0.0)}, "non-finite"),
        ({"quaternion_wxyz": (0.0, 0.0, 0.0, 0.0)}, "unit quaternion"),
        ({"quaternion_wxyz": (1.0, math.inf, 0.0, 0.0)}, "non-finite"),
        ({"extents": (0.05, -0.01, 0.05)}, "object_size"),
        ({"lift_height_m": 2.0}, "lift_height_m"),
    ],
)
def test_bad_goals_are_rejected_with_a_reason(right, changes, named) -> None:
    with pytest.raises(GoalRejected, match=named):
        goal(right, **changes)


def test_goal_defaults(right) -> None:
    accepted = goal(right, max_force_n=0.0, extents=(0.0, 0.0, 0.06))
    assert accepted.max_force_n == right.max_total_force_n
    np.testing.assert_allclose(accepted.obj.extents, [0.05, 0.05, 0.06])
    assert goal(right, grasp_type="nonsense", release=True).release
