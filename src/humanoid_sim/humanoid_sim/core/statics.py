"""Static equilibrium of a standing humanoid: feed-forward joint torques for a posture.

For a robot at rest on two feet, the joint torques must balance gravity given the contact
wrenches: the floating-base rows of ``g(q) = J_c^T f`` fix the total foot wrench, the minimum-norm
solution splits it between the feet, and the joint rows then give
``tau = g_joints(q) - J_c,joints^T f``.
"""

from __future__ import annotations

import mujoco
import numpy as np


def foot_jacobian(model, data, body_id: int, point_world: np.ndarray) -> np.ndarray:
    """Stacked (6, nv) Jacobian [linear; angular] of a point fixed on a body."""
    jacp = np.zeros((3, model.nv))
    jacr = np.zeros((3, model.nv))
    mujoco.mj_jac(model, data, jacp, jacr, point_world, body_id)
    return np.vstack([jacp, jacr])


def standing_feedforward(model, data, base_dofs, joint_dofs, foot_points) -> tuple:
    """Joint torques that hold the current posture in static equilibrium on the feet.

    Args:
        model: MuJoCo model.
        data: Data holding the posture (qpos); qvel is ignored (treated as zero).
        base_dofs: The 6 dof indices of the floating base.
        joint_dofs: The dof indices of the actuated joints.
        foot_points: List of (body id, sole point in world) of the supporting feet.

    Returns:
        (tau, wrenches): joint torques [N*m] for ``joint_dofs`` and the foot wrenches (6 each,
        force then torque, world frame) they assume.
    """
    saved_qvel = data.qvel.copy()
    data.qvel[:] = 0.0
    mujoco.mj_forward(model, data)
    gravity = data.qfrc_bias.copy()
    data.qvel[:] = saved_qvel
    contact_jacobian = np.vstack([foot_jacobian(model, data, b, p) for b, p in foot_points])
    base = contact_jacobian[:, base_dofs]
    wrenches = np.linalg.pinv(base.T) @ gravity[base_dofs]
    tau = gravity[joint_dofs] - contact_jacobian[:, joint_dofs].T @ wrenches
    mujoco.mj_forward(model, data)
    return tau, wrenches.reshape(-1, 6)
