"""Kinematic model of a dexterous hand: fingertip positions and Jacobians with Pinocchio.

A hand is described by a YAML-shaped dict (see :data:`RIGHT_DEX3`): its palm link and, per finger,
its joints (proximal to distal), the direction each joint moves to close the hand, the distal
link and the fingertip point on it. :class:`HandModel` loads the robot URDF, locks every joint
that is not a hand joint (at its neutral position, which does not matter: fingertips are
expressed in the palm frame) and computes kinematics in the palm frame.

Hand joint vectors are ordered finger by finger, as :attr:`HandModel.joint_names` lists them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pinocchio as pin

from dexterous_hand_ctrl.errors import DexterousHandCtrlError

G1_URDF = "g1_description/urdf/g1_29dof_with_hand_rev_1_0.urdf"
"""The G1 with Dex3 hands, relative to example-robot-data's ``robots`` directory."""

RIGHT_DEX3: dict[str, Any] = {
    "name": "right_dex3",
    "palm_link": "right_hand_palm_link",
    "fingers": {
        # Tip offsets: the distal link meshes end 0.052 m along the finger from the last joint.
        "thumb": {
            "joints": [
                "right_hand_thumb_0_joint",
                "right_hand_thumb_1_joint",
                "right_hand_thumb_2_joint",
            ],
            "close_direction": [0, -1, -1],
            "tip_link": "right_hand_thumb_2_link",
            "tip_offset_m": [0.0, 0.05, 0.0],
        },
        "index": {
            "joints": ["right_hand_index_0_joint", "right_hand_index_1_joint"],
            "close_direction": [1, 1],
            "tip_link": "right_hand_index_1_link",
            "tip_offset_m": [0.05, 0.0, 0.0],
        },
        "middle": {
            "joints": ["right_hand_middle_0_joint", "right_hand_middle_1_joint"],
            "close_direction": [1, 1],
            "tip_link": "right_hand_middle_1_link",
            "tip_offset_m": [0.05, 0.0, 0.0],
        },
    },
}
"""Right Dex3 hand of the G1 (thumb opposes index and middle; the left hand is mirrored)."""


def find_example_robot_data_dir() -> Path:
    """Locate example-robot-data's ``robots`` directory.

    ``$EXAMPLE_ROBOT_DATA_DIR`` wins when set; otherwise the cmeel wheel's location under
    ``sys.prefix`` (``lib/python3.X/site-packages/cmeel.prefix/share/...``) and then
    ``sys.prefix/share/example-robot-data/robots`` are tried.

    Returns:
        The ``robots`` directory.

    Raises:
        DexterousHandCtrlError: If the variable names a missing directory or nothing is found.
    """
    env = os.environ.get("EXAMPLE_ROBOT_DATA_DIR")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise DexterousHandCtrlError(
                f"EXAMPLE_ROBOT_DATA_DIR = {env!r} is not a directory: expected "
                "example-robot-data's 'robots' directory"
            )
        return path
    prefix = Path(sys.prefix)
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        prefix / "lib" / py / "site-packages" / "cmeel.prefix" / "share" / "example-robot-data",
        prefix / "share" / "example-robot-data",
    ]
    for candidate in candidates:
        if (candidate / "robots").is_dir():
            return candidate / "robots"
    raise DexterousHandCtrlError(
        f"example-robot-data not found in {[str(c / 'robots') for c in candidates]}: install "
        "it (pip install example-robot-data) or set EXAMPLE_ROBOT_DATA_DIR"
    )


def g1_urdf_path() -> Path:
    """Path of the G1 URDF with Dex3 hands (see :func:`find_example_robot_data_dir`)."""
    path = find_example_robot_data_dir() / G1_URDF
    if not path.is_file():
        raise DexterousHandCtrlError(f"G1 URDF {str(path)!r} does not exist")
    return path


@dataclass(frozen=True)
class FingerSpec:
    """One finger of a hand description.

    Attributes:
        name: Finger name, e.g. "index".
        joints: Joint names, proximal to distal.
        close_direction: Per joint, +1 / -1 if closing the hand increases / decreases the angle,
            0 if the joint does not take part in closing (e.g. the thumb's rotation).
        tip_link: Link the fingertip point is attached to.
        tip_offset_m: Fingertip point in the ``tip_link`` frame [m].
        pads: Tactile pads on this finger (optional).
        max_force_n: Largest normal force the finger may apply [N] (optional, default inf).
    """

    name: str
    joints: tuple[str, ...]
    close_direction: tuple[int, ...]
    tip_link: str
    tip_offset_m: tuple[float, float, float]
    pads: tuple[str, ...] = ()
    max_force_n: float = float("inf")


def _finger_from_dict(name: str, data: Mapping[str, Any]) -> FingerSpec:
    for key in ("joints", "close_direction", "tip_link", "tip_offset_m"):
        if key not in data:
            raise DexterousHandCtrlError(f"finger {name!r} is missing key {key!r}")
    joints = tuple(str(j) for j in data["joints"])
    direction = tuple(data["close_direction"])
    if not joints or len(direction) != len(joints) or any(d not in (-1, 0, 1) for d in direction):
        raise DexterousHandCtrlError(
            f"finger {name!r}: close_direction = {list(direction)} for joints {list(joints)}: "
            "expected one of -1, 0, +1 per joint (at least one joint)"
        )
    offset = np.asarray(data["tip_offset_m"], dtype=float)
    if offset.shape != (3,) or not np.all(np.isfinite(offset)):
        raise DexterousHandCtrlError(
            f"finger {name!r}: tip_offset_m = {data['tip_offset_m']!r}: "
            "expected 3 finite values [m]"
        )
    max_force = float(data.get("max_force_n", float("inf")))
    if not max_force > 0.0:
        raise DexterousHandCtrlError(f"finger {name!r}: max_force_n = {max_force!r}: expected > 0")
    return FingerSpec(
        name=name,
        joints=joints,
        close_direction=tuple(int(d) for d in direction),
        tip_link=str(data["tip_link"]),
        tip_offset_m=(float(offset[0]), float(offset[1]), float(offset[2])),
        pads=tuple(str(p) for p in data.get("pads", ())),
        max_force_n=max_force,
    )


class HandModel:
    """Fingertip kinematics of one hand in its palm frame.

    Attributes:
        name: Hand name from the description.
        fingers: Finger specifications, in description order.
        joint_names: Hand joints, finger by finger: the order of every hand joint vector.
        lower: Lower joint limits [rad], in :attr:`joint_names` order.
        upper: Upper joint limits [rad], in :attr:`joint_names` order.
        model: The Pinocchio model reduced to the hand joints, with ``<finger>_tip`` frames.
        data: Its Pinocchio data (a HandModel is not thread-safe).
    """

    def __init__(self, description: Mapping[str, Any], urdf_path: str | Path | None = None):
        """Load the robot and reduce it to the hand's joints.

        Args:
            description: Hand description dict, shaped like :data:`RIGHT_DEX3`.
            urdf_path: Robot URDF; defaults to the G1 with hands (:func:`g1_urdf_path`).

        Raises:
            DexterousHandCtrlError: If the description is malformed or names joints or links the
                URDF lacks, or a hand joint is not a one-degree-of-freedom joint.
        """
        fingers = description.get("fingers")
        if not isinstance(fingers, Mapping) or not fingers or "palm_link" not in description:
            raise DexterousHandCtrlError(
                "hand description needs 'palm_link' and a non-empty 'fingers' mapping"
            )
        self.name = str(description.get("name", "hand"))
        self.fingers = tuple(_finger_from_dict(str(n), f) for n, f in fingers.items())
        self.joint_names = tuple(j for f in self.fingers for j in f.joints)
        if len(set(self.joint_names)) != len(self.joint_names):
            raise DexterousHandCtrlError(f"hand joints {self.joint_names} contain duplicates")

        path = Path(urdf_path) if urdf_path is not None else g1_urdf_path()
        full = pin.buildModelFromUrdf(str(path))
        missing = [j for j in self.joint_names if not full.existJointName(j)]
        if missing:
            raise DexterousHandCtrlError(f"joints {missing} are not in the URDF {str(path)!r}")
        keep = {full.getJointId(j) for j in self.joint_names}
        lock = [i for i in range(1, full.njoints) if i not in keep]
        self.model = pin.buildReducedModel(full, lock, pin.neutral(full))

        self._idx_q = []
        for j in self.joint_names:
            joint = self.model.joints[self.model.getJointId(j)]
            if joint.nq != 1 or joint.nv != 1:
                raise DexterousHandCtrlError(f"joint {j!r} has nq = {joint.nq}: expected 1")
            self._idx_q.append(joint.idx_q)
        self._idx_q = np.array(self._idx_q)  # idx_q == idx_v for one-dof joints
        self.lower = self.model.lowerPositionLimit[self._idx_q].copy()
        self.upper = self.model.upperPositionLimit[self._idx_q].copy()

        self._palm = self._frame_id(str(description["palm_link"]))
        self._tips = {}
        for f in self.fingers:
            link = self.model.frames[self._frame_id(f.tip_link)]
            placement = link.placement * pin.SE3(np.eye(3), np.array(f.tip_offset_m))
            frame = pin.Frame(f"{f.name}_tip", link.parentJoint, placement, pin.FrameType.OP_FRAME)
            self._tips[f.name] = self.model.addFrame(frame)
        self.data = self.model.createData()

    def _frame_id(self, link: str) -> int:
        if not self.model.existFrame(link, pin.FrameType.BODY):
            raise DexterousHandCtrlError(f"link {link!r} is not in the robot model")
        return self.model.getFrameId(link, pin.FrameType.BODY)

    @property
    def finger_names(self) -> tuple[str, ...]:
        """Finger names, in description order."""
        return tuple(f.name for f in self.fingers)

    def _full_q(self, q_hand: np.ndarray) -> np.ndarray:
        q_hand = np.asarray(q_hand, dtype=float)
        if q_hand.shape != (len(self.joint_names),) or not np.all(np.isfinite(q_hand)):
            raise DexterousHandCtrlError(
                f"hand joint vector has shape {q_hand.shape}: expected "
                f"({len(self.joint_names)},) finite values [rad] ordered as {self.joint_names}"
            )
        q = pin.neutral(self.model)
        q[self._idx_q] = q_hand
        return q

    def posture(self, closure: float) -> np.ndarray:
        """Joint positions between open (0) and fully closed (1), within the joint limits.

        Open is 0 rad (clipped into the limits) for every joint; fully closed puts each joint
        with a non-zero ``close_direction`` at its limit in that direction. Collisions are not
        checked: on the Dex3 the fully closed posture puts fingertips inside the palm.

        Args:
            closure: Closure fraction in [0, 1].

        Returns:
            Hand joint positions [rad], in :attr:`joint_names` order.

        Raises:
            DexterousHandCtrlError: If ``closure`` is outside [0, 1].
        """
        if not 0.0 <= closure <= 1.0:
            raise DexterousHandCtrlError(f"closure = {closure!r}: expected a value in [0, 1]")
        direction = np.array([d for f in self.fingers for d in f.close_direction])
        q_open = np.clip(0.0, self.lower, self.upper)
        q_closed = np.where(direction > 0, self.upper, np.where(direction < 0, self.lower, q_open))
        return q_open + closure * (q_closed - q_open)

    def fingertip_positions(self, q_hand: np.ndarray) -> dict[str, np.ndarray]:
        """Fingertip points in the palm frame.

        Args:
            q_hand: Hand joint positions [rad], in :attr:`joint_names` order.

        Returns:
            Finger name -> fingertip position in the palm frame [m], shape (3,).
        """
        pin.framesForwardKinematics(self.model, self.data, self._full_q(q_hand))
        palm = self.data.oMf[self._palm]
        return {
            name: palm.actInv(self.data.oMf[fid].translation).copy()
            for name, fid in self._tips.items()
        }

    def fingertip_jacobian(self, q_hand: np.ndarray, finger: str) -> np.ndarray:
        """Linear Jacobian of a fingertip point in the palm frame.

        Args:
            q_hand: Hand joint positions [rad], in :attr:`joint_names` order.
            finger: Finger name.

        Returns:
            d(fingertip position in palm frame) / d(q_hand) [m/rad], shape (3, num hand joints),
            columns in :attr:`joint_names` order (zero for other fingers' joints).

        Raises:
            DexterousHandCtrlError: If ``finger`` is not one of the hand's fingers.
        """
        if finger not in self._tips:
            raise DexterousHandCtrlError(
                f"finger {finger!r} is unknown: expected one of {self.finger_names}"
            )
        q = self._full_q(q_hand)
        jac = pin.computeFrameJacobian(
            self.model, self.data, q, self._tips[finger], pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        )
        pin.updateFramePlacements(self.model, self.data)
        rot_palm = self.data.oMf[self._palm].rotation
        # The palm does not move with the hand joints: only the world -> palm rotation remains.
        return rot_palm.T @ jac[:3, self._idx_q]

    def has_link(self, link: str) -> bool:
        """True if ``link`` is a body of the reduced hand model."""
        return self.model.existFrame(link, pin.FrameType.BODY)

    def point_jacobian(
        self, q_hand: np.ndarray, link: str, point_link: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position and linear Jacobian of a point fixed on a hand link, in the palm frame.

        Args:
            q_hand: Hand joint positions [rad], in :attr:`joint_names` order.
            link: The link the point is fixed to (e.g. a tactile pad's link).
            point_link: The point in the link frame [m], shape (3,).

        Returns:
            (position in the palm frame [m] (3,), Jacobian [m/rad] (3, num hand joints),
            rotation of the link in the palm frame (3, 3)).

        Raises:
            DexterousHandCtrlError: If the link is not part of the hand model.
        """
        frame_id = self._frame_id(link)
        q = self._full_q(q_hand)
        pin.computeJointJacobians(self.model, self.data, q)
        pin.updateFramePlacements(self.model, self.data)
        frame = self.model.frames[frame_id]
        placement = self.data.oMf[frame_id]
        world_point = placement.act(np.asarray(point_link, dtype=float))
        joint_jac = pin.getJointJacobian(
            self.model, self.data, frame.parentJoint, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        )
        # Shift the joint origin's linear velocity to the point: v_p = v_o + w x (p - o).
        arm = world_point - self.data.oMi[frame.parentJoint].translation
        linear = joint_jac[:3] - pin.skew(arm) @ joint_jac[3:]
        palm = self.data.oMf[self._palm]
        return (
            palm.actInv(world_point),
            palm.rotation.T @ linear[:, self._idx_q],
            palm.rotation.T @ placement.rotation,
        )
