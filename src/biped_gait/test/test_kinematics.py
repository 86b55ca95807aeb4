"""Whole-body IK, feed-forward torques and contact split on the G1 model (pinocchio)."""

import numpy as np
import pinocchio as pin
import pytest

from biped_gait.core.feedforward import FeedForward, split_contact
from biped_gait.core.ik import IkTargets, WholeBodyIk
from biped_gait.core.lipm import STANDARD_GRAVITY


def _soles(robot, q):
    pin.framesForwardKinematics(robot.model, robot.data, q)
    return {s: robot.data.oMf[f].copy() for s, f in robot.sole_frames.items()}


def test_model_is_the_walking_part(robot, facts):
    assert robot.joint_names == facts.controlled_joints
    assert robot.model.nv == 6 + len(facts.controlled_joints)
    assert robot.mass == pytest.approx(34.39, abs=0.05)  # arms and hands locked, mass kept


@pytest.mark.parametrize("seed", range(3))
def test_ik_reaches_reachable_targets(robot, seed):
    """Targets from a randomly perturbed posture: the IK recovers feet and CoM to < 1 mm."""
    rng = np.random.default_rng(seed)
    goal = robot.q_stand.copy()
    goal[7:] += rng.uniform(-0.08, 0.08, robot.nj)
    goal[:3] += rng.uniform(-0.02, 0.02, 3)
    soles = _soles(robot, goal)
    com = pin.centerOfMass(robot.model, robot.data, goal).copy()
    pelvis = pin.Quaternion(goal[6], *goal[3:6]).toRotationMatrix()
    torso = robot.data.oMf[robot.torso_frame].rotation.copy()
    targets = IkTargets(
        soles, {s: np.zeros(6) for s in soles}, com, np.zeros(3), pelvis, np.zeros(3), torso
    )
    ik = WholeBodyIk(robot)
    q = robot.q_stand.copy()
    for _ in range(30):
        q, _ = ik.solve(q, targets)
    reached = _soles(robot, q)
    for side in soles:
        assert np.linalg.norm(reached[side].translation - soles[side].translation) < 1e-3
        assert np.linalg.norm(pin.log3(reached[side].rotation.T @ soles[side].rotation)) < 1e-3
    assert np.linalg.norm(pin.centerOfMass(robot.model, robot.data, q) - com) < 1e-3


def test_ik_velocity_moves_the_com_as_asked(robot):
    soles = _soles(robot, robot.q_stand)
    com = pin.centerOfMass(robot.model, robot.data, robot.q_stand).copy()
    targets = IkTargets(
        soles,
        {s: np.zeros(6) for s in soles},
        com,
        np.array([0.1, -0.05, 0.0]),
        np.eye(3),
        np.zeros(3),
        np.eye(3),
    )
    _, v = WholeBodyIk(robot).solve(robot.q_stand, targets)
    jac_com = pin.jacobianCenterOfMass(robot.model, robot.data, robot.q_stand)
    np.testing.assert_allclose(jac_com @ v, [0.1, -0.05, 0.0], atol=2e-3)
    for frame in robot.sole_frames.values():
        jac = pin.getFrameJacobian(robot.model, robot.data, frame, pin.LOCAL_WORLD_ALIGNED)
        assert np.abs(jac @ v).max() < 1e-3


def test_split_realises_the_zmp_inside_and_clips_outside(robot):
    soles = _soles(robot, robot.q_stand)
    mid = 0.5 * (soles["left"].translation[:2] + soles["right"].translation[:2])
    inside = split_contact(mid + [0.01, 0.03], soles, ("left", "right"), 0.085, 0.025)
    assert sum(inside.share.values()) == pytest.approx(1.0)
    np.testing.assert_allclose(inside.zmp, mid + [0.01, 0.03], atol=1e-9)
    single = split_contact(mid + [0.3, 0.0], soles, ("right",), 0.085, 0.025)
    assert single.share == {"right": 1.0}
    local = single.zmp - soles["right"].translation[:2]
    assert local[0] == pytest.approx(0.085) and abs(local[1]) <= 0.025 + 1e-12


def test_static_feedforward_balances_gravity(robot):
    """With the contact wrenches the split gives, the floating base is in equilibrium:
    sum_i J_i^T w_i = g(q) on the base rows, and the torques are within the limits."""
    q = robot.q_stand
    soles = _soles(robot, q)
    com = pin.centerOfMass(robot.model, robot.data, q)
    split = split_contact(com[:2], soles, ("left", "right"), 0.085, 0.025)
    tau, wrenches = FeedForward(robot).torques(q, split, np.zeros(3))
    total = sum(w[0] for w in wrenches.values())
    assert total[2] == pytest.approx(robot.mass * STANDARD_GRAVITY)
    gravity = pin.computeGeneralizedGravity(robot.model, robot.data, q)
    pin.computeJointJacobians(robot.model, robot.data, q)
    pin.updateFramePlacements(robot.model, robot.data)
    base = np.zeros(6)
    for side, (force, torque) in wrenches.items():
        jac = pin.getFrameJacobian(
            robot.model, robot.data, robot.sole_frames[side], pin.LOCAL_WORLD_ALIGNED
        )
        base += jac[:, :6].T @ np.concatenate([force, torque])
    np.testing.assert_allclose(base, gravity[:6], atol=0.5)
    assert np.all(np.abs(tau) < robot.effort_limit)
