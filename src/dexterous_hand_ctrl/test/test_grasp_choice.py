"""Which grasp a goal gets: the per-class map of the hand description (``grasp_for_class``),
round objects placed by their radius (``round_classes``), the cradling pinch for spheres, and
the slow final descent and approach of reach paths."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest
import yaml

from dexterous_hand_ctrl.core.cartesian_path import CartesianPath
from dexterous_hand_ctrl.core.goal import GoalRejected, make_goal
from dexterous_hand_ctrl.core.grasp_controller import GraspController
from dexterous_hand_ctrl.core.grasp_planner import ObjectEstimate, candidate_yaws, rotation_z
from dexterous_hand_ctrl.core.hand_description import hand_from_dict, load_hand_description
from dexterous_hand_ctrl.errors import DexterousHandCtrlError

ROOT = Path(__file__).resolve().parents[3]
G1 = ROOT / "config" / "robots" / "g1_dex3.yaml"
TABLE_TOP_IN_PELVIS = -0.0115  # bench table top in the pelvis frame (test_grasp_planner)


@pytest.fixture(scope="module")
def right():
    return load_hand_description(G1, "right_hand")


@pytest.fixture(scope="module")
def raw_right():
    return yaml.safe_load(G1.read_text())["hands"]["right_hand"]


def goal(hand, grasp_type="", object_class=""):
    return make_goal(
        hand,
        grasp_type,
        8.0,
        20.0,
        (0.3, -0.14, 0.02),
        (1.0, 0.0, 0.0, 0.0),
        (0.05, 0.05, 0.05),
        0.1,
        False,
        object_class=object_class,
    )


def test_goal_without_a_grasp_type_gets_the_grasp_of_its_class(right) -> None:
    for hand in (right, load_hand_description(G1, "left_hand")):
        assert goal(hand, object_class="sphere").grasp_type == "cradle_pinch"
        assert goal(hand, object_class="cube").grasp_type == "pinch"
        assert goal(hand, object_class="cylinder").grasp_type == "pinch"
        # Unknown class or none: the hand's default.
        assert goal(hand, object_class="teapot").grasp_type == hand.grasp_for_class["default"]
        assert goal(hand).grasp_type == hand.grasp_for_class["default"]
        # A named grasp type wins over the class.
        assert goal(hand, "power", object_class="sphere").grasp_type == "power"


def test_the_class_map_comes_from_the_yaml(right, raw_right) -> None:
    data = copy.deepcopy(raw_right)
    data["grasp_for_class"] = {"sphere": "tripod"}  # no default
    hand = hand_from_dict("right_hand", data, right.urdf_path)
    assert goal(hand, object_class="sphere").grasp_type == "tripod"
    with pytest.raises(GoalRejected, match="no grasp for object class 'cube'"):
        goal(hand, object_class="cube")
    del data["grasp_for_class"]
    hand = hand_from_dict("right_hand", data, right.urdf_path)
    with pytest.raises(GoalRejected, match="no grasp type given"):
        goal(hand, object_class="sphere")
    assert goal(hand, "pinch", object_class="sphere").grasp_type == "pinch"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"sphere": "claw"}, "grasp_for_class.sphere = 'claw'"),
        (["pinch"], "grasp_for_class = "),
        ({"": "pinch"}, "grasp_for_class."),
    ],
)
def test_a_bad_class_map_is_refused_naming_the_entry(right, raw_right, value, named) -> None:
    data = copy.deepcopy(raw_right)
    data["grasp_for_class"] = value
    with pytest.raises(DexterousHandCtrlError, match=named):
        hand_from_dict("right_hand", data, right.urdf_path)


@pytest.mark.parametrize("value", ["sphere", [""], [3]])
def test_bad_round_classes_are_refused(right, raw_right, value) -> None:
    data = copy.deepcopy(raw_right)
    data["round_classes"] = value
    with pytest.raises(DexterousHandCtrlError, match="round_classes"):
        hand_from_dict("right_hand", data, right.urdf_path)


def test_round_objects_are_placed_by_their_radius_whatever_their_yaw(right) -> None:
    """A ball's box seen diagonally is 1.41 times its diameter deep: placed by the box, a ball
    reported at a 45 deg yaw sat 1.2 cm off the grasp's spot."""
    yawed = (math.cos(math.pi / 8), 0.0, 0.0, math.sin(math.pi / 8))  # 45 deg about z
    spec = right.grasps["pinch"]
    approach = np.array([0.0, 1.0, 0.0])
    depths = {}
    for object_class in ("sphere", "cylinder", "cube"):
        obj = make_goal(
            right,
            "",
            8.0,
            20.0,
            (0.3, -0.14, 0.02),
            yawed,
            (0.06, 0.06, 0.06),
            0.1,
            False,
            object_class=object_class,
        ).obj
        depths[object_class] = obj.half_depth(approach)
        assert obj.round == (object_class in right.round_classes)
    assert set(right.round_classes) == {"sphere", "cylinder"}
    assert depths["sphere"] == pytest.approx(0.03)
    assert depths["cylinder"] == pytest.approx(0.03)
    assert depths["cube"] == pytest.approx(0.03 * math.sqrt(2.0))
    # No faces to snap to: the grasp's own preferred yaws, in order.
    ball = ObjectEstimate(np.zeros(3), rotation_z(0.3), np.full(3, 0.06), round=True)
    assert candidate_yaws(spec, ball, 20.0) == list(spec.approach_yaw_deg)
    # Its sweep check is its upright cylinder, not the yawed box's corners.
    corner = np.array([[0.029, 0.029, 0.0]])  # inside the box, outside the ball
    box = ObjectEstimate(np.zeros(3), np.eye(3), np.full(3, 0.06))
    assert box.inside(corner, 0.0)[0] and not ball.inside(corner, 0.0)[0]


@pytest.fixture(scope="module")
def controller(right):
    controller = GraspController(right)
    controller.arm.set_joint_positions(yaml.safe_load(G1.read_text())["stand_posture"])
    return controller


def sphere_on_table(radius: float) -> ObjectEstimate:
    centre = np.array([0.29, -0.14, TABLE_TOP_IN_PELVIS + radius])
    return ObjectEstimate(centre, rotation_z(0.7), np.full(3, 2.0 * radius), round=True)


@pytest.mark.parametrize("radius", [0.025, 0.035])
def test_cradle_pinch_holds_a_sphere_above_the_middle_finger(right, controller, radius) -> None:
    """The ball's centre sits above the plane the middle finger curls in (so the finger pushes
    it up against the thumb, below its equator), and the smallest bench ball is still planned
    with the middle finger clear of the table."""
    spec = right.grasps[right.grasp_for("sphere")]
    planner = controller.planner
    q0 = controller.arm.arm_positions()
    obj = sphere_on_table(radius)
    plan = planner.plan(spec, obj, controller.arm.palm_pose(q0), q0)
    assert plan.min_clearance_m >= planner.params.table_clearance_m
    centre = plan.grasp.actInv(obj.position)
    q = planner.preshape_vector(spec)
    middle_plane_z = controller.model.fingertip_positions(q)["middle"][2]
    assert centre[2] > middle_plane_z + 0.003
    # The pinch proper keeps the centre in that plane (boxes: the finger meets the side).
    pinch_centre_z = right.grasps["pinch"].object_in_palm_m[2]
    assert abs(pinch_centre_z - middle_plane_z) < 0.004


def test_the_pinch_thumb_pushes_towards_the_middle_finger_not_down(right, controller) -> None:
    """Along the thumb's closing sweep, where its pad faces the middle finger most (outward
    normal furthest along the palm's x), the normal is within 30 deg of horizontal: a thumb
    tilted down (thumb_0 0.8 rad: 46 deg) comes onto a cube's top edge and pushes a ball down
    out of the grip."""
    model = controller.model
    thumb = right.fingers[0]
    joints = [model.joint_names.index(j) for j in thumb.joints]
    closing = np.array(thumb.close_direction, dtype=float)
    for grasp in ("pinch", "cradle_pinch"):
        q = controller.planner.preshape_vector(right.grasps[grasp])
        facing = None
        for s in np.linspace(0.0, 1.5, 151):
            q_s = q.copy()
            q_s[joints] = np.clip(q[joints] + s * closing, model.lower[joints], model.upper[joints])
            _, _, rotation = model.point_jacobian(q_s, thumb.tip_link, np.array([0, 0.03, 0]))
            normal = rotation @ np.array([1.0, 0.0, 0.0])  # the pad's outward normal
            if facing is None or normal[0] > facing[0]:
                facing = normal
        assert facing[0] > 0.8, grasp
        assert math.degrees(math.asin(abs(facing[2]))) < 30.0, grasp


def test_reach_paths_descend_and_approach_slowly(right, controller) -> None:
    planner = controller.planner
    q0 = controller.arm.arm_positions()
    obj = sphere_on_table(0.03)
    plan = planner.plan(right.grasps["pinch"], obj, controller.arm.palm_pose(q0), q0)
    assert len(plan.speeds) == len(plan.waypoints)
    assert plan.speeds[-2:] == (
        planner.params.descent_speed_m_s,
        planner.params.approach_speed_m_s,
    )
    path = CartesianPath(
        controller.arm.palm_pose(q0), plan.waypoints, 0.25, segment_speeds_m_s=plan.speeds
    )
    for index in (-2, -1):
        a, b = path.poses[index - 1], path.poses[index]
        distance = float(np.linalg.norm(b.translation - a.translation))
        assert path.durations[index] >= distance / plan.speeds[index] - 1e-9
    # The transfer keeps the arm's speed.
    fast = CartesianPath(controller.arm.palm_pose(q0), plan.waypoints, 0.25)
    assert fast.durations[:-2] == path.durations[:-2]
    assert sum(fast.durations) < sum(path.durations)


def test_segment_speeds_are_checked() -> None:
    start = pin.SE3.Identity()
    end = pin.SE3(np.eye(3), np.array([0.1, 0.0, 0.0]))
    assert CartesianPath(start, [end], 0.25, segment_speeds_m_s=[0.05]).durations == [
        pytest.approx(2.0)
    ]
    # A segment speed above the path's is capped by it; 0 means the path's.
    assert CartesianPath(start, [end], 0.25, segment_speeds_m_s=[1.0]).durations == [
        pytest.approx(0.4)
    ]
    assert CartesianPath(start, [end], 0.25, segment_speeds_m_s=[0.0]).durations == [
        pytest.approx(0.4)
    ]
    with pytest.raises(DexterousHandCtrlError, match="segment speeds"):
        CartesianPath(start, [end], 0.25, segment_speeds_m_s=[0.1, 0.1])
    with pytest.raises(DexterousHandCtrlError, match="segment speeds"):
        CartesianPath(start, [end], 0.25, segment_speeds_m_s=[-0.1])
