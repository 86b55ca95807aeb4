"""The gait node's serialized inputs and outputs (humanoid_common.cdr) against rclpy."""

from __future__ import annotations

import numpy as np
import pinocchio as pin
from geometry_msgs.msg import WrenchStamped
from humanoid_common.messages import joint_state_from_raw
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Imu, JointState

from biped_gait import conversions as conv
from biped_gait.core.estimator import EstimatedState
from biped_gait.core.outputs import STATE_CODES, SUPPORT_CODES, GaitReport, JointCommandOut
from humanoid_interfaces.msg import GaitStatus, JointCommand


def test_odometry_carries_the_estimate_in_rep105_frames() -> None:
    rng = np.random.default_rng(1)
    rotation = pin.exp3(rng.normal(size=3))
    state = EstimatedState(
        base_position=rng.normal(size=3),
        base_rotation=rotation,
        base_velocity=rng.normal(size=3),
        base_angular_velocity=rng.normal(size=3),
    )
    msg = deserialize_message(
        conv.OdometryWriter("odom", "pelvis").write(state, 3 * 10**9), Odometry
    )
    assert (msg.header.frame_id, msg.child_frame_id, msg.header.stamp.sec) == ("odom", "pelvis", 3)
    p, o = msg.pose.pose.position, msg.pose.pose.orientation
    np.testing.assert_allclose([p.x, p.y, p.z], state.base_position)
    q = pin.Quaternion(o.w, o.x, o.y, o.z)
    np.testing.assert_allclose(q.toRotationMatrix(), rotation, atol=1e-12)
    linear, angular = msg.twist.twist.linear, msg.twist.twist.angular
    # Twist in the child (base) frame.
    np.testing.assert_allclose([linear.x, linear.y, linear.z], rotation.T @ state.base_velocity)
    np.testing.assert_allclose(
        [angular.x, angular.y, angular.z], rotation.T @ state.base_angular_velocity
    )
    assert msg.pose.covariance[0] > 0 and msg.pose.covariance[35] > 0


def test_inputs_read_from_bytes_equal_rclpy_messages() -> None:
    state = JointState(name=["a", "b"], position=[0.1, 0.2], velocity=[1.0, 2.0])
    state.header.stamp.sec = 4
    data = joint_state_from_raw(serialize_message(state))
    assert (data.stamp_ns, data.name) == (4 * 10**9, ("a", "b"))
    np.testing.assert_array_equal(data.velocity, [1.0, 2.0])
    imu = Imu()
    imu.header.stamp.nanosec = 7
    imu.orientation.w, imu.orientation.x = 0.6, 0.8
    imu.angular_velocity.z, imu.linear_acceleration.z = 0.3, 9.81
    stamp, quaternion, gyro, acc = conv.imu_from_raw(serialize_message(imu))
    assert stamp == 7
    np.testing.assert_array_equal(quaternion, [0.6, 0.8, 0.0, 0.0])  # w x y z
    np.testing.assert_array_equal(gyro, [0, 0, 0.3])
    np.testing.assert_array_equal(acc, [0, 0, 9.81])
    wrench = WrenchStamped()
    wrench.wrench.force.z, wrench.wrench.torque.x = 300.0, -2.0
    _, force, torque = conv.wrench_from_raw(serialize_message(wrench))
    np.testing.assert_array_equal(np.concatenate([force, torque]), [0, 0, 300, -2, 0, 0])
    command = JointCommandOut(
        ("hip", "knee"),
        np.array([0.1, -0.2]),
        np.zeros(2),
        np.array([1.0, 2.0]),
        np.array([100.0, 150.0]),
        np.array([2.0, 3.0]),
    )
    msg = deserialize_message(conv.CommandWriter("biped_gait").write(command, 5), JointCommand)
    assert (msg.source, list(msg.name), msg.header.stamp.nanosec) == (
        "biped_gait",
        ["hip", "knee"],
        5,
    )
    np.testing.assert_array_equal(msg.kp, [100.0, 150.0])
    np.testing.assert_array_equal(msg.effort, [1.0, 2.0])


def test_gait_status_bytes_carry_what_rclpy_serializes() -> None:
    rng = np.random.default_rng(4)
    states, supports = list(STATE_CODES), list(SUPPORT_CODES)
    for i, frame in enumerate(["odom", "", "o", "odom_frame_x", "wörld"]):
        writer = conv.GaitStatusWriter(frame)
        for k in range(6):
            report = GaitReport(
                state=states[(i + k) % len(states)],
                support=supports[(i * 3 + k) % len(supports)],
                phase=float(rng.uniform(0, 1)),
                step_count=int(rng.integers(0, 10**6)),
                zmp_planned=rng.normal(size=2),
                zmp_measured=rng.normal(size=2),
                dcm_planned=rng.normal(size=2),
                dcm_measured=rng.normal(size=2),
                com=rng.normal(size=3),
                command=rng.normal(size=3),
                message=["", "walking", "fall detected: damping", "ünïcode ✓", "x" * k][k % 5],
            )
            stamp = int(rng.integers(0, 2**40))
            message = conv.gait_status(report, stamp, frame)
            raw = writer.write(report, stamp)
            expected = serialize_message(message)
            # rclpy leaves its alignment padding uninitialised: compare lengths and contents
            # (phase is a float32: through the bytes both ways).
            assert len(raw) == len(expected), (frame, k)
            assert deserialize_message(raw, GaitStatus) == deserialize_message(
                expected, GaitStatus
            ), (frame, k)
