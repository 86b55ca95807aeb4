"""The hand node's serialized commands and odometry (humanoid_common.cdr) against rclpy."""

from __future__ import annotations

import numpy as np
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message, serialize_message

from dexterous_hand_ctrl import conversions as conv
from dexterous_hand_ctrl.core.controller_types import ControllerOutput, Phase
from humanoid_interfaces.msg import JointCommand


def output(arm: bool) -> ControllerOutput:
    return ControllerOutput(
        hand_positions=np.array([0.1, 0.2, 0.3]),
        hand_kp=np.array([2.0, 2.0, 3.0]),
        hand_kd=np.array([0.1, 0.1, 0.2]),
        arm_positions=np.array([-0.5, 0.7]) if arm else None,
        arm_effort=np.array([1.5, -0.5]) if arm else None,
        arm_kp=40.0,
        arm_kd=2.0,
        phase=Phase.IDLE,
        finger_force_n={},
        target_force_n=0.0,
        slip_events=0,
        outcome=None,
        reflex=False,
    )


def test_commands_name_hand_then_arm_joints_with_their_gains() -> None:
    builder = conv.CommandBuilder("right_hand", ["f0", "f1", "f2"], ["elbow", "wrist"])
    msg = deserialize_message(builder.build(output(True), 2 * 10**9 + 9), JointCommand)
    assert (msg.source, msg.header.stamp.sec, msg.header.stamp.nanosec) == ("right_hand", 2, 9)
    assert list(msg.name) == ["f0", "f1", "f2", "elbow", "wrist"]
    np.testing.assert_array_equal(msg.position, [0.1, 0.2, 0.3, -0.5, 0.7])
    np.testing.assert_array_equal(msg.effort, [0, 0, 0, 1.5, -0.5])
    np.testing.assert_array_equal(msg.kp, [2, 2, 3, 40, 40])
    np.testing.assert_array_equal(msg.kd, [0.1, 0.1, 0.2, 2, 2])
    assert len(msg.velocity) == 0
    hand_only = deserialize_message(builder.build(output(False), 5), JointCommand)
    assert list(hand_only.name) == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(hand_only.kp, [2, 2, 3])


def test_the_odometry_pose_is_read_from_bytes() -> None:
    odom = Odometry(child_frame_id="pelvis")
    odom.header.frame_id = "odom"
    odom.pose.pose.position.x, odom.pose.pose.position.y = 0.4, -0.1
    odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = 0.6, 0.8
    frame, position, quaternion = conv.odometry_pose_from_raw(serialize_message(odom))
    assert frame == "odom"
    np.testing.assert_array_equal(position, [0.4, -0.1, 0.0])
    np.testing.assert_array_equal(quaternion, [0.8, 0.0, 0.0, 0.6])  # w x y z
