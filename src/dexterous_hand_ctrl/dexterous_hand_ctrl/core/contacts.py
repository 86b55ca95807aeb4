"""Tactile contacts as the grasp controller uses them: per finger force and force direction.

The tactile driver reports, per pad, the normal force, the centre of pressure and the contact
normal in the pad's link frame (``humanoid_interfaces/Contact``). Here they become, per finger,
the total force on its counted pads and ``g = sum_p F_p J_p^T n_p / sum_p F_p``: the joint-space
direction in which the finger's joints push along the contact normals (the fingertip Jacobian
of each contact point, transposed), which the finger controller's admittance follows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from dexterous_hand_ctrl.core.hand_model import HandModel


@dataclass(frozen=True)
class PadContact:
    """One pad's contact at one instant.

    Attributes:
        name: Pad name.
        link: Link the pad is on.
        force_n: Normal force [N], >= 0.
        in_contact: Contact state (after the driver's hysteresis).
        slip: A slip event was detected in this frame.
        cop_link: Centre of pressure in the link frame [m], shape (3,).
        normal_link: Unit normal out of the skin in the link frame, shape (3,).
    """

    name: str
    link: str
    force_n: float
    in_contact: bool
    slip: bool
    cop_link: np.ndarray
    normal_link: np.ndarray


@dataclass(frozen=True)
class TactileSnapshot:
    """All pads of a skin at one instant.

    Attributes:
        stamp_s: Measurement time [s].
        pads: Pad name -> contact.
    """

    stamp_s: float
    pads: Mapping[str, PadContact] = field(default_factory=dict)

    def slipping(self, counted: Iterable[str]) -> list[str]:
        """Counted pads with a slip event in this frame."""
        return [name for name in counted if name in self.pads and self.pads[name].slip]


def finger_forces(
    snapshot: TactileSnapshot | None, finger_pads: Mapping[str, Iterable[str]]
) -> dict[str, float]:
    """Total normal force per finger over its counted pads [N] (0 without a snapshot)."""
    forces = {}
    for finger, pads in finger_pads.items():
        total = 0.0
        if snapshot is not None:
            for pad in pads:
                contact = snapshot.pads.get(pad)
                if contact is not None and np.isfinite(contact.force_n):
                    total += max(contact.force_n, 0.0)
        forces[finger] = total
    return forces


def force_directions(
    hand: HandModel,
    q_hand: np.ndarray,
    snapshot: TactileSnapshot | None,
    finger_pads: Mapping[str, Iterable[str]],
    joint_slices: Mapping[str, slice],
    min_force_n: float = 0.05,
) -> dict[str, np.ndarray | None]:
    """Force-weighted ``J^T n`` per finger (restricted to its joints), None if unloaded.

    Args:
        hand: Hand kinematics.
        q_hand: Measured hand joints [rad] (HandModel order).
        snapshot: Tactile contacts.
        finger_pads: Finger -> its counted pads.
        joint_slices: Finger -> slice of its joints in the hand vector.
        min_force_n: Pads with less force do not contribute [N].

    Returns:
        Finger -> g [m], shape (finger joints,), or None.
    """
    result: dict[str, np.ndarray | None] = {}
    for finger, pads in finger_pads.items():
        weighted, total = None, 0.0
        if snapshot is not None:
            for pad in pads:
                contact = snapshot.pads.get(pad)
                if contact is None or not contact.force_n >= min_force_n:
                    continue
                if not hand.has_link(contact.link):
                    continue
                _, jac, rotation = hand.point_jacobian(q_hand, contact.link, contact.cop_link)
                normal_palm = rotation @ contact.normal_link
                g = (jac.T @ normal_palm)[joint_slices[finger]] * contact.force_n
                weighted = g if weighted is None else weighted + g
                total += contact.force_n
        result[finger] = None if weighted is None else weighted / total
    return result


def blocking_contacts(
    hand: HandModel,
    q_hand: np.ndarray,
    snapshot: TactileSnapshot | None,
    finger_pads: Mapping[str, Iterable[str]],
    approach_in_palm: np.ndarray,
    contact_force_n: float,
    stop_force_n: float,
) -> list[str]:
    """Fingers touching something in front of them during an approach.

    A pad whose outward normal points along the approach (cosine > 0.5) touches what the hand
    moves onto; one brushing an object's side does not count, unless it presses harder than
    ``stop_force_n``.

    Returns:
        The names of the blocked fingers.
    """
    if snapshot is None:
        return []
    blocked = []
    for finger, pads in finger_pads.items():
        for pad in pads:
            contact = snapshot.pads.get(pad)
            if contact is None or not contact.force_n >= contact_force_n:
                continue
            if contact.force_n >= stop_force_n:
                blocked.append(finger)
                break
            _, _, rotation = hand.point_jacobian(q_hand, contact.link, contact.cop_link)
            if float(approach_in_palm @ (rotation @ contact.normal_link)) > 0.5:
                blocked.append(finger)
                break
    return blocked
