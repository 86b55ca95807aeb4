"""Serialized state messages read by the nodes: :mod:`humanoid_common.cdr` for plain
little-endian CDR (the RMW's normal encoding), rclpy's deserialization for anything else.

The one place that knows both paths, so that every node taking these topics serialized reads
them the same way.
"""

from __future__ import annotations

import numpy as np
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState

from humanoid_common.cdr import CdrError, JointStateData, read_joint_state, read_stamped_doubles


def _stamp_ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def joint_state_from_raw(raw: bytes) -> JointStateData:
    """A serialized sensor_msgs/JointState."""
    try:
        return read_joint_state(raw)
    except CdrError:
        msg = deserialize_message(raw, JointState)
        arrays = (np.asarray(v, dtype=float) for v in (msg.position, msg.velocity, msg.effort))
        return JointStateData(
            _stamp_ns(msg.header.stamp), msg.header.frame_id, tuple(msg.name), *arrays
        )


def odometry_from_raw(raw: bytes) -> tuple[int, str, str, np.ndarray]:
    """A serialized nav_msgs/Odometry: (stamp [ns], frame_id, child_frame_id, 85 values:
    position, orientation x y z w, pose covariance (36), linear, angular, twist covariance
    (36); the layout of :func:`humanoid_common.cdr.read_stamped_doubles`)."""
    try:
        stamp, frame_id, (child,), values = read_stamped_doubles(raw, 85, strings=1)
        return stamp, frame_id, child, values
    except CdrError:
        msg = deserialize_message(raw, Odometry)
        p, o = msg.pose.pose.position, msg.pose.pose.orientation
        linear, angular = msg.twist.twist.linear, msg.twist.twist.angular
        values = np.concatenate(
            [
                [p.x, p.y, p.z, o.x, o.y, o.z, o.w],
                msg.pose.covariance,
                [linear.x, linear.y, linear.z, angular.x, angular.y, angular.z],
                msg.twist.covariance,
            ]
        )
        return _stamp_ns(msg.header.stamp), msg.header.frame_id, msg.child_frame_id, values
