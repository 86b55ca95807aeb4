"""The grasp state machine of one hand: pre-shape, reach, close, squeeze, lift, hold, release.

``GraspController.step(now, joints, tactile)`` is called once per control period with the
newest joint state and tactile contacts (time passed in) and returns the joint references of
the hand and the arm. A goal runs through::

    PRESHAPE -> REACH -> CLOSE -> SQUEEZE -> [LIFT] -> HOLD (goal succeeds after settling)
    release goal:  RELEASE (open) -> RETRACT -> HOME -> IDLE

A release that finds the arm at its home posture (a goal rejected before any motion, a second
release) only opens the hand. RETRACT backs the palm off along its approach and up; HOME
withdraws the palm toward the body (to the home palm's distance ahead of it, at its height)
and then moves the arm in joint space to its home posture (the one the robot stands and walks
with: a robot that walks on after a failed grasp must not carry its arm stretched toward the
table). RETRACT goes on to HOME when
its path's time is up even short of the path's end (a retreat out of reach, e.g. after a lift).

After a successful grasp the controller stays in HOLD (force regulation and slip reflex on)
until a release goal. Any safety check failing (stale or invalid input, over-force, lost
contact, a stalled or missing finger, a phase timeout) stops squeezing, holds the measured
finger positions and the arm where it is, and ends the goal with the reason. Cancelling stops
the motion where it is; a held object stays held.
"""

from __future__ import annotations

import numpy as np
import pinocchio as pin

from dexterous_hand_ctrl.core.arm_ik import ArmKinematics
from dexterous_hand_ctrl.core.arm_motion import ArmMotion
from dexterous_hand_ctrl.core.contacts import (
    TactileSnapshot,
    blocking_contacts,
    finger_forces,
    force_directions,
)
from dexterous_hand_ctrl.core.controller_types import (
    GRIPPING,
    ControllerOutput,
    ControllerParams,
    GraspOutcome,
    JointInput,
    Phase,
)
from dexterous_hand_ctrl.core.finger_control import FingerController, FingerMode
from dexterous_hand_ctrl.core.goal import GoalRejected, GraspGoal
from dexterous_hand_ctrl.core.grasp_planner import GraspPlanner, PlanningError
from dexterous_hand_ctrl.core.hand_description import HandDescription
from dexterous_hand_ctrl.core.hand_model import HandModel
from dexterous_hand_ctrl.core.safety import SafetyMonitor
from dexterous_hand_ctrl.core.slip_reflex import GripForce

__all__ = [
    "ControllerOutput",
    "ControllerParams",
    "GraspController",
    "GraspOutcome",
    "JointInput",
    "Phase",
]

#: A release finds the arm at home when every arm joint is this close to the home posture [rad].
HOME_TOLERANCE_RAD = 0.03


class GraspController:
    """Grasp state machine of one hand (see the module docstring).

    Args:
        hand: The hand's description.
        params: Controller parameters.
    """

    def __init__(self, hand: HandDescription, params: ControllerParams | None = None):
        self.hand = hand
        self.params = params or ControllerParams()
        self.model = HandModel(hand.model_dict(), hand.urdf_path)
        kp = hand.finger_gains[0]
        self.fingers: dict[str, FingerController] = {}
        self._slices: dict[str, slice] = {}
        start = 0
        for spec in hand.fingers:
            end = start + len(spec.joints)
            self._slices[spec.name] = slice(start, end)
            lower, upper = self.model.lower[start:end], self.model.upper[start:end]
            self.fingers[spec.name] = FingerController(spec, lower, upper, kp, self.params.finger)
            start = end
        self.arm: ArmKinematics | None = None
        self.planner: GraspPlanner | None = None
        self.motion: ArmMotion | None = None
        if hand.arm is not None:
            self.arm = ArmKinematics(
                hand.urdf_path, hand.arm.joints, hand.palm_link, hand.base_link
            )
            self.arm.tighten_limits(hand.arm.ik_limits)
            self.motion = ArmMotion(
                self.arm, hand.arm, self.params.ik_iterations, self.params.angular_speed_rad_s
            )
            self.planner = GraspPlanner(
                self.arm,
                self.model,
                self.params.planner,
                hand.arm.ready_posture,
                hand.palm_box_m,
                hand.finger_radius_m,
            )
        self.safety = SafetyMonitor(self.params.safety)
        self.reset()

    def reset(self) -> None:
        """Forget everything but the models: no goal, no state, not initialised."""
        hand = self.hand
        self.safety.reset()
        self.phase = Phase.IDLE
        self.goal: GraspGoal | None = None
        self.goal_active = False
        self._phase_since = 0.0
        self._now: float | None = None
        self._names: tuple[str, ...] | None = None
        self._missing: list[str] = []
        self._hand_index = np.zeros(0, dtype=int)
        self._arm_index = np.zeros(0, dtype=int)
        self._arm_indexer = None
        self._joint_stamp: float | None = None
        self._joints_valid = False
        self._q_hand = np.zeros(len(self.model.joint_names))
        self._q_arm = np.zeros(len(hand.arm.joints) if hand.arm else 0)
        if self.motion is not None:
            self.motion.reset()
        self._tactile: TactileSnapshot | None = None
        self._grip: GripForce | None = None
        self._plan = None
        self._settled_since: float | None = None
        self._approach = np.array([1.0, 0.0, 0.0])
        self.initialized = False
        self.last_fault = ""
        self._set_gains(())

    def _set_gains(self, closing_fingers) -> None:
        """Finger gains on the closing joints of ``closing_fingers``, hold gains elsewhere."""
        count = len(self.model.joint_names)
        self._hand_kp = np.full(count, self.hand.hold_gains[0])
        self._hand_kd = np.full(count, self.hand.hold_gains[1])
        for name in closing_fingers:
            closing = self.fingers[name].closing != 0
            index = np.arange(self._slices[name].start, self._slices[name].stop)[closing]
            self._hand_kp[index] = self.hand.finger_gains[0]
            self._hand_kd[index] = self.hand.finger_gains[1]

    # ------------------------------------------------------------------------------ inputs
    def _read_joints(self, joints: JointInput) -> None:
        if joints.names is not self._names and joints.names != self._names:
            names = list(joints.names)
            missing = [j for j in self.model.joint_names if j not in names]
            arm_joints = self.hand.arm.joints if self.hand.arm else ()
            missing += [j for j in arm_joints if j not in names]
            self._names = tuple(joints.names)
            self._missing = missing
            if not missing:
                self._hand_index = np.array([names.index(j) for j in self.model.joint_names])
                self._arm_index = np.array([names.index(j) for j in arm_joints], dtype=int)
                if self.arm is not None:
                    self._arm_indexer = self.arm.joint_indexer(names)
        positions = np.asarray(joints.positions, dtype=float)
        self._joint_stamp = joints.stamp_s
        self._joints_valid = not self._missing and bool(np.all(np.isfinite(positions)))
        if not self._joints_valid:
            return
        self._q_hand = positions[self._hand_index]
        if self.arm is not None:
            self._q_arm = positions[self._arm_index]
            self.arm.set_robot_state(positions, self._arm_indexer)
        if not self.initialized:
            for name, finger in self.fingers.items():
                finger.hold(self._q_hand[self._slices[name]])
            if self.motion is not None:
                self.motion.reset(self._q_arm)
            self.initialized = True

    # ------------------------------------------------------------------------------- goals
    def start(self, goal: GraspGoal, now: float) -> None:
        """Start a goal (validated with :func:`make_goal`).

        Raises:
            GoalRejected: Busy with another goal, not initialised (no joint state yet), holding
                an object (grasp) or, for a grasp, no reachable collision-free plan.
        """
        if self.goal_active:
            raise GoalRejected(f"busy: a goal is active in phase {self.phase.value}; cancel it")
        if not self.initialized:
            raise GoalRejected("no joint state received yet")
        if goal.release:
            self._begin_goal(goal, now)
            self._enter(Phase.RELEASE, now)
            return
        if self.phase in GRIPPING:
            raise GoalRejected("already holding an object: release it first")
        if self.arm is None or self.planner is None:
            raise GoalRejected(f"hand {self.hand.name!r} has no arm: it cannot reach an object")
        spec = self.hand.grasps[goal.grasp_type]
        try:
            q_arm = self.motion.q_cmd
            plan = self.planner.plan(spec, goal.obj, self.motion.palm(), q_arm)
        except PlanningError as error:
            raise GoalRejected(str(error)) from error
        self._plan = plan
        self._approach = plan.approach
        self._begin_goal(goal, now)
        limit = min(goal.max_force_n, self.hand.max_total_force_n)
        self._grip = GripForce(goal.target_force_n, limit, self.params.slip)
        self._enter(Phase.PRESHAPE, now)

    def _begin_goal(self, goal: GraspGoal, now: float) -> None:
        self.goal = goal
        self.goal_active = True
        self.last_fault = ""
        self.safety.reset()

    def cancel(self, now: float) -> GraspOutcome | None:
        """Cancel the active goal: stop where it is (a held object stays held)."""
        if not self.goal_active:
            return None
        phase = self.phase
        self._stop_arm()  # the arm stops where it is commanded now
        if phase not in GRIPPING:
            self._hold_fingers_measured()
            self._enter(Phase.IDLE, now)
        else:
            self._enter(Phase.HOLD, now)
        return self._finish(False, f"canceled in phase {phase.value}", canceled=True)

    # ------------------------------------------------------------------------------ helpers
    def _enter(self, phase: Phase, now: float) -> None:
        self.phase = phase
        self._phase_since = now
        self._settled_since = None
        self.safety.reset()
        if phase is Phase.PRESHAPE:
            spec = self.hand.grasps[self.goal.grasp_type]
            target = self.planner.preshape_vector(spec)
            for name, finger in self.fingers.items():
                finger.move_to(target[self._slices[name]], self.hand.open_velocity_rad_s)
        elif phase is Phase.REACH:
            self.motion.follow(
                self._plan.waypoints, now, segment_speeds_m_s=self._plan.speeds or None
            )
        elif phase is Phase.CLOSE:
            closing = self.hand.grasps[self.goal.grasp_type].closing
            for name in self._grasp_fingers():
                q = self._q_hand[self._slices[name]]
                self.fingers[name].start_closing(q, closing.get(name))
            self._set_gains(self._grasp_fingers())
        elif phase is Phase.SQUEEZE:
            for name in self._grasp_fingers():
                self.fingers[name].start_squeeze()
            measured = finger_forces(self._tactile, self._counted())
            self._grip.start(now, min(sum(measured.values()), self._grip.target_n))
        elif phase is Phase.LIFT:
            start = self.motion.palm()
            lifted = pin.SE3(start.rotation, start.translation + [0, 0, self.goal.lift_height_m])
            self.motion.follow([lifted], now, self.params.lift_speed_m_s)
        elif phase is Phase.RELEASE:
            self._set_gains(())
            open_q = np.clip(0.0, self.model.lower, self.model.upper)
            if self.goal is not None and self.goal.grasp_type:
                open_q = self.planner.preshape_vector(self.hand.grasps[self.goal.grasp_type])
            for name, finger in self.fingers.items():
                finger.move_to(open_q[self._slices[name]], self.hand.open_velocity_rad_s)
        elif phase is Phase.RETRACT:
            start = self.motion.palm()
            back = start.translation - self.params.retract_m * self._approach
            back = back + [0.0, 0.0, self.params.retract_m]
            self.motion.follow([pin.SE3(start.rotation, back)], now)
        elif phase is Phase.HOME:
            # First withdraw the palm, at its height, to the home palm's distance ahead of the
            # body; then move the joints home. Straight to home in joint space, the palm swept
            # down while still over the table: the hand caught under the table's edge (wrist
            # bent 1 rad, the middle finger pressed into the table), and the next reach began
            # with that contact.
            start = self.motion.palm()
            home = self.arm.palm_pose(self.hand.arm.home_posture).translation
            withdrawn = np.array([min(home[0], start.translation[0]), *start.translation[1:]])
            self.motion.follow([pin.SE3(start.rotation, withdrawn)], now)
            # The fingers too go to their rest posture (joint zeros, within the limits): a
            # finger left in a grasp's pre-shape touched the thigh at home (a pad reading that
            # the next goal's reach took for an unexpected contact).
            rest = np.clip(0.0, self.model.lower, self.model.upper)
            for name, finger in self.fingers.items():
                finger.move_to(rest[self._slices[name]], self.hand.open_velocity_rad_s)

    def _arm_at_home(self) -> bool:
        """The measured arm is at its home posture (within ``HOME_TOLERANCE_RAD`` per joint):
        a release then has nothing to retract. Backing off "along the approach" from home, e.g.
        after a grasp goal rejected before any motion, drove the palm into the robot's side
        (whole chain: the robot fell)."""
        home = self.hand.arm.home_posture if self.hand.arm is not None else None
        if home is None or self._q_arm.size != len(home):
            return False
        return bool(np.max(np.abs(self._q_arm - np.asarray(home))) <= HOME_TOLERANCE_RAD)

    def _stop_arm(self) -> None:
        if self.motion is not None:
            self.motion.stop()

    def _grasp_fingers(self) -> tuple[str, ...]:
        if self.goal is None or not self.goal.grasp_type:
            return ()
        return self.hand.grasps[self.goal.grasp_type].fingers

    def _counted(self) -> dict[str, tuple[str, ...]]:
        """Grasp finger -> its counted pads."""
        if self.goal is None or not self.goal.grasp_type:
            return {f.name: f.pads for f in self.hand.fingers}
        spec = self.hand.grasps[self.goal.grasp_type]
        return {
            name: tuple(p for p in self.fingers[name].spec.pads if p in spec.pads)
            for name in spec.fingers
        }

    def _hold_fingers_measured(self) -> None:
        for name, finger in self.fingers.items():
            finger.hold(self._q_hand[self._slices[name]])

    def _finish(self, success: bool, reason: str, canceled: bool = False) -> GraspOutcome:
        forces = finger_forces(self._tactile, self._counted()) if self.goal else {}
        self.goal_active = False
        return GraspOutcome(success, reason, float(sum(forces.values())), forces, canceled)

    def _abort(self, now: float, reason: str) -> GraspOutcome | None:
        self.last_fault = reason
        self._hold_fingers_measured()
        self._stop_arm()
        self.phase = Phase.IDLE
        self._phase_since = now
        if self.goal_active:
            return self._finish(False, reason)
        return None

    # --------------------------------------------------------------------------------- step
    def step(
        self, now: float, joints: JointInput | None, tactile: TactileSnapshot | None
    ) -> ControllerOutput | None:
        """One control step.

        Args:
            now: Current time [s] (the clock the stamps use).
            joints: The newest joint state (None: none new since the last step).
            tactile: The newest tactile contacts (None: none new).

        Returns:
            The references to command, or None before the first valid joint state.
        """
        dt = 0.0 if self._now is None else min(max(now - self._now, 0.0), 0.05)
        self._now = now
        if joints is not None:
            self._read_joints(joints)
        if tactile is not None:
            self._tactile = tactile
        if not self.initialized:
            return None
        outcome, reflex = None, False
        active = self.phase is not Phase.IDLE
        if active:
            tactile_stamp = self._tactile.stamp_s if self._tactile is not None else None
            fault = self.safety.check_inputs(
                now, self._joint_stamp, self._joints_valid, tactile_stamp, True
            )
            if fault is None:
                fault = self.safety.check_timeout(now, self._timeout_key(), self._phase_since)
            if fault is not None:
                outcome = self._abort(now, fault)
        counted = self._counted()
        forces = finger_forces(self._tactile, counted)
        if self.phase is not Phase.IDLE:
            outcome, reflex = self._advance(now, dt, forces, counted)
        hand_q = self._step_fingers(dt, forces, counted)
        arm_q, effort = (None, None) if self.motion is None else self.motion.step(now, dt)
        reflex_target = self._grip.target_n if self._grip is not None else 0.0
        kp_arm, kd_arm = self.hand.arm.gains if self.hand.arm else (0.0, 0.0)
        return ControllerOutput(
            hand_positions=hand_q,
            hand_kp=self._hand_kp,
            hand_kd=self._hand_kd,
            arm_positions=arm_q,
            arm_effort=effort,
            arm_kp=kp_arm,
            arm_kd=kd_arm,
            phase=self.phase,
            finger_force_n=forces,
            target_force_n=reflex_target,
            slip_events=self._grip.events if self._grip is not None else 0,
            outcome=outcome,
            reflex=reflex,
        )

    def _timeout_key(self) -> str:
        if self.phase is Phase.HOLD:
            return "SETTLE" if self.goal_active else "NONE"
        return self.phase.value

    def _finger_targets(self, total_n: float) -> dict[str, float]:
        spec = self.hand.grasps[self.goal.grasp_type]
        return {
            name: min(share * total_n, self.fingers[name].spec.max_force_n)
            for name, share in spec.finger_shares.items()
        }

    def _advance(self, now, dt, forces, counted) -> tuple[GraspOutcome | None, bool]:
        """Phase transitions and checks; returns (outcome, reflex fired)."""
        phase, elapsed = self.phase, now - self._phase_since
        grasp_fingers = self._grasp_fingers()
        reflex = False
        if phase in GRIPPING and self._grip is not None:
            grip = {f: forces[f] for f in grasp_fingers}
            fault = self.safety.check_forces(
                now, grip, {f: self.fingers[f].spec.max_force_n for f in grip}, self._grip.limit_n
            )
            if fault is None and phase is not Phase.SQUEEZE:
                fault = self.safety.check_contact(now, grip)
            if fault is not None:
                return self._abort(now, fault), False
            slips = len(self._tactile.slipping(p for f in grasp_fingers for p in counted[f]))
            reflex = self._grip.step(now, slips, reflex_enabled=phase is not Phase.SQUEEZE)
        if phase is Phase.PRESHAPE:
            if all(f.done_moving for f in self.fingers.values()) and elapsed > 0.05:
                self._enter(Phase.REACH, now)
        elif phase is Phase.REACH:
            blocked = blocking_contacts(
                self.model,
                self._q_hand,
                self._tactile,
                counted,
                self.hand.grasps[self.goal.grasp_type].approach_in_palm,
                self.params.finger.contact_force_n,
                self.params.reach_stop_force_n,
            )
            if blocked and self.motion.on_last_segment:  # closer than estimated: close here
                self._stop_arm()
                self._enter(Phase.CLOSE, now)
            elif blocked:
                return self._abort(now, f"unexpected contact on {blocked} during reach"), False
            elif self.motion.done(now, self.params.reach_tolerance_m):
                self._stop_arm()
                self._enter(Phase.CLOSE, now)
        elif phase is Phase.CLOSE:
            modes = {f: self.fingers[f].mode for f in grasp_fingers}
            for finger, mode in modes.items():
                if mode is FingerMode.STALLED:
                    reason = f"finger {finger} stalled without tactile contact"
                    return self._abort(now, reason), False
                if mode is FingerMode.MISSED:
                    reason = f"finger {finger} closed without touching the object"
                    return self._abort(now, reason), False
            if all(m is FingerMode.CONTACT for m in modes.values()):
                self._enter(Phase.SQUEEZE, now)
        elif phase is Phase.SQUEEZE:
            targets = self._finger_targets(self._grip.target_n)
            tolerance = self.params.squeeze_tolerance
            settled = not self._grip.ramping and all(
                abs(forces[f] - t) <= tolerance * t for f, t in targets.items()
            )
            # A finger whose push is at its ceiling cannot add force: after a while, a grip
            # with every finger at half its target or more is good enough to go on with (the
            # slip reflex raises it if the object slips).
            usable = elapsed >= self.params.squeeze_patience_s and all(
                forces[f] >= 0.5 * t for f, t in targets.items()
            )
            if usable:
                self._enter(Phase.LIFT if self.goal.lift_height_m > 0 else Phase.HOLD, now)
            elif not settled:
                self._settled_since = None
            elif self._settled_since is None:
                self._settled_since = now
            elif now - self._settled_since >= self.params.squeeze_settle_s:
                self._enter(Phase.LIFT if self.goal.lift_height_m > 0 else Phase.HOLD, now)
        elif phase is Phase.LIFT:
            if self.motion.done(now, self.params.reach_tolerance_m):
                self._stop_arm()
                self._enter(Phase.HOLD, now)
        elif phase is Phase.HOLD:
            if self.goal_active and elapsed >= self.params.hold_settle_s:
                return self._finish(True, "ok"), reflex
        elif phase is Phase.RELEASE:
            if all(f.done_moving for f in self.fingers.values()):
                if self.motion is None or self.motion.q_cmd is None or self._arm_at_home():
                    self._enter(Phase.IDLE, now)
                    return self._finish(True, "released"), False
                self._enter(Phase.RETRACT, now)
        elif phase is Phase.RETRACT:
            if self.motion.ended(now, self.params.reach_tolerance_m):
                self._stop_arm()
                if self.hand.arm.home_posture is not None and self.params.home_after_release:
                    self._enter(Phase.HOME, now)
                else:
                    self._enter(Phase.IDLE, now)
                    return self._finish(True, "released"), False
        elif phase is Phase.HOME:
            if self.motion.joint_target is None:  # withdrawing the palm (see _enter)
                if self.motion.ended(now, self.params.reach_tolerance_m):
                    self.motion.move_joints(self.hand.arm.home_posture)
            elif self.motion.joints_done() and all(f.done_moving for f in self.fingers.values()):
                self._stop_arm()
                self._enter(Phase.IDLE, now)
                return self._finish(True, "released"), False
        return None, reflex

    def _step_fingers(self, dt, forces, counted) -> np.ndarray:
        hand_q = np.empty(len(self.model.joint_names))
        directions = {}
        if self.phase in GRIPPING:
            directions = force_directions(
                self.model, self._q_hand, self._tactile, counted, self._slices
            )
            targets = self._finger_targets(self._grip.command_n)
        for name, finger in self.fingers.items():
            sl = self._slices[name]
            target = targets.get(name, 0.0) if self.phase in GRIPPING else 0.0
            hand_q[sl] = finger.step(
                dt,
                self._q_hand[sl],
                forces.get(name, 0.0),
                target,
                directions.get(name),
                self.hand.close_velocity_rad_s,
            )
        return hand_q
