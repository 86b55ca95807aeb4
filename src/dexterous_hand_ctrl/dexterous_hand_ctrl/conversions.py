"""Message <-> core conversions of the hand controller node (no algorithm here)."""

from __future__ import annotations

import array

import numpy as np
from humanoid_common.cdr import CdrError, JointCommandWriter, read_contact_array
from humanoid_common.messages import odometry_from_raw

from dexterous_hand_ctrl.core.contacts import PadContact, TactileSnapshot
from dexterous_hand_ctrl.core.grasp_controller import ControllerOutput


def stamp_seconds(stamp) -> float:
    """A builtin_interfaces/Time as seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def as_array(values) -> np.ndarray:
    """A float64 sequence field (array.array on rclpy) as numpy without copying when possible."""
    if isinstance(values, array.array) and values.typecode == "d":
        return np.frombuffer(values, dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def snapshot_from_contacts(msg) -> TactileSnapshot:
    """humanoid_interfaces/ContactArray -> TactileSnapshot (per pad, link-frame CoP/normal)."""
    pads = {}
    for contact in msg.contacts:
        cop, normal = contact.cop, contact.normal
        pads[contact.pad] = PadContact(
            contact.pad,
            contact.header.frame_id,
            float(contact.force_n),
            bool(contact.in_contact),
            bool(contact.slip),
            np.array((cop.x, cop.y, cop.z)),
            np.array((normal.x, normal.y, normal.z)),
        )
    return TactileSnapshot(stamp_seconds(msg.header.stamp), pads)


def snapshot_from_serialized(raw: bytes, message_type) -> TactileSnapshot:
    """A serialized ContactArray -> TactileSnapshot, read with humanoid_common.cdr (~30 us;
    rclpy's conversion to message objects cost ~1 ms), or by rclpy if the bytes are not plain
    little-endian CDR."""
    try:
        stamp_ns, _, _, contacts = read_contact_array(raw)
    except CdrError:
        from rclpy.serialization import deserialize_message

        return snapshot_from_contacts(deserialize_message(raw, message_type))
    pads = {
        c.pad: PadContact(
            c.pad, c.frame_id, c.force_n, c.in_contact, c.slip, np.array(c.cop), np.array(c.normal)
        )
        for c in contacts
    }
    return TactileSnapshot(stamp_ns * 1e-9, pads)


class CommandBuilder:
    """Serialized humanoid_interfaces/JointCommand from controller outputs (written from
    templates by humanoid_common.cdr: building the message object cost ~0.3 ms).

    Args:
        source: JointCommand.source.
        hand_joints: Hand joint names (hand model order).
        arm_joints: Arm joint names (may be empty).
    """

    def __init__(self, source: str, hand_joints, arm_joints):
        self._writer = JointCommandWriter(source)
        self._hand = tuple(hand_joints)
        self._arm = tuple(arm_joints)
        self._with_arm = self._hand + self._arm
        self._zeros_hand = np.zeros(len(self._hand))

    def build(self, output: ControllerOutput, stamp_ns: int) -> bytes:
        if output.arm_positions is not None:
            arm_count = len(self._arm)
            return self._writer.write(
                stamp_ns,
                self._with_arm,
                np.concatenate([output.hand_positions, output.arm_positions]),
                None,
                np.concatenate([self._zeros_hand, output.arm_effort]),
                np.concatenate([output.hand_kp, np.full(arm_count, output.arm_kp)]),
                np.concatenate([output.hand_kd, np.full(arm_count, output.arm_kd)]),
            )
        return self._writer.write(
            stamp_ns,
            self._hand,
            output.hand_positions,
            None,
            self._zeros_hand,
            output.hand_kp,
            output.hand_kd,
        )


def odometry_pose_from_raw(raw: bytes) -> tuple[str, np.ndarray, np.ndarray]:
    """A serialized nav_msgs/Odometry: (frame_id, base position, base quaternion w x y z)."""
    _, frame, _, values = odometry_from_raw(raw)
    x, y, z, w = values[3:7]
    return frame, values[0:3].copy(), np.array([w, x, y, z])
