"""Pinocchio model of the walking part of the robot: free base, legs and waist.

Joints the gait does not control (arms, hands) are locked at their stand posture
(``pinocchio.buildReducedModel``): the model stays small (21 velocity variables on the G1) so
that kinematics, Jacobians and gravity cost a few microseconds each. Sole frames are added at
the sole centres of the robot description.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np
import pinocchio as pin

from biped_gait.errors import BipedGaitError


@dataclass(frozen=True)
class ModelSpec:
    """What the model needs from the robot description.

    Attributes:
        urdf_path: URDF file.
        controlled_joints: Joints the gait commands (legs and waist), any order.
        posture: Stand angle per joint [rad]; joints not named are at 0.
        feet: Side ("left"/"right") -> (link name, sole centre in the link frame [m]).
        torso_link: Link whose orientation is kept upright.
        imu_link: Link of the IMU.
    """

    urdf_path: pathlib.Path
    controlled_joints: tuple[str, ...]
    posture: dict
    feet: dict
    torso_link: str
    imu_link: str


class BipedModel:
    """Reduced model with sole frames and index maps.

    Args:
        spec: Model specification.

    Raises:
        BipedGaitError: Unknown joints or links, or an unreadable URDF.
    """

    def __init__(self, spec: ModelSpec):
        try:
            full = pin.buildModelFromUrdf(str(spec.urdf_path), pin.JointModelFreeFlyer())
        except (RuntimeError, ValueError, OSError) as error:
            raise BipedGaitError(f"cannot read URDF {spec.urdf_path}: {error}") from error
        names = [full.names[i] for i in range(1, full.njoints)]
        unknown = [j for j in spec.controlled_joints if j not in names]
        if unknown:
            raise BipedGaitError(f"controlled joints not in the URDF: {unknown}")
        q_lock = pin.neutral(full)
        for name, angle in spec.posture.items():
            if name in names:
                q_lock[full.joints[full.getJointId(name)].idx_q] = angle
        lock = [
            full.getJointId(n)
            for n in names
            if n not in spec.controlled_joints and n != "root_joint"
        ]
        model = pin.buildReducedModel(full, lock, q_lock)
        self.sole_frames = {}
        for side, (link, sole) in spec.feet.items():
            if not model.existFrame(link):
                raise BipedGaitError(f"foot link {link!r} not in the URDF")
            parent = model.getFrameId(link)
            frame = model.frames[parent]
            placement = frame.placement * pin.SE3(np.eye(3), np.asarray(sole, dtype=float))
            self.sole_frames[side] = model.addFrame(
                pin.Frame(f"{side}_sole", frame.parentJoint, parent, placement, pin.OP_FRAME)
            )
        for link in (spec.torso_link, spec.imu_link):
            if not model.existFrame(link):
                raise BipedGaitError(f"link {link!r} not in the URDF")
        self.model = model
        self.data = model.createData()
        self.torso_frame = model.getFrameId(spec.torso_link)
        self.imu_frame = model.getFrameId(spec.imu_link)
        self.foot_frames = {side: model.getFrameId(link) for side, (link, _) in spec.feet.items()}
        # Controlled joints in model order; q index = 7 + i, v index = 6 + i.
        self.joint_names = tuple(model.names[i] for i in range(2, model.njoints))
        self.nj = len(self.joint_names)
        self.mass = float(sum(inertia.mass for inertia in model.inertias))
        self.lower = model.lowerPositionLimit[7:].copy()
        self.upper = model.upperPositionLimit[7:].copy()
        self.effort_limit = model.effortLimit[6:].copy()
        q = pin.neutral(model)
        for i, name in enumerate(self.joint_names):
            q[7 + i] = spec.posture.get(name, 0.0)
        self.q_stand = q
        pin.framesForwardKinematics(model, self.data, q)
        # Pelvis -> IMU placement (fixed).
        self.imu_in_base = self.data.oMf[self.imu_frame].copy()

    def configuration(self, base_position, base_rotation, joints) -> np.ndarray:
        """Model configuration from a base pose and joint angles (model order).

        Args:
            base_position: Base origin in the world [m].
            base_rotation: Base orientation, 3x3 rotation matrix.
            joints: Joint angles [rad], length :attr:`nj`.
        """
        q = np.empty(self.model.nq)
        q[:3] = base_position
        q[3:7] = pin.Quaternion(np.asarray(base_rotation)).coeffs()  # x, y, z, w
        q[7:] = joints
        return q

    def sole_pose(self, q: np.ndarray, side: str) -> pin.SE3:
        """World pose of a sole frame (forward kinematics computed here)."""
        pin.framesForwardKinematics(self.model, self.data, q)
        return self.data.oMf[self.sole_frames[side]].copy()
