"""Message <-> core conversions of the hand controller node (no algorithm here)."""

from __future__ import annotations

import array

import numpy as np
from humanoid_common.cdr import CdrError, read_contact_array

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
    """Fills one reusable JointCommand message from controller outputs.

    Args:
        message_type: humanoid_interfaces/JointCommand.
        source: JointCommand.source.
        hand_joints: Hand joint names (hand model order).
        arm_joints: Arm joint names (may be empty).
    """

    def __init__(self, message_type, source: str, hand_joints, arm_joints):
        self.message = message_type()
        self.message.source = source
        self._hand = list(hand_joints)
        self._arm = list(arm_joints)
        self._with_arm = list(hand_joints) + list(arm_joints)
        self._zeros_hand = np.zeros(len(self._hand))

    def build(self, output: ControllerOutput, stamp):
        msg = self.message
        msg.header.stamp = stamp
        if output.arm_positions is not None:
            msg.name = self._with_arm
            arm_count = len(self._arm)
            position = np.concatenate([output.hand_positions, output.arm_positions])
            effort = np.concatenate([self._zeros_hand, output.arm_effort])
            kp = np.concatenate([output.hand_kp, np.full(arm_count, output.arm_kp)])
            kd = np.concatenate([output.hand_kd, np.full(arm_count, output.arm_kd)])
        else:
            msg.name = self._hand
            position, effort = output.hand_positions, self._zeros_hand
            kp, kd = output.hand_kp, output.hand_kd
        msg.position = array.array("d", np.asarray(position, dtype=np.float64).tobytes())
        msg.velocity = array.array("d")
        msg.effort = array.array("d", np.asarray(effort, dtype=np.float64).tobytes())
        msg.kp = array.array("d", np.asarray(kp, dtype=np.float64).tobytes())
        msg.kd = array.array("d", np.asarray(kd, dtype=np.float64).tobytes())
        return msg
