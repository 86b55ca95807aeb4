"""Grasp planning: reachable grasp poses, and approaches that sweep through neither the object
nor the table, over randomized object poses (fixed seeds); IK convergence and limits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest
import yaml

from dexterous_hand_ctrl.core.grasp_controller import GraspController
from dexterous_hand_ctrl.core.grasp_planner import (
    ObjectEstimate,
    PlanningError,
    candidate_yaws,
    rotation_z,
)
from dexterous_hand_ctrl.core.hand_description import load_hand_description

ROOT = Path(__file__).resolve().parents[3]
G1 = ROOT / "config" / "robots" / "g1_dex3.yaml"


@pytest.fixture(scope="module")
def setup():
    hand = load_hand_description(G1, "right_hand")
    controller = GraspController(hand)
    controller.arm.set_joint_positions(yaml.safe_load(G1.read_text())["stand_posture"])
    q0 = controller.arm.arm_positions()
    return hand, controller, q0


def random_object(rng) -> ObjectEstimate:
    edge = rng.uniform(0.04, 0.06)
    position = np.array(
        [0.29 + rng.uniform(-0.015, 0.015), -0.14 + rng.uniform(-0.015, 0.015), -0.0115 + edge / 2]
    )
    return ObjectEstimate(position, rotation_z(rng.uniform(-math.pi, math.pi)), np.full(3, edge))


@pytest.mark.parametrize("seed", range(4))
def test_plans_reach_the_object_without_sweeping_through_it_or_the_table(setup, seed):
    hand, controller, q0 = setup
    planner = controller.planner
    spec = hand.grasps["pinch"]
    obj = random_object(np.random.default_rng(seed))
    start = controller.arm.palm_pose(q0)
    plan = planner.plan(spec, obj, start, q0)
    # The grasp puts the object's centre where the library says, in the palm frame.
    centre = plan.grasp.actInv(obj.position)
    depth = float(np.abs(obj.rotation.T @ plan.approach) @ (obj.extents / 2))
    np.testing.assert_allclose(centre, spec.object_in_palm_m + depth * spec.size_offset_palm)
    # The approach is horizontal and straight onto the grasp.
    assert abs(plan.approach[2]) < 1e-9
    offset = plan.grasp.translation - plan.pre_grasp.translation
    np.testing.assert_allclose(offset / np.linalg.norm(offset), plan.approach, atol=1e-9)
    # Independent check of the last two segments (above -> pre-grasp -> grasp).
    points, radii = planner.hand_points(planner.preshape_vector(spec))
    lowest, hit = planner.sweep_clearance(plan.waypoints[-3:], points, radii, obj)
    assert not hit and lowest >= planner.params.table_clearance_m
    # The transfer segments stay above the safe height.
    for pose in plan.waypoints[:-2]:
        assert pose.translation[2] >= obj.support_height + planner.params.safe_height_m - 1e-9
    # The grasp is reachable: the IK solution's palm is on the grasp pose.
    reached = controller.arm.palm_pose(plan.q_arm_grasp)
    assert np.linalg.norm(reached.translation - plan.grasp.translation) < 0.003
    assert np.all(plan.q_arm_grasp >= controller.arm.lower - 1e-9)
    assert np.all(plan.q_arm_grasp <= controller.arm.upper + 1e-9)


def test_sweep_check_detects_a_path_through_the_object_and_the_table(setup):
    hand, controller, q0 = setup
    planner = controller.planner
    spec = hand.grasps["pinch"]
    obj = random_object(np.random.default_rng(0))
    grasp = planner.grasp_pose(spec, obj, 90.0)
    points, radii = planner.hand_points(planner.preshape_vector(spec))
    # Coming from beyond the object, against the approach, drags the palm through it.
    approach = grasp.rotation @ spec.approach_in_palm
    beyond = pin.SE3(grasp.rotation, grasp.translation + 0.15 * approach)
    assert planner.sweep_clearance([beyond, grasp], points, radii, obj)[1]
    # Sliding along 3 cm lower goes through the table.
    low = pin.SE3(grasp.rotation, grasp.translation - [0, 0, 0.03])
    beside = pin.SE3(grasp.rotation, low.translation - 0.1 * grasp.rotation[:, 1])
    lowest, _ = planner.sweep_clearance([beside, low], points, radii, obj, check_object=False)
    assert lowest < 0


def test_out_of_reach_object_is_refused_with_the_reason(setup):
    hand, controller, q0 = setup
    obj = ObjectEstimate(np.array([0.8, -0.1, 0.0]), np.eye(3), np.full(3, 0.05))
    with pytest.raises(PlanningError, match="out of reach"):
        controller.planner.plan(hand.grasps["pinch"], obj, controller.arm.palm_pose(q0), q0)


def test_box_yaws_snap_to_faces_first(setup):
    hand, _, _ = setup
    spec = hand.grasps["pinch"]
    obj = ObjectEstimate(np.zeros(3), rotation_z(math.radians(20.0)), np.full(3, 0.05))
    yaws = candidate_yaws(spec, obj, 20.0)
    for yaw in yaws[:2]:
        assert (yaw - 20.0) % 90.0 == pytest.approx(0.0, abs=1e-6)
    assert set(spec.approach_yaw_deg) <= set(yaws)


@pytest.mark.parametrize("seed", range(3))
def test_ik_recovers_a_reachable_pose(setup, seed):
    _, controller, q0 = setup
    arm = controller.arm
    rng = np.random.default_rng(seed)
    q_true = np.clip(q0 + rng.uniform(-0.4, 0.4, size=7), arm.lower, arm.upper)
    target = arm.palm_pose(q_true)
    result = arm.solve(target, q0, max_iterations=300)
    assert result.converged, result
    assert np.linalg.norm(arm.palm_pose(result.q_arm).translation - target.translation) < 1e-3
