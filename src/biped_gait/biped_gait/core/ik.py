"""Whole-body differential inverse kinematics (weighted damped least squares) with pinocchio.

Tasks: both soles in 6D, the centre of mass in 3D, pelvis and torso orientation, and a weak
posture task towards the stand posture (which also keeps the knees bent). Each iteration solves::

    min_dv  sum_i w_i |J_i dv - e_i|^2 + w_posture |dv_joints - e_posture|^2 + lambda |dv|^2

with task errors ``e_i`` in the world frame (LOCAL_WORLD_ALIGNED Jacobians), then integrates
``q <- q (+) dv`` on the configuration manifold and clips to the joint limits. The same normal
matrix, factorised once, maps the task velocities to the feed-forward joint velocities.
The floating base is a free variable: only the joint angles are sent to the robot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pinocchio as pin
from scipy.linalg.lapack import dposv

from biped_gait.core.robot_model import BipedModel
from biped_gait.errors import BipedGaitError

LWA = pin.LOCAL_WORLD_ALIGNED


@dataclass(frozen=True)
class IkWeights:
    """Task weights (relative; squared errors are weighted) and the damping."""

    foot: float = 100.0
    com: float = 10.0
    pelvis: float = 1.0
    torso: float = 0.3
    posture: float = 1e-3
    damping: float = 1e-6


@dataclass
class IkTargets:
    """Targets of one IK solve, in the world (plan) frame.

    Attributes:
        feet: Side -> sole pose (pinocchio SE3).
        feet_velocity: Side -> sole twist (linear [m/s], angular [rad/s]), shape (6,).
        com: CoM position [m], shape (3,).
        com_velocity: CoM velocity [m/s].
        pelvis: Pelvis orientation, 3x3.
        pelvis_rate: Pelvis angular velocity [rad/s].
        torso: Torso orientation, 3x3.
    """

    feet: dict
    feet_velocity: dict
    com: np.ndarray
    com_velocity: np.ndarray
    pelvis: np.ndarray
    pelvis_rate: np.ndarray
    torso: np.ndarray


class WholeBodyIk:
    """Differential IK on a :class:`BipedModel`.

    Args:
        robot: The model.
        weights: Task weights.
    """

    def __init__(self, robot: BipedModel, weights: IkWeights = IkWeights()):
        self.robot = robot
        self.weights = weights
        self.model = robot.model
        self.data = self.model.createData()
        nv = self.model.nv
        self._posture_weight = np.zeros(nv)
        self._posture_weight[6:] = weights.posture
        self._reg = np.diag(self._posture_weight + weights.damping)
        self.sides = tuple(robot.sole_frames)
        # Task rows: feet 2 x 6, CoM 3, pelvis 3, torso 3.
        self._row_weights = np.concatenate(
            [
                np.full(12, weights.foot),
                np.full(3, weights.com),
                np.full(3, weights.pelvis),
                np.full(3, weights.torso),
            ]
        )
        self._jac = np.zeros((21, nv))
        self._rhs = np.zeros((21, 2))

    def solve(self, q: np.ndarray, targets: IkTargets, iterations: int = 1):
        """Move ``q`` towards the targets.

        Args:
            q: Start configuration (the previous solution), shape (nq,).
            targets: Task targets.
            iterations: Gauss-Newton iterations (one per period suffices for smooth targets).

        Returns:
            (q, v): the new configuration and the feed-forward generalized velocity.
        """
        model, data, robot = self.model, self.data, self.robot
        jac, rhs = self._jac, self._rhs
        q = q.copy()
        for _ in range(iterations):
            pin.computeJointJacobians(model, data, q)
            pin.updateFramePlacements(model, data)
            row = 0
            for side in self.sides:
                frame = robot.sole_frames[side]
                jac[row : row + 6] = pin.getFrameJacobian(model, data, frame, LWA)
                pose = data.oMf[frame]
                target = targets.feet[side]
                rhs[row : row + 3, 0] = target.translation - pose.translation
                rhs[row + 3 : row + 6, 0] = pin.log3(target.rotation @ pose.rotation.T)
                rhs[row : row + 6, 1] = targets.feet_velocity[side]
                row += 6
            jac[12:15] = pin.jacobianCenterOfMass(model, data, q, False)
            rhs[12:15, 0] = targets.com - data.com[0]
            rhs[12:15, 1] = targets.com_velocity
            jac[15:18] = pin.getFrameJacobian(model, data, 1, LWA)[3:]
            rhs[15:18, 0] = pin.log3(targets.pelvis @ data.oMi[1].rotation.T)
            jac[18:21] = pin.getFrameJacobian(model, data, robot.torso_frame, LWA)[3:]
            torso = data.oMf[robot.torso_frame].rotation
            rhs[18:21, 0] = pin.log3(targets.torso @ torso.T)
            rhs[15:18, 1] = targets.pelvis_rate  # the pelvis's and the torso's
            rhs[18:21, 1] = targets.pelvis_rate
            weighted = jac.T * self._row_weights
            h = weighted @ jac + self._reg
            b = weighted @ rhs
            b[6:, 0] += self._posture_weight[6:] * (robot.q_stand[7:] - q[7:])
            # h is symmetric positive definite (damping): Cholesky solve, no input checks.
            _, solution, info = dposv(h, b, overwrite_a=True, overwrite_b=True)
            if info != 0:
                raise BipedGaitError(f"IK normal matrix not positive definite (LAPACK {info})")
            q = pin.integrate(model, q, solution[:, 0])
            np.clip(q[7:], robot.lower, robot.upper, out=q[7:])
        # The feed-forward velocity maps the task velocities through the same normal matrix
        # (from the last iteration's Jacobians).
        return q, solution[:, 1]
