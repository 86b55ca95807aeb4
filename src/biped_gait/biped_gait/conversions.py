"""Core types <-> ROS messages for the gait node (the only module besides node.py that knows
message types)."""

from __future__ import annotations

import struct

import numpy as np
import pinocchio as pin
from builtin_interfaces.msg import Time
from geometry_msgs.msg import WrenchStamped
from humanoid_common.cdr import (
    CdrError,
    CdrWriter,
    JointCommandWriter,
    StampedDoublesWriter,
    read_stamped_doubles,
)
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Imu

from biped_gait.core.estimator import EstimatedState
from biped_gait.core.outputs import (
    STATE_CODES,
    SUPPORT_CODES,
    GaitReport,
    JointCommandOut,
)
from humanoid_interfaces.msg import GaitStatus


def stamp_ns(stamp: Time) -> int:
    """A message stamp in integer nanoseconds."""
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def to_stamp(nanoseconds: int) -> Time:
    """Integer nanoseconds as a message stamp."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


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


_STAMP = struct.Struct("<iI")
_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_POINTS = struct.Struct("<21d")  # five points, then the twist


class GaitStatusWriter:
    """The controller's report as serialized humanoid_interfaces/GaitStatus: the bytes
    rclpy would serialize from :func:`gait_status`, written into a template (the frame is
    fixed; building the message object cost more than a control step's share)."""

    def __init__(self, frame: str):
        writer = CdrWriter()
        writer.header(0, frame)
        self._codes_at = writer.size
        writer.u8(0)
        writer.u8(0)
        writer.f32(0.0)
        self._phase_at = writer.size - 4
        writer.u32(0)
        self._count_at = writer.size - 4
        writer.raw(bytes(_POINTS.size), 8)
        self._points_at = writer.size - _POINTS.size
        self._template = writer.bytes()  # ends 8-aligned: the message's length follows as is
        self._values = [0.0] * 21

    def write(self, report: GaitReport, stamp: int) -> bytes:
        buffer = bytearray(self._template)
        _STAMP.pack_into(buffer, 4, *divmod(int(stamp), 1_000_000_000))
        buffer[self._codes_at] = STATE_CODES[report.state]
        buffer[self._codes_at + 1] = SUPPORT_CODES[report.support]
        _F32.pack_into(buffer, self._phase_at, float(report.phase))
        _U32.pack_into(buffer, self._count_at, int(report.step_count))
        values = self._values
        for i, xy in enumerate(
            (report.zmp_planned, report.zmp_measured, report.dcm_planned, report.dcm_measured)
        ):
            values[3 * i] = float(xy[0])
            values[3 * i + 1] = float(xy[1])
            values[3 * i + 2] = float(xy[2]) if len(xy) > 2 else 0.0
        com, command = report.com, report.command
        values[12], values[13] = float(com[0]), float(com[1])
        values[14] = float(com[2]) if len(com) > 2 else 0.0
        values[15], values[16], values[20] = float(command[0]), float(command[1]), float(command[2])
        _POINTS.pack_into(buffer, self._points_at, *values)
        text = report.message.encode("utf-8") + b"\x00"
        buffer += _U32.pack(len(text))
        buffer += text
        return bytes(buffer)


# ---------------------------------------------------------------- serialized inputs and outputs
# The 100-500 Hz streams are taken and published serialized and read or written with
# humanoid_common.cdr: rclpy's conversion of JointState (43 names), Odometry and JointCommand to
# and from Python objects cost more than the control step. Bytes in another encoding than plain
# little-endian CDR fall back to rclpy.


def imu_from_raw(raw: bytes) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A serialized sensor_msgs/Imu: (stamp [ns], quaternion w x y z, gyro, accelerometer)."""
    try:
        stamp, _, _, v = read_stamped_doubles(raw, 37)
        return stamp, np.array([v[3], v[0], v[1], v[2]]), v[13:16].copy(), v[25:28].copy()
    except CdrError:
        msg = deserialize_message(raw, Imu)
        o, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
        return (
            stamp_ns(msg.header.stamp),
            np.array([o.w, o.x, o.y, o.z]),
            np.array([w.x, w.y, w.z]),
            np.array([a.x, a.y, a.z]),
        )


def wrench_from_raw(raw: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    """A serialized geometry_msgs/WrenchStamped: (stamp [ns], force, torque)."""
    try:
        stamp, _, _, v = read_stamped_doubles(raw, 6)
        return stamp, v[0:3].copy(), v[3:6].copy()
    except CdrError:
        msg = deserialize_message(raw, WrenchStamped)
        f, t = msg.wrench.force, msg.wrench.torque
        return stamp_ns(msg.header.stamp), np.array([f.x, f.y, f.z]), np.array([t.x, t.y, t.z])


class CommandWriter:
    """Controller commands as serialized humanoid_interfaces/JointCommand."""

    def __init__(self, source: str):
        self._writer = JointCommandWriter(source)

    def write(self, command: JointCommandOut, stamp: int) -> bytes:
        return self._writer.write(
            stamp,
            command.names,
            command.position,
            command.velocity,
            command.effort,
            command.kp,
            command.kd,
        )


ODOMETRY_VARIANCE = np.zeros(36)
ODOMETRY_VARIANCE[[0, 7, 14]] = 1e-4  # leg odometry: mm-level per step, drifts with distance
ODOMETRY_VARIANCE[[21, 28, 35]] = 1e-5


class OdometryWriter:
    """The estimated base state as serialized nav_msgs/Odometry (what :func:`odometry` builds)."""

    def __init__(self, frame: str, child: str):
        self._writer = StampedDoublesWriter(frame, 85, (child,))
        self._values = np.zeros(85)
        self._values[7:43] = ODOMETRY_VARIANCE

    def write(self, state: EstimatedState, stamp: int) -> bytes:
        values = self._values
        values[0:3] = state.base_position
        values[3:7] = pin.Quaternion(state.base_rotation).coeffs()  # x y z w
        rotation = state.base_rotation
        values[43:46] = rotation.T @ state.base_velocity
        values[46:49] = rotation.T @ state.base_angular_velocity
        return self._writer.write(stamp, values)
