"""Core types <-> ROS messages for the gait node (the only module besides node.py that knows
message types)."""

from __future__ import annotations

import numpy as np
import pinocchio as pin
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry

from biped_gait.core.estimator import EstimatedState
from biped_gait.core.outputs import (
    STATE_CODES,
    SUPPORT_CODES,
    GaitReport,
    JointCommandOut,
)
from humanoid_interfaces.msg import GaitStatus, JointCommand


def stamp_ns(stamp: Time) -> int:
    """A message stamp in integer nanoseconds."""
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def to_stamp(nanoseconds: int) -> Time:
    """Integer nanoseconds as a message stamp."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def joint_command(command: JointCommandOut, stamp: int, source: str) -> JointCommand:
    """A controller command as humanoid_interfaces/JointCommand stamped with its state's stamp."""
    msg = JointCommand()
    msg.header.stamp = to_stamp(stamp)
    msg.source = source
    msg.name = list(command.names)
    msg.position = command.position.tolist()
    msg.velocity = command.velocity.tolist()
    msg.effort = command.effort.tolist()
    msg.kp = command.kp.tolist()
    msg.kd = command.kd.tolist()
    return msg


def _point(point, xy) -> None:
    point.x, point.y = float(xy[0]), float(xy[1])
    point.z = float(xy[2]) if len(xy) > 2 else 0.0


def gait_status(report: GaitReport, stamp: int, frame: str) -> GaitStatus:
    """The controller's report as humanoid_interfaces/GaitStatus."""
    msg = GaitStatus()
    msg.header.stamp = to_stamp(stamp)
    msg.header.frame_id = frame
    msg.state = STATE_CODES[report.state]
    msg.support = SUPPORT_CODES[report.support]
    msg.phase = float(report.phase)
    msg.step_count = int(report.step_count)
    _point(msg.zmp_planned, report.zmp_planned)
    _point(msg.zmp_measured, report.zmp_measured)
    _point(msg.dcm_planned, report.dcm_planned)
    _point(msg.dcm_measured, report.dcm_measured)
    _point(msg.com, report.com)
    msg.cmd_vel.linear.x, msg.cmd_vel.linear.y = float(report.command[0]), float(report.command[1])
    msg.cmd_vel.angular.z = float(report.command[2])
    msg.message = report.message
    return msg


def odometry(state: EstimatedState, stamp: int, frame: str, child: str) -> Odometry:
    """The estimated base state as nav_msgs/Odometry (twist in the child frame, REP-105)."""
    msg = Odometry()
    msg.header.stamp = to_stamp(stamp)
    msg.header.frame_id = frame
    msg.child_frame_id = child
    p = state.base_position
    msg.pose.pose.position.x, msg.pose.pose.position.y = float(p[0]), float(p[1])
    msg.pose.pose.position.z = float(p[2])
    x, y, z, w = pin.Quaternion(state.base_rotation).coeffs()
    o = msg.pose.pose.orientation
    o.x, o.y, o.z, o.w = float(x), float(y), float(z), float(w)
    rotation = state.base_rotation
    linear = rotation.T @ state.base_velocity
    angular = rotation.T @ state.base_angular_velocity
    t = msg.twist.twist
    t.linear.x, t.linear.y, t.linear.z = (float(v) for v in linear)
    t.angular.x, t.angular.y, t.angular.z = (float(v) for v in angular)
    variance = np.zeros(36)
    variance[[0, 7, 14]] = 1e-4  # leg odometry: mm-level per step, drifts with distance
    variance[[21, 28, 35]] = 1e-5
    msg.pose.covariance = variance.tolist()
    return msg
