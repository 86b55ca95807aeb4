"""Arm IK against a straightforward reference formulation of the same algorithm.

:meth:`ArmKinematics.solve` and :meth:`ArmKinematics.track` are written for speed (one
configuration buffer, cached weights, the null-space term skipped when its gain is 0). Here
the textbook form (every array built per iteration, a fresh configuration each time) replays
a fixed sequence of targets and starts; the results must agree to the last bits (1e-12).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest
import yaml

from dexterous_hand_ctrl.core.grasp_controller import GraspController
from dexterous_hand_ctrl.core.hand_description import load_hand_description

ROOT = Path(__file__).resolve().parents[3]
G1 = ROOT / "config" / "robots" / "g1_dex3.yaml"


@pytest.fixture(scope="module")
def arm():
    controller = GraspController(load_hand_description(G1, "right_hand"))
    arm = controller.arm
    arm.set_joint_positions(yaml.safe_load(G1.read_text())["stand_posture"])
    return arm


def reference_error_and_jacobian(arm, q_arm, target):
    q = arm.q.copy()
    q[arm._arm_q] = q_arm
    model, data = arm.model, arm.data
    jac = pin.computeFrameJacobian(model, data, q, arm._palm, pin.LOCAL_WORLD_ALIGNED)
    jac = jac[:, arm._arm_v]
    palm = pin.updateFramePlacement(model, data, arm._palm)
    base = pin.updateFramePlacement(model, data, arm._base)
    rotation = base.rotation.T
    error = np.concatenate(
        [
            target.translation - rotation @ (palm.translation - base.translation),
            pin.log3(target.rotation @ (rotation @ palm.rotation).T),
        ]
    )
    return error, np.vstack([rotation @ jac[:3], rotation @ jac[3:]])


def reference_track(arm, target, q_arm, rotation_weight=0.3, damping=1e-2):
    error, jac = reference_error_and_jacobian(arm, q_arm, target)
    weights = np.array([1.0, 1.0, 1.0, rotation_weight, rotation_weight, rotation_weight])
    weighted = jac * weights[:, None]
    lhs = weighted @ weighted.T + damping**2 * np.eye(6)
    dq = weighted.T @ np.linalg.solve(lhs, weights * error)
    largest = np.max(np.abs(dq))
    if largest > arm.iteration_step_rad:
        dq *= arm.iteration_step_rad / largest
    return np.clip(q_arm + dq, arm.lower, arm.upper)


def reference_solve(arm, target, q_arm_start, q_arm_rest, posture_gain, max_iterations, tol):
    q_start = np.clip(q_arm_start, arm.lower, arm.upper)
    rest = q_start if q_arm_rest is None else q_arm_rest
    q_arm = q_start.copy()
    weights = np.array([1.0, 1.0, 1.0, 0.3, 0.3, 0.3])
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        error, jac = reference_error_and_jacobian(arm, q_arm, target)
        if np.linalg.norm(error[:3]) < tol[0] and np.linalg.norm(error[3:]) < tol[1]:
            iterations -= 1
            break
        weighted = jac * weights[:, None]
        pinv = weighted.T @ np.linalg.inv(weighted @ weighted.T + 1e-4 * np.eye(6))
        dq = pinv @ (weights * error)
        dq += (np.eye(len(q_arm)) - pinv @ weighted) @ (posture_gain * (rest - q_arm))
        largest = np.max(np.abs(dq))
        if largest > arm.iteration_step_rad:
            dq *= arm.iteration_step_rad / largest
        q_arm = np.clip(q_arm + dq, arm.lower, arm.upper)
    else:
        error, _ = reference_error_and_jacobian(arm, q_arm, target)
    return q_arm, np.linalg.norm(error[:3]), np.linalg.norm(error[3:]), iterations


def targets(arm, count, seed):
    """Reachable palm poses near the arm's range (random postures' palms, perturbed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        q = arm.lower + rng.uniform(0.2, 0.8, len(arm.lower)) * (arm.upper - arm.lower)
        pose = arm.palm_pose(q)
        shift = pin.SE3(pin.exp3(rng.normal(0, 0.2, 3)), rng.normal(0, 0.03, 3))
        out.append(pose * shift)
    return out, rng


def test_track_replays_the_reference(arm) -> None:
    goals, _ = targets(arm, 40, seed=3)
    q_fast = q_ref = arm.arm_positions()
    for target in goals:
        for _ in range(3):
            q_fast = arm.track(target, q_fast)
            q_ref = reference_track(arm, target, q_ref)
            np.testing.assert_allclose(q_fast, q_ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("posture_gain", [0.0, 0.05])
def test_solve_matches_the_reference(arm, posture_gain) -> None:
    goals, rng = targets(arm, 25, seed=5)
    ready = (arm.lower + arm.upper) / 2.0
    tol = (2.5e-4, 2.5e-3)
    for target in goals:
        start = arm.lower + rng.uniform(0.0, 1.0, len(arm.lower)) * (arm.upper - arm.lower)
        for seed, rest in ((start, None), (ready, ready)):
            fast = arm.solve(
                target,
                seed,
                q_arm_rest=rest,
                posture_gain=posture_gain,
                max_iterations=250,
                position_tolerance_m=tol[0],
                rotation_tolerance_rad=tol[1],
            )
            q, position_error, rotation_error, iterations = reference_solve(
                arm, target, seed, rest, posture_gain, 250, tol
            )
            assert fast.iterations == iterations
            np.testing.assert_allclose(fast.q_arm, q, rtol=0, atol=1e-12)
            assert fast.position_error_m == pytest.approx(position_error, abs=1e-12)
            assert fast.rotation_error_rad == pytest.approx(rotation_error, abs=1e-12)


def test_non_finite_joints_are_still_rejected(arm) -> None:
    goals, _ = targets(arm, 1, seed=7)
    bad = arm.arm_positions()
    bad[0] = np.nan
    with pytest.raises(Exception, match="finite"):
        arm.track(goals[0], bad)
    with pytest.raises(Exception, match="finite"):
        arm.solve(goals[0], bad)
