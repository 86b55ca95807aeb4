"""The walking controller: estimation, states, pattern, stabilizer, IK and joint commands.

``WalkingController.step(readings, now, dt)`` runs one control period from measurements only
(IMU, joint encoders, foot force/torque sensors) and returns the joint command (position,
velocity, feed-forward effort, kp, kd) or None while idle. States::

    IDLE --stand--> STAND (gains ramp up) --walk--> WALK --stop (<= 2 steps)--> STAND
    any state --fall detected--> DAMPING --stand (upright, both feet loaded)--> STAND

Walking is refused unless standing with the ramp complete. In WALK a zero command squares the
feet and stands still (still in WALK) unless stepping in place is enabled; a non-zero command
starts stepping again.
"""

from __future__ import annotations

import math

import numpy as np
import pinocchio as pin

from biped_gait.core.command import VelocityCommandFilter
from biped_gait.core.config import GaitConfig, RobotFacts
from biped_gait.core.estimator import SensorReadings, StateEstimator
from biped_gait.core.feedforward import FeedForward, split_contact
from biped_gait.core.footsteps import LEFT, RIGHT, FootstepPlanner
from biped_gait.core.ik import IkTargets, WholeBodyIk
from biped_gait.core.lipm import natural_frequency
from biped_gait.core.outputs import (
    DAMPING,
    DOUBLE,
    IDLE,
    STAND,
    WALK,
    GaitReport,
    JointCommandOut,
    flat_pose,
    yaw_matrix,
)
from biped_gait.core.pattern import WalkingPattern
from biped_gait.core.preview_control import PreviewController
from biped_gait.core.recovery import StepRecovery
from biped_gait.core.robot_model import BipedModel, ModelSpec
from biped_gait.core.stabilizer import Stabilizer
from biped_gait.core.swing import swing_in_measured_frame
from biped_gait.core.zmp_plan import SwingMomentum


class WalkingController:
    """Controller of the legs and waist.

    Args:
        facts: Robot facts.
        config: Tunables.
        command_held_joints: Also command the held joints (arms) at their stand posture.
    """

    def __init__(self, facts: RobotFacts, config: GaitConfig, command_held_joints=False):
        self.facts, self.config = facts, config
        self.robot = BipedModel(
            ModelSpec(
                facts.urdf_path,
                facts.controlled_joints,
                facts.posture,
                facts.feet,
                facts.torso_link,
                facts.imu_link,
            )
        )
        self.omega = natural_frequency(config.com_height)
        self.estimator = StateEstimator(self.robot, config.estimator)
        self.ik = WholeBodyIk(self.robot, config.weights)
        self.feedforward = FeedForward(self.robot)
        self.stabilizer = Stabilizer(config.stabilizer, self.omega)
        self.commands = VelocityCommandFilter(config.velocity)
        planner = FootstepPlanner(config.limits, config.timing.step_period)
        preview = PreviewController(
            config.dt, config.com_height, config.preview_horizon, r=config.preview_r
        )
        momentum = SwingMomentum(
            config.swing_momentum_gain, config.swing_momentum_lead, self.robot.mass
        )
        self.pattern = WalkingPattern(planner, config.timing, preview, config.com_height, momentum)
        self.pattern.command_forecast = self.commands.forecast
        self._planned_target = np.zeros(3)
        self.joint_names = self.robot.joint_names
        held = facts.held_joints if command_held_joints else ()
        self.output_names = self.joint_names + tuple(held)
        self._held_position = np.array([facts.posture.get(j, 0.0) for j in held])
        self._held_gains = np.array([facts.held_gains[j] for j in held]).reshape(-1, 2)
        gains = np.array([facts.gains[j] for j in self.joint_names])
        self.kp, self.kd = gains[:, 0], gains[:, 1]
        self.state = IDLE
        self.report = GaitReport()
        self.q_ref = self.robot.q_stand.copy()
        self._ramp = 1.0
        self._stand_from = np.zeros(3)
        self._stand_time = 0.0
        self._stop_requested = False
        self.recovery = StepRecovery(self.stabilizer, config)
        self._v_previous = None
        self._zmp_acting = None  # the ZMP of the command acting now (command_latency)
        self._a_ref = np.zeros(self.robot.model.nv)
        self._ik_ready = False
        self._last_command: JointCommandOut | None = None

    # ----------------------------------------------------------------------- requests
    def request_stand(self) -> tuple[bool, str]:
        """IDLE or DAMPING (upright, feet loaded) -> STAND. Returns (accepted, reason)."""
        if self.state in (STAND, WALK):
            return True, f"already {self.state}"
        est = self.estimator.state
        if self.state == DAMPING and not (
            self._upright() and all(est.contact.get(s, False) for s in (LEFT, RIGHT))
        ):
            return False, "refused: not upright on both feet"
        self._pending = STAND
        return True, "standing up"

    def request_walk(self) -> tuple[bool, str]:
        """STAND (ramp complete) -> WALK. Returns (accepted, reason)."""
        if self.state == WALK:
            return True, "already walking"
        if self.state != STAND or self._ramp < 1.0:
            return False, f"refused: walking needs a completed stand (state {self.state})"
        self._pending = WALK
        return True, "walking"

    def request_stop(self) -> tuple[bool, str]:
        """WALK -> STAND within two steps. Returns (accepted, reason)."""
        if self.state != WALK:
            return self.state == STAND, f"not walking (state {self.state})"
        self._stop_requested = True
        return True, "stopping within two steps"

    _pending: str | None = None

    # ---------------------------------------------------------------------- main step
    def step(self, readings: SensorReadings, now: float, dt: float) -> JointCommandOut | None:
        """One control period.

        Args:
            readings: Measurements (controller joint order).
            now: Time of the measurements [s].
            dt: Period [s].

        Returns:
            The joint command, or None while idle.
        """
        est = self.estimator.update(readings, dt)
        report = self.report
        report.zmp_measured = est.zmp.copy()
        report.com = est.com.copy()
        report.dcm_measured = est.com[:2] + est.com_velocity[:2] / self.omega
        if self.state in (STAND, WALK) and self._fallen():
            self.state = DAMPING
            report.message = "fall detected: damping"
        pending, self._pending = self._pending, None
        if pending == STAND and self.state in (IDLE, DAMPING):
            self._enter_stand(readings)
        elif pending == WALK and self.state == STAND:
            self.state = WALK
            self._stop_requested = False
            report.message = "walking"
        report.state = self.state
        if self.state == IDLE:
            command = None
        elif self.state == DAMPING:
            command = self._damping(readings)
        else:
            command = self._balance(readings, now, dt)
        self._last_command = command
        return command

    def hold(self) -> JointCommandOut | None:
        """Safe hold (stale inputs): the last command frozen, at rest; None while idle.

        Walking, if any, is asked to stop: the pattern resumes from standing once the inputs
        are fresh again.
        """
        last = self._last_command
        if last is None:
            return None
        if self.state == WALK:
            self._stop_requested = True
        return JointCommandOut(
            last.names,
            last.position.copy(),
            np.zeros_like(last.velocity),
            last.effort.copy(),
            last.kp.copy(),
            last.kd.copy(),
        )

    def _enter_stand(self, readings: SensorReadings) -> None:
        est = self.estimator.state
        self.state = STAND
        self._ramp = 0.0
        self._stand_time = 0.0
        self.q_ref = est.q.copy()
        self._v_previous = None
        self._zmp_acting = None
        self._a_ref[:] = 0.0
        feet = {side: flat_pose(est.soles[side]) for side in (LEFT, RIGHT)}
        self.pattern.reset(feet, est.com[:2])
        self._stand_from = est.com.copy()
        self.pattern.stand_zmp = est.com[:2].copy()
        self.stabilizer.reset()
        self.commands.reset()
        self.report.message = "standing: gains ramping up"

    def _upright(self) -> bool:
        return float(self.estimator.state.base_rotation[2, 2]) > math.cos(self.config.fall_tilt)

    def _fallen(self) -> bool:
        est = self.estimator.state
        ground = min(est.soles[s].translation[2] for s in (LEFT, RIGHT))
        return (not self._upright()) or est.com[2] - ground < self.config.fall_com_height

    def _damping(self, readings: SensorReadings) -> JointCommandOut:
        count = len(self.output_names)
        position = np.concatenate([readings.q, self._held_position])
        zeros = np.zeros(count)
        kd = np.full(count, self.facts.damping_kd)
        self.report.support = "none"
        return JointCommandOut(self.output_names, position, zeros, zeros.copy(), zeros.copy(), kd)

    def _balance(self, readings: SensorReadings, now: float, dt: float) -> JointCommandOut:
        cfg, est, pattern, report = self.config, self.estimator.state, self.pattern, self.report
        com_height = cfg.com_height
        if self._ramp < 1.0:
            self._stand_time += dt
            self._ramp = min(self._stand_time / cfg.stand_ramp, 1.0)
            blend = _smoothstep(self._ramp)
            pattern.stand_zmp = (1 - blend) * self._stand_from[:2] + blend * pattern.feet_midpoint()
            com_height = (1 - blend) * self._stand_from[2] + blend * cfg.com_height
            if self._ramp >= 1.0:
                report.message = "standing"
        command = self._walk_decisions(now, dt)
        sample = pattern.update(dt)
        dcm_ref = sample.com[:2] + sample.com_velocity[:2] / self.omega
        dcm = report.dcm_measured
        if cfg.command_latency > 0.0:
            # This command acts command_latency from now; until then the one sent before acts,
            # and the DCM diverges from that command's ZMP (LIPM: xi' = omega (xi - p)). Feed
            # back the DCM of the moment this command acts.
            acting = est.zmp if self._zmp_acting is None else self._zmp_acting
            dcm = acting + (dcm - acting) * math.exp(self.omega * cfg.command_latency)
        zmp_desired = self.stabilizer.zmp_command(dcm, dcm_ref, sample.zmp, dt)
        self.recovery.adjust_step(pattern, dcm, dcm_ref)
        self.recovery.after_touchdown(pattern, self.estimator.state, sample, dcm, dcm_ref)
        support = (LEFT, RIGHT) if sample.support == DOUBLE else (sample.support,)
        soles = {side: pin.SE3(yaw_matrix(t.yaw), t.position) for side, t in sample.feet.items()}
        margin = cfg.support_margin
        # The swing leg's momentum moves the real ZMP by ``shift`` from the LIPM one: clip the
        # real one to the support, and give the LIPM the rest.
        shift = sample.momentum_shift
        split = split_contact(
            zmp_desired + shift,
            soles,
            support,
            self.facts.sole_half_length - margin,
            self.facts.sole_half_width - margin,
        )
        zmp_feasible = split.zmp - shift
        self._zmp_acting = zmp_feasible
        com_offset = self.stabilizer.com_admittance(est.zmp, split.zmp, dt)
        com_target = sample.com.copy()
        com_velocity = sample.com_velocity.copy()
        com_acceleration = sample.com_acceleration.copy()
        if cfg.com_tracking == "dcm":
            offset, rate, accel = self.stabilizer.com_correction(
                est.com, sample.com, zmp_feasible, sample.zmp, dt
            )
            com_target[:2] += offset
            com_velocity[:2] += rate
            com_acceleration[:2] += accel
        else:
            com_acceleration[:2] = self.omega**2 * (est.com[:2] - zmp_feasible)
        com_target[:2] += com_offset
        com_target[2] = com_height
        yaws = [sample.feet[LEFT].yaw, sample.feet[RIGHT].yaw]
        pelvis_yaw = math.atan2(sum(math.sin(y) for y in yaws), sum(math.cos(y) for y in yaws))
        pelvis = yaw_matrix(pelvis_yaw)
        yaw_rate = 0.5 * (sample.feet[LEFT].yaw_rate + sample.feet[RIGHT].yaw_rate)
        targets = IkTargets(
            feet=self._swing_in_measured_frame(sample, soles),
            feet_velocity={
                side: np.concatenate([t.velocity, [0.0, 0.0, t.yaw_rate]])
                for side, t in sample.feet.items()
            },
            com=com_target,
            com_velocity=com_velocity,
            pelvis=pelvis,
            pelvis_rate=np.array([0.0, 0.0, yaw_rate]),
            torso=pelvis,
        )
        self.q_ref, v_ref = self.ik.solve(self.q_ref, targets, cfg.ik_iterations)
        self._ik_ready = True
        acceleration = None
        if self._v_previous is not None and cfg.inertial_feedforward:
            raw = (v_ref - self._v_previous) / dt
            blend = min(dt / cfg.acceleration_filter, 1.0)
            self._a_ref += blend * (raw - self._a_ref)
            acceleration = self._a_ref
        self._v_previous = v_ref
        tau, _ = self.feedforward.torques(self.q_ref, split, com_acceleration, v_ref, acceleration)
        limit = self.robot.effort_limit
        tau = np.clip(tau, -limit, limit)
        gain = cfg.stand_initial_gain + (1.0 - cfg.stand_initial_gain) * self._ramp
        report.support = sample.support
        report.phase = sample.phase
        report.step_count = pattern.step_count
        report.zmp_planned = sample.zmp.copy()
        report.dcm_planned = dcm_ref
        report.command = command.copy()
        held = len(self._held_position)
        return JointCommandOut(
            self.output_names,
            np.concatenate([self.q_ref[7:], self._held_position]),
            np.concatenate([v_ref[6:], np.zeros(held)]),
            np.concatenate([tau, np.zeros(held)]),
            np.concatenate([gain * self.kp, self._held_gains[:, 0]]),
            np.concatenate([gain * self.kd, self._held_gains[:, 1]]),
        )

    def _swing_in_measured_frame(self, sample, soles: dict) -> dict:
        gain = self.config.swing_attitude_compensation
        weights = self._swing_weights(sample) if gain > 0 and self._ik_ready else {}
        if not weights:
            return soles
        return swing_in_measured_frame(
            soles, weights, self.ik.data.oMi[1], self.estimator.state.base_rotation, gain
        )

    def _swing_weights(self, sample) -> dict:
        """Side -> weight in [0, 1] of the swing attitude compensation."""
        pattern = self.pattern
        timing = self.config.timing
        if sample.support != DOUBLE and pattern.swing is not None:
            side = pattern.step.footstep.side
            self._last_swing_side = side
            return {side: min(pattern.swing.phase / 0.2, 1.0)}
        side = getattr(self, "_last_swing_side", None)
        if side is None or pattern.step is None:
            return {}
        fade = 1.0 - pattern.time_in_step / timing.double_support
        return {side: fade} if fade > 0 else {}

    def _walk_decisions(self, now: float, dt: float) -> np.ndarray:
        """Start, continue or stop stepping; returns the command being walked."""
        pattern = self.pattern
        if self.state != WALK:
            return np.zeros(3)
        command = self.commands.step(now, dt).copy()
        target = self.commands.forecast(1e3, now)
        if np.any(np.abs(target - self._planned_target) > 1e-3):
            self._planned_target = target
            pattern.replan()
        if self._stop_requested:
            if pattern.walking:
                pattern.request_stop()
            else:
                self.state = STAND
                self._stop_requested = False
                self.commands.reset()
                self.report.message = "stopped"
            return command
        pattern.command = command
        # A zero target (or a timed-out command) stops at once: the step in progress, then a
        # closing step; the walked command decelerates meanwhile.
        if not self.commands.is_zero(target) or self.config.step_in_place:
            if pattern.stop_requested or not pattern.walking:
                pattern.start(command)
                self.report.message = "walking: stepping"
        elif pattern.walking:
            pattern.request_stop()
        elif self.report.message == "walking: stepping":
            self.report.message = "walking: feet squared, standing still"
        return command


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)
