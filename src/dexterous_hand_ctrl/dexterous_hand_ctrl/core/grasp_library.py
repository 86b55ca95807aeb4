"""Grasp types of one hand: pre-shape, closing fingers and their force shares, counted pads,
and where the object sits relative to the palm.

A grasp is read from an entry under ``hands.<hand>.grasps`` of the robot description YAML (see
the comment above ``hands:`` in ``config/robots/g1_dex3.yaml``). Everything is validated against
the hand: joints, fingers and pads must exist, shares must sum to 1, the pre-shape must lie
within the joint limits and the palm axes must form a rotation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dexterous_hand_ctrl.errors import DexterousHandCtrlError


@dataclass(frozen=True)
class GraspSpec:
    """One grasp type of a hand.

    Attributes:
        name: Grasp type, e.g. "pinch".
        finger_shares: Closing finger -> its share of the total grip force (sum 1).
        pads: Pads that count for contact and force.
        preshape: Hand joint -> position before closing [rad] (unlisted joints: 0 clipped into
            their limits).
        rotation_grasp_palm: Palm axes as columns in the grasp frame, shape (3, 3).
        object_in_palm_m: Object centre in the palm frame for a zero-size object [m], shape (3,).
        size_offset_palm: The object's centre moves by its half depth along the approach times
            this palm-frame vector (a bigger object sits further from the palm).
        approach_yaw_deg: Candidate yaws of the grasp frame's x axis in the base frame [deg],
            in order of preference.
        closing: Finger -> closing direction per joint for this grasp (+1 / -1 / 0), where it
            differs from the finger's own (e.g. only the distal joint curls into a hook).
    """

    name: str
    finger_shares: dict[str, float]
    pads: tuple[str, ...]
    preshape: dict[str, float]
    rotation_grasp_palm: np.ndarray
    object_in_palm_m: np.ndarray
    size_offset_palm: np.ndarray
    approach_yaw_deg: tuple[float, ...]
    closing: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def fingers(self) -> tuple[str, ...]:
        """The closing fingers, in description order of the grasp."""
        return tuple(self.finger_shares)

    @property
    def approach_in_palm(self) -> np.ndarray:
        """Direction the hand moves onto the object, in the palm frame (the grasp frame's x)."""
        return self.rotation_grasp_palm.T @ np.array([1.0, 0.0, 0.0])


def _vector3(value: Any, where: str, unit: bool = False) -> np.ndarray:
    array = np.asarray(value, dtype=float) if isinstance(value, Sequence) else np.zeros(0)
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise DexterousHandCtrlError(f"{where} = {value!r}: expected 3 finite numbers")
    if unit:
        norm = float(np.linalg.norm(array))
        if abs(norm - 1.0) > 1e-6:
            raise DexterousHandCtrlError(f"{where} = {value!r}: expected a unit vector")
    return array


def grasp_from_dict(
    name: str,
    data: Mapping[str, Any],
    finger_pads: Mapping[str, Sequence[str]],
    joint_limits: Mapping[str, tuple[float, float]],
    palm_pads: Sequence[str] = (),
    where: str = "grasps",
    finger_joints: Mapping[str, int] | None = None,
) -> GraspSpec:
    """Build and validate one grasp.

    Args:
        name: Grasp type.
        data: Its YAML mapping.
        finger_pads: Finger name -> its pads (from the hand description).
        joint_limits: Hand joint -> (lower, upper) [rad].
        palm_pads: Pads on the palm (they may count, belonging to no finger).
        where: Prefix for error messages.
        finger_joints: Finger name -> number of joints (checks ``closing``).

    Raises:
        DexterousHandCtrlError: Naming the grasp, the key and what was expected.
    """
    where = f"{where}.{name}"
    if not isinstance(data, Mapping):
        raise DexterousHandCtrlError(f"{where}: expected a mapping")
    required = ("fingers", "pads", "palm_axes_in_grasp", "object_in_palm_m", "size_offset_palm")
    missing = [k for k in required if k not in data]
    if missing:
        raise DexterousHandCtrlError(f"{where}: missing keys {missing}")
    shares_data = data["fingers"]
    if not isinstance(shares_data, Mapping) or not shares_data:
        raise DexterousHandCtrlError(
            f"{where}.fingers = {shares_data!r}: expected a mapping finger -> force share"
        )
    shares = {}
    for finger, share in shares_data.items():
        if finger not in finger_pads:
            raise DexterousHandCtrlError(
                f"{where}.fingers: unknown finger {finger!r}: expected some of {list(finger_pads)}"
            )
        value = float(share)
        if not (math.isfinite(value) and value > 0.0):
            raise DexterousHandCtrlError(f"{where}.fingers.{finger} = {share!r}: expected > 0")
        shares[str(finger)] = value
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise DexterousHandCtrlError(
            f"{where}.fingers: shares {shares} sum to {sum(shares.values()):.4g}: expected 1"
        )
    pads = tuple(str(p) for p in data["pads"] or ())
    known_pads = {p for ps in finger_pads.values() for p in ps} | set(palm_pads)
    unknown = [p for p in pads if p not in known_pads]
    if unknown or not pads:
        raise DexterousHandCtrlError(
            f"{where}.pads: {unknown or '[]'}: expected pads of the hand's fingers or palm "
            f"({sorted(known_pads)})"
        )
    for finger in shares:
        if not any(p in pads for p in finger_pads[finger]):
            raise DexterousHandCtrlError(
                f"{where}: finger {finger!r} closes but none of its pads "
                f"{list(finger_pads[finger])} counts"
            )
    preshape = {}
    for joint, value in (data.get("preshape") or {}).items():
        if joint not in joint_limits:
            raise DexterousHandCtrlError(f"{where}.preshape: {joint!r} is not a hand joint")
        lower, upper = joint_limits[joint]
        angle = float(value)
        if not (lower - 1e-9 <= angle <= upper + 1e-9):
            raise DexterousHandCtrlError(
                f"{where}.preshape.{joint} = {value!r}: outside the joint limits "
                f"[{lower:.4g}, {upper:.4g}] rad"
            )
        preshape[str(joint)] = angle
    axes = data["palm_axes_in_grasp"]
    if not isinstance(axes, Mapping) or set(axes) != {"x", "y", "z"}:
        raise DexterousHandCtrlError(f"{where}.palm_axes_in_grasp: expected keys x, y, z")
    rotation = np.column_stack(
        [_vector3(axes[k], f"{where}.palm_axes_in_grasp.{k}", unit=True) for k in "xyz"]
    )
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-6) or np.linalg.det(rotation) < 0:
        raise DexterousHandCtrlError(
            f"{where}.palm_axes_in_grasp: the axes are not orthonormal and right-handed"
        )
    yaws = data.get("approach_yaw_deg", [0.0])
    yaws = (yaws,) if isinstance(yaws, (int, float)) else tuple(yaws)
    if not yaws or not all(isinstance(y, (int, float)) and math.isfinite(y) for y in yaws):
        raise DexterousHandCtrlError(f"{where}.approach_yaw_deg = {yaws!r}: expected degrees")
    closing = {}
    for finger, direction in (data.get("closing") or {}).items():
        values = tuple(direction) if isinstance(direction, Sequence) else ()
        count = (finger_joints or {}).get(finger)
        if (
            finger not in shares
            or not values
            or (count is not None and len(values) != count)
            or any(v not in (-1, 0, 1) for v in values)
            or not any(values)
        ):
            raise DexterousHandCtrlError(
                f"{where}.closing.{finger} = {direction!r}: expected a closing finger of this "
                "grasp and -1, 0 or +1 per joint, not all 0"
            )
        closing[str(finger)] = tuple(int(v) for v in values)
    return GraspSpec(
        name=name,
        finger_shares=shares,
        pads=pads,
        preshape=preshape,
        rotation_grasp_palm=rotation,
        object_in_palm_m=_vector3(data["object_in_palm_m"], f"{where}.object_in_palm_m"),
        size_offset_palm=_vector3(data["size_offset_palm"], f"{where}.size_offset_palm"),
        approach_yaw_deg=tuple(float(y) for y in yaws),
        closing=closing,
    )
