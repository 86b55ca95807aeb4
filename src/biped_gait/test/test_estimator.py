"""State estimation from IMU, encoders and foot force sensors (no ground truth)."""

import numpy as np
import pinocchio as pin
import pytest

from biped_gait.core.estimator import (
    SensorReadings,
    StateEstimator,
    measured_cop,
    quaternion_to_matrix,
)
from biped_gait.core.lipm import STANDARD_GRAVITY


@pytest.mark.parametrize("seed", range(4))
def test_cop_from_a_wrench_is_recovered(seed):
    """A force at a point of the sole plane, seen by a sensor above it, gives that point."""
    rng = np.random.default_rng(seed)
    height = 0.035
    point = np.array([*rng.uniform(-0.08, 0.08, 2), -height])
    force = np.array([*rng.uniform(-30, 30, 2), rng.uniform(100, 400)])
    torque = np.cross(point, force)
    np.testing.assert_allclose(measured_cop(force, torque, height), point[:2], atol=1e-12)


def test_quaternion_matches_pinocchio():
    q = pin.Quaternion(pin.exp3(np.array([0.1, -0.2, 0.3])))
    np.testing.assert_allclose(
        quaternion_to_matrix([q.w, q.x, q.y, q.z]), q.toRotationMatrix(), atol=1e-12
    )


def _readings(robot, q_joints, dq=None, weight_share=(0.5, 0.5)):
    weight = robot.mass * 9.81
    return SensorReadings(
        q_joints.copy(),
        np.zeros(robot.nj) if dq is None else dq,
        np.array([1.0, 0.0, 0.0, 0.0]),
        np.zeros(3),
        np.array([0.0, 0.0, STANDARD_GRAVITY]),
        {
            "left": np.array([0, 0, weight * weight_share[0]]),
            "right": np.array([0, 0, weight * weight_share[1]]),
        },
        {"left": np.zeros(3), "right": np.zeros(3)},
    )


def test_standing_still_keeps_the_odometry_still(robot):
    estimator = StateEstimator(robot)
    joints = robot.q_stand[7:]
    for _ in range(500):
        state = estimator.update(_readings(robot, joints), 0.002)
    np.testing.assert_allclose(state.base_position[:2], 0.0, atol=1e-9)
    np.testing.assert_allclose(state.base_velocity, 0.0, atol=1e-6)
    lowest = min(s.translation[2] for s in state.soles.values())
    assert lowest == pytest.approx(0.0, abs=1e-9)
    assert all(state.contact.values())


def test_leg_motion_with_feet_planted_moves_the_base(robot):
    """Bending the knees with both feet on the ground lowers the base and keeps the feet."""
    estimator = StateEstimator(robot)
    joints = robot.q_stand[7:].copy()
    state = estimator.update(_readings(robot, joints), 0.002)
    feet_before = {s: p.translation.copy() for s, p in state.soles.items()}
    height_before = state.base_position[2]
    knees = [i for i, n in enumerate(robot.joint_names) if "knee" in n]
    hips = [i for i, n in enumerate(robot.joint_names) if "hip_pitch" in n]
    ankles = [i for i, n in enumerate(robot.joint_names) if "ankle_pitch" in n]
    rate = np.zeros(robot.nj)
    rate[knees], rate[hips], rate[ankles] = 0.5, -0.25, -0.25
    for _ in range(100):
        joints += rate * 0.002
        state = estimator.update(_readings(robot, joints, rate), 0.002)
    assert state.base_position[2] < height_before - 0.005
    for side, before in feet_before.items():
        np.testing.assert_allclose(state.soles[side].translation, before, atol=1e-6)
    assert state.base_velocity[2] < -0.01
