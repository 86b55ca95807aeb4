"""Arm inverse kinematics with Pinocchio: the palm pose from the arm joints, and back.

:class:`ArmKinematics` loads the robot URDF with its root link fixed (for the G1 the pelvis),
reads the joint positions of the whole robot (so a moving waist or a turned head is taken into
account) and moves only the arm joints. Poses are expressed in a chosen base link (the pelvis).

The solver is damped least squares (Levenberg-Marquardt) on the 6D palm pose error with a
secondary posture task in the Jacobian's null space and joint limits enforced by clamping
(Buss, "Introduction to inverse kinematics with Jacobian transpose, pseudoinverse and damped
least squares methods", 2004; Nakamura and Hanafusa 1986 for the damping). :meth:`step` limits
how far the arm moves in one call, so that tracking a moving target at the control rate respects
the joint velocity limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pinocchio as pin

from dexterous_hand_ctrl.errors import DexterousHandCtrlError

_IDENTITY6 = np.eye(6)


class IkResult(NamedTuple):
    """Result of :meth:`ArmKinematics.solve`.

    Attributes:
        q_arm: Arm joint positions [rad], in :attr:`ArmKinematics.arm_joints` order.
        position_error_m: Remaining palm position error [m].
        rotation_error_rad: Remaining palm rotation error [rad].
        converged: True if both errors are within the tolerances.
        iterations: Iterations used.
    """

    q_arm: np.ndarray
    position_error_m: float
    rotation_error_rad: float
    converged: bool
    iterations: int


class ArmKinematics:
    """Palm kinematics of one arm of a fixed-root robot model.

    Args:
        urdf_path: Robot URDF; its root link is fixed.
        arm_joints: Arm joint names, shoulder to wrist.
        palm_link: Link whose pose is controlled.
        base_link: Link the poses are expressed in (e.g. "pelvis").
        joint_margin_rad: The solver keeps this far inside the URDF joint limits [rad].

    Raises:
        DexterousHandCtrlError: Unknown joints or links, or a joint that is not one-dof.
    """

    def __init__(
        self,
        urdf_path: str | Path,
        arm_joints: Sequence[str],
        palm_link: str,
        base_link: str,
        joint_margin_rad: float = 0.02,
    ):
        self.model = pin.buildModelFromUrdf(str(urdf_path))
        self.data = self.model.createData()
        self.arm_joints = tuple(arm_joints)
        missing = [j for j in self.arm_joints if not self.model.existJointName(j)]
        if missing or not self.arm_joints:
            raise DexterousHandCtrlError(
                f"arm joints {missing or '[]'} are not in the URDF {str(urdf_path)!r}"
            )
        self._arm_q = np.array([self._one_dof(j).idx_q for j in self.arm_joints])
        self._arm_v = np.array([self._one_dof(j).idx_v for j in self.arm_joints])
        self.lower = self.model.lowerPositionLimit[self._arm_q] + joint_margin_rad
        self.upper = self.model.upperPositionLimit[self._arm_q] - joint_margin_rad
        self.velocity_limit = self.model.velocityLimit[self._arm_v].copy()
        self._palm = self._frame(palm_link)
        self._base = self._frame(base_link)
        self.q = pin.neutral(self.model)
        self.iteration_step_rad = 0.2
        self._weights: tuple[float, np.ndarray] | None = None
        self._joint_index: dict[str, int] = {}
        for j in range(1, self.model.njoints):
            joint = self.model.joints[j]
            if joint.nq == 1:
                self._joint_index[self.model.names[j]] = joint.idx_q

    def _one_dof(self, name: str):
        joint = self.model.joints[self.model.getJointId(name)]
        if joint.nq != 1:
            raise DexterousHandCtrlError(f"arm joint {name!r} has nq = {joint.nq}: expected 1")
        return joint

    def _frame(self, link: str) -> int:
        if not self.model.existFrame(link):
            raise DexterousHandCtrlError(f"link {link!r} is not in the robot model")
        return self.model.getFrameId(link)

    def tighten_limits(self, limits: Mapping[str, tuple[float, float]]) -> None:
        """Narrow some arm joints' limits (e.g. to keep the arm off the torso) [rad].

        Raises:
            DexterousHandCtrlError: For a joint that is not an arm joint or an empty range.
        """
        for joint, (lower, upper) in limits.items():
            if joint not in self.arm_joints:
                raise DexterousHandCtrlError(f"ik limit for {joint!r}: not an arm joint")
            i = self.arm_joints.index(joint)
            self.lower[i] = max(self.lower[i], float(lower))
            self.upper[i] = min(self.upper[i], float(upper))
            if self.lower[i] >= self.upper[i]:
                raise DexterousHandCtrlError(
                    f"ik limit for {joint!r}: [{lower}, {upper}] leaves no range within the URDF"
                )

    def gravity(self, q_arm: np.ndarray) -> np.ndarray:
        """Gravity torques of the arm joints at ``q_arm`` (rest of the robot as last set) [N*m]."""
        torques = pin.computeGeneralizedGravity(self.model, self.data, self._with_arm(q_arm))
        return torques[self._arm_v].copy()

    def has_frame(self, name: str) -> bool:
        """True if ``name`` is a link or joint frame of the model."""
        return self.model.existFrame(name)

    def joint_indexer(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Indices to copy a joint-state vector into the model configuration.

        Args:
            names: Joint names of a joint-state message, in its order.

        Returns:
            (message indices, model configuration indices) of the names the model knows.
        """
        pairs = [(i, self._joint_index[n]) for i, n in enumerate(names) if n in self._joint_index]
        if not pairs:
            return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
        source, target = zip(*pairs, strict=True)
        return np.array(source), np.array(target)

    def set_robot_state(self, positions: np.ndarray, indexer: tuple[np.ndarray, np.ndarray]):
        """Take every known joint's position (waist, head, other arm...) from a joint state.

        Args:
            positions: Joint positions [rad] of a joint-state message.
            indexer: From :meth:`joint_indexer` for that message's names.
        """
        source, target = indexer
        self.q[target] = np.asarray(positions, dtype=float)[source]

    def set_joint_positions(self, positions: Mapping[str, float]) -> None:
        """Set named joint positions [rad] in the model configuration (unknown names ignored)."""
        for name, value in positions.items():
            index = self._joint_index.get(name)
            if index is not None:
                self.q[index] = float(value)

    def arm_positions(self) -> np.ndarray:
        """The arm joints' positions in the model configuration [rad]."""
        return self.q[self._arm_q].copy()

    def _with_arm(self, q_arm: np.ndarray) -> np.ndarray:
        q_arm = np.asarray(q_arm, dtype=float)
        if q_arm.shape != (len(self.arm_joints),) or not np.isfinite(q_arm).all():
            raise DexterousHandCtrlError(
                f"arm joint vector has shape {q_arm.shape}: expected ({len(self.arm_joints)},) "
                f"finite values [rad] ordered as {self.arm_joints}"
            )
        q = self.q.copy()
        q[self._arm_q] = q_arm
        return q

    def frame_pose(self, frame: str, q_arm: np.ndarray | None = None) -> pin.SE3:
        """Pose of any model frame in the base link frame.

        Args:
            frame: Link or joint frame name.
            q_arm: Arm joint positions [rad]; None keeps those of the model configuration.
        """
        q = self.q if q_arm is None else self._with_arm(q_arm)
        pin.framesForwardKinematics(self.model, self.data, q)
        return self.data.oMf[self._base].actInv(self.data.oMf[self._frame(frame)])

    def palm_pose(self, q_arm: np.ndarray | None = None) -> pin.SE3:
        """Palm pose in the base link frame for the given arm joints."""
        q = self.q if q_arm is None else self._with_arm(q_arm)
        pin.framesForwardKinematics(self.model, self.data, q)
        return self.data.oMf[self._base].actInv(self.data.oMf[self._palm])

    def _error_and_jacobian(self, q: np.ndarray, target: pin.SE3, jacobian: bool = True):
        """6D palm error (position, rotation as log3) in the base frame and its Jacobian."""
        model, data = self.model, self.data
        if jacobian:
            # Kinematics along the palm's chain only (cheaper than every joint's Jacobian).
            jac = pin.computeFrameJacobian(
                model, data, q, self._palm, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
            )[:, self._arm_v]
        else:
            pin.forwardKinematics(model, data, q)
        palm_world = pin.updateFramePlacement(model, data, self._palm)
        base = pin.updateFramePlacement(model, data, self._base)
        rotation = base.rotation.T
        palm_rotation = rotation @ palm_world.rotation
        error = np.empty(6)
        error[:3] = target.translation - rotation @ (palm_world.translation - base.translation)
        error[3:] = pin.log3(target.rotation @ palm_rotation.T)
        if not jacobian:
            return error, None
        # World-aligned -> base-aligned (the base does not move with the arm joints).
        jac[:3] = rotation @ jac[:3]
        jac[3:] = rotation @ jac[3:]
        return error, jac

    def track(
        self,
        target: pin.SE3,
        q_arm: np.ndarray,
        rotation_weight: float = 0.3,
        damping: float = 1e-2,
    ) -> np.ndarray:
        """One damped least-squares step toward ``target`` from ``q_arm`` (resolved rate).

        Cheaper than :meth:`solve` (no convergence test); for tracking a moving target once
        per control period. The result is clipped into the limits (the caller limits speed).

        Returns:
            The new arm joints [rad].
        """
        error, jac = self._error_and_jacobian(self._with_arm(q_arm), target)
        weights = self._task_weights(rotation_weight)
        weighted = jac * weights[:, None]
        lhs = weighted @ weighted.T
        lhs.flat[::7] += damping**2  # the diagonal
        dq = weighted.T @ np.linalg.solve(lhs, weights * error)
        largest = np.abs(dq).max()
        if largest > self.iteration_step_rad:
            dq *= self.iteration_step_rad / largest
        return np.minimum(np.maximum(q_arm + dq, self.lower), self.upper)

    def _task_weights(self, rotation_weight: float) -> np.ndarray:
        """Row weights of the 6D palm task (position 1, rotation ``rotation_weight``)."""
        cached = self._weights
        if cached is None or cached[0] != rotation_weight:
            w = float(rotation_weight)
            cached = self._weights = (rotation_weight, np.array([1.0, 1.0, 1.0, w, w, w]))
        return cached[1]

    def solve(
        self,
        target: pin.SE3,
        q_arm_start: np.ndarray,
        q_arm_rest: np.ndarray | None = None,
        rotation_weight: float = 0.3,
        damping: float = 1e-2,
        posture_gain: float = 0.05,
        max_iterations: int = 100,
        position_tolerance_m: float = 1e-3,
        rotation_tolerance_rad: float = 1e-2,
        max_step_rad: float | None = None,
    ) -> IkResult:
        """Damped least-squares IK for a palm pose in the base frame.

        Args:
            target: Desired palm pose in the base frame.
            q_arm_start: Initial arm joints [rad].
            q_arm_rest: Posture pulled toward in the null space [rad]; None: ``q_arm_start``.
            rotation_weight: Weight of the rotation error [m/rad] relative to position.
            damping: Levenberg-Marquardt damping [m].
            posture_gain: Fraction of the posture error corrected per iteration, in [0, 1].
            max_iterations: Iteration limit (1 gives one resolved-rate step).
            position_tolerance_m: Convergence tolerance on position [m].
            rotation_tolerance_rad: Convergence tolerance on rotation [rad].
            max_step_rad: Largest change of any joint over the whole call [rad]; None: no limit.

        Returns:
            The solution (clamped to the joint limits) and its remaining errors.
        """
        q_start = np.clip(np.asarray(q_arm_start, dtype=float), self.lower, self.upper)
        rest = q_start if q_arm_rest is None else np.asarray(q_arm_rest, dtype=float)
        q_arm = q_start.copy()
        weights = self._task_weights(rotation_weight)
        identity = np.eye(len(q_arm))
        regularisation = damping**2 * _IDENTITY6
        lower, upper, step_rad = self.lower, self.upper, self.iteration_step_rad
        # One full configuration, its arm joints replaced per iteration (as _with_arm would).
        q = self._with_arm(q_arm)
        arm_q = self._arm_q
        iterations = 0
        error = np.zeros(6)
        for iterations in range(1, max_iterations + 1):
            if iterations > 1:
                if not np.isfinite(q_arm).all():
                    self._with_arm(q_arm)  # raises
                q[arm_q] = q_arm
            error, jac = self._error_and_jacobian(q, target)
            e_pos, e_rot = error[:3], error[3:]
            if (
                math.sqrt(e_pos.dot(e_pos)) < position_tolerance_m
                and math.sqrt(e_rot.dot(e_rot)) < rotation_tolerance_rad
            ):
                iterations -= 1
                break
            weighted = jac * weights[:, None]
            lhs = weighted @ weighted.T + regularisation
            pinv = weighted.T @ np.linalg.inv(lhs)
            dq = pinv @ (weights * error)
            if posture_gain != 0.0:  # the null-space term is exactly zero otherwise
                dq += (identity - pinv @ weighted) @ (posture_gain * (rest - q_arm))
            largest = np.abs(dq).max()
            if largest > step_rad:  # keep each step in the linear region
                dq *= step_rad / largest
            q_arm = np.minimum(np.maximum(q_arm + dq, lower), upper)
            if max_step_rad is not None:
                q_arm = q_start + np.clip(q_arm - q_start, -max_step_rad, max_step_rad)
        else:
            error, _ = self._error_and_jacobian(self._with_arm(q_arm), target, jacobian=False)
        position_error = float(np.linalg.norm(error[:3]))
        rotation_error = float(np.linalg.norm(error[3:]))
        return IkResult(
            q_arm,
            position_error,
            rotation_error,
            position_error < position_tolerance_m and rotation_error < rotation_tolerance_rad,
            iterations,
        )
