"""Feed-forward joint torques: gravity plus the contact wrenches that realise a desired ZMP.

The robot's total contact force follows from the LIPM: ``F = m (c_ddot + g e_z)`` with the
horizontal CoM acceleration ``omega^2 (c - p)`` set by the desired ZMP ``p``. It is split
between the feet by where ``p`` lies on the segment joining the sole centres (all of it on the
stance foot in single support); each foot's centre of pressure keeps the desired ZMP's offset
from that segment, clipped to the sole. With the wrenches ``w_i`` (world axes, at the sole
centres) the static joint torques are ``tau = g(q)_joints - sum_i (J_i^T w_i)_joints``
(pinocchio's generalized gravity and frame Jacobians). Sending them as feed-forward makes
the ankles produce the centre of pressure the stabilizer asks for, so the PD gains only
correct errors (foot force control through the ankle torques).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pinocchio as pin

from biped_gait.core.lipm import STANDARD_GRAVITY
from biped_gait.core.robot_model import BipedModel


class ContactSplit(NamedTuple):
    """Load share and centre of pressure of each foot.

    Attributes:
        share: Side -> fraction of the total force in [0, 1].
        cop: Side -> centre of pressure (x, y) in the world [m].
        zmp: The ZMP the split realises (the desired one clipped to the support) [m].
    """

    share: dict
    cop: dict
    zmp: np.ndarray


def clip_to_sole(point, sole: pin.SE3, half_length: float, half_width: float) -> np.ndarray:
    """Nearest point of a sole rectangle to ``point`` (x, y) [m]."""
    r = sole.rotation
    origin = sole.translation
    dx, dy = float(point[0]) - origin[0], float(point[1]) - origin[1]
    lx = min(max(r[0, 0] * dx + r[1, 0] * dy, -half_length), half_length)
    ly = min(max(r[0, 1] * dx + r[1, 1] * dy, -half_width), half_width)
    return np.array(
        [origin[0] + r[0, 0] * lx + r[0, 1] * ly, origin[1] + r[1, 0] * lx + r[1, 1] * ly]
    )


def split_contact(
    zmp, soles: dict, support: tuple, half_length: float, half_width: float
) -> ContactSplit:
    """Distribute a desired ZMP over the supporting feet.

    Args:
        zmp: Desired ZMP (x, y) [m].
        soles: Side -> sole pose (pinocchio SE3) in the world.
        support: Sides in contact (one or two).
        half_length: Half length of the sole support rectangle [m].
        half_width: Half width [m].

    Returns:
        The split.
    """
    zmp = np.asarray(zmp, dtype=float)
    if len(support) == 1:
        side = support[0]
        cop = clip_to_sole(zmp, soles[side], half_length, half_width)
        return ContactSplit({side: 1.0}, {side: cop}, cop)
    left, right = support
    a, b = soles[left].translation[:2], soles[right].translation[:2]
    axis = a - b
    length2 = float(axis @ axis)
    share_left = min(max(float((zmp - b) @ axis) / length2, 0.0), 1.0) if length2 > 1e-9 else 0.5
    on_segment = b + share_left * axis
    offset = zmp - on_segment
    cops = {
        left: clip_to_sole(a + offset, soles[left], half_length, half_width),
        right: clip_to_sole(b + offset, soles[right], half_length, half_width),
    }
    share = {left: share_left, right: 1.0 - share_left}
    realised = share_left * cops[left] + (1.0 - share_left) * cops[right]
    return ContactSplit(share, cops, realised)


class FeedForward:
    """Gravity and contact torques on the model.

    Args:
        robot: The model.
    """

    def __init__(self, robot: BipedModel):
        self.robot = robot
        self.model = robot.model
        self.data = self.model.createData()

    def torques(
        self,
        q: np.ndarray,
        split: ContactSplit,
        com_acceleration: np.ndarray,
        velocity: np.ndarray | None = None,
        acceleration: np.ndarray | None = None,
    ):
        """Joint torques [N*m] (model joint order) and the foot wrenches used.

        Args:
            q: Configuration (the IK reference).
            split: Load split and centres of pressure.
            com_acceleration: Desired CoM acceleration [m/s^2], shape (3,).
            velocity: Reference generalized velocity; with ``acceleration``, the inertial
                torques of the reference motion (the swing leg's) are included (``rnea``).
            acceleration: Reference generalized acceleration.

        Returns:
            (tau, wrenches): tau shape (nj,); wrenches side -> (force, torque) in world axes at
            the sole centre [N, N*m].
        """
        model, data = self.model, self.data
        if velocity is None or acceleration is None:
            gravity = pin.computeGeneralizedGravity(model, data, q)
        else:
            gravity = pin.rnea(model, data, q, velocity, acceleration)
        pin.computeJointJacobians(model, data, q)
        pin.updateFramePlacements(model, data)
        total = self.robot.mass * (np.asarray(com_acceleration) + [0.0, 0.0, STANDARD_GRAVITY])
        tau = gravity[6:].copy()
        wrenches = {}
        for side, share in split.share.items():
            frame = self.robot.sole_frames[side]
            sole = data.oMf[frame].translation
            force = share * total
            lx, ly = split.cop[side][0] - sole[0], split.cop[side][1] - sole[1]
            # lever x force with the lever on the ground plane (z = 0).
            torque = np.array([ly * force[2], -lx * force[2], lx * force[1] - ly * force[0]])
            jac = pin.getFrameJacobian(model, data, frame, pin.LOCAL_WORLD_ALIGNED)
            tau -= jac[:, 6:].T @ np.concatenate([force, torque])
            wrenches[side] = (force, torque)
        return tau, wrenches
