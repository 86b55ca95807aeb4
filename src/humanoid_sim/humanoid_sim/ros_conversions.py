"""Conversions between the simulator's numpy readings and ROS messages (no node logic)."""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Pose
from humanoid_common.cdr import PadLayout

from humanoid_interfaces.msg import TactilePad


def stamp(nanoseconds: int) -> Time:
    """A builtin_interfaces/Time from integer nanoseconds."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_to_ns(value: Time) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time."""
    return int(value.sec) * 1_000_000_000 + int(value.nanosec)


def doubles(values: np.ndarray) -> array.array:
    """float64 array field value without a per-element Python loop."""
    return array.array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def as_numpy(values) -> np.ndarray:
    """A message's float64[] field as numpy (array.array is viewed, lists converted)."""
    if isinstance(values, array.array):
        return np.frombuffer(values, dtype=np.float64) if len(values) else np.zeros(0)
    return np.asarray(values, dtype=np.float64)


def set_pose(pose: Pose, position, quaternion_wxyz) -> Pose:
    """Fill a Pose from a position and a (w, x, y, z) quaternion."""
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in position)
    w, x, y, z = (float(v) for v in quaternion_wxyz)
    pose.orientation.w, pose.orientation.x = w, x
    pose.orientation.y, pose.orientation.z = y, z
    return pose


def rotation_to_quaternion_wxyz(rotation: np.ndarray) -> np.ndarray:
    """(w, x, y, z) quaternion of a 3x3 rotation matrix."""
    import mujoco

    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.ascontiguousarray(rotation, dtype=np.float64).flatten())
    return quat


def pad_template(layout) -> TactilePad:
    """A TactilePad message with the pad's constant geometry filled in."""
    spec = layout.spec
    pad = TactilePad()
    pad.name = spec.name
    pad.frame_id = spec.link
    set_pose(pad.pose, layout.origin_link, rotation_to_quaternion_wxyz(layout.rotation_link_pad))
    pad.rows, pad.cols = spec.rows, spec.cols
    pad.pitch_x, pad.pitch_y = spec.pitch
    return pad


def pad_layout(layout) -> PadLayout:
    """The pad's constant fields for humanoid_common.cdr.write_tactile_frame."""
    template = pad_template(layout)
    p, o = template.pose.position, template.pose.orientation
    return PadLayout(
        template.name,
        template.frame_id,
        (p.x, p.y, p.z, o.x, o.y, o.z, o.w),
        template.rows,
        template.cols,
        template.pitch_x,
        template.pitch_y,
    )
