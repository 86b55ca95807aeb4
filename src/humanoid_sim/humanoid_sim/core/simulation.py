"""The simulated robot: physics stepping, joint commands, sensors, ground truth and scene edits.

``Simulation`` is deterministic: the same description, scene, seed and command stream give the
same trajectory, bit for bit (MuJoCo is deterministic on one machine and nothing here depends on
wall-clock time). It knows nothing about ROS; the node converts its readings into messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from humanoid_sim.core.command_mux import JointCommandMux, JointTargets
from humanoid_sim.core.model_builder import FIXED_BASE_WELD, build_model
from humanoid_sim.core.robot_description import RobotDescription
from humanoid_sim.core.scene import SceneConfig, sample_object_poses
from humanoid_sim.core.statics import standing_feedforward
from humanoid_sim.core.tactile import TactileSkinSim
from humanoid_sim.errors import SimError


@dataclass
class ImuReading:
    """IMU at its site: orientation (w, x, y, z) in the world, angular velocity [rad/s] and
    specific force [m/s^2] in the IMU frame."""

    orientation: np.ndarray
    angular_velocity: np.ndarray
    linear_acceleration: np.ndarray


@dataclass
class Wrench:
    """Force [N] and torque [N*m] in the sensor frame."""

    force: np.ndarray
    torque: np.ndarray


@dataclass
class BodyState:
    """Ground-truth pose and twist of a body in the world frame.

    position [m], orientation (w, x, y, z), linear velocity [m/s] and angular velocity [rad/s]
    of the body origin, both in the world frame.
    """

    position: np.ndarray
    orientation: np.ndarray
    linear_velocity: np.ndarray
    angular_velocity: np.ndarray


class Simulation:
    """The robot in its scene.

    Args:
        robot: Robot description.
        scene: Scene configuration.
        seed: Seed for the object poses.
        timestep: Physics step [s].
        control_period: Period of one :meth:`step` [s], a multiple of ``timestep``.
        fixed_base: Weld the base to the world at its stand pose (a test stand for
            manipulation benches; the legs still hold the stand posture).
        noslip_iterations: MuJoCo's no-slip solver iterations (0: off). Soft contacts let a
            held object creep down the fingers under a steady load; a few no-slip iterations
            make static friction hold, as it does in a real grasp.
    """

    def __init__(
        self,
        robot: RobotDescription,
        scene: SceneConfig,
        seed: int = 0,
        timestep: float = 0.002,
        control_period: float = 0.002,
        fixed_base: bool = False,
        noslip_iterations: int = 0,
    ):
        if not (np.isfinite(timestep) and timestep > 0):
            raise SimError(f"timestep must be a positive number of seconds, got {timestep}")
        substeps = control_period / timestep
        if control_period <= 0 or abs(substeps - round(substeps)) > 1e-9:
            raise SimError(
                f"control_period {control_period} s must be a positive multiple of the "
                f"timestep {timestep} s"
            )
        self.robot = robot
        self.scene = scene
        self.seed = int(seed)
        self.substeps = int(round(substeps))
        self.control_period = control_period
        self.built = build_model(robot, scene, self.seed, timestep, fixed_base)
        self.fixed_base = bool(fixed_base)
        self.model = self.built.model
        if noslip_iterations < 0:
            raise SimError(f"noslip_iterations must be >= 0, got {noslip_iterations}")
        self.model.opt.noslip_iterations = int(noslip_iterations)
        self.data = mujoco.MjData(self.model)
        self.mux = JointCommandMux(self.built.joint_names)
        self.tactile = TactileSkinSim(self.model, self.data, robot.skins)
        base_joint = self.model.body_jntadr[self.built.base_body]
        self._base_qpos = int(self.model.jnt_qposadr[base_joint])
        self._base_dofs = np.arange(
            self.model.jnt_dofadr[base_joint], self.model.jnt_dofadr[base_joint] + 6
        )
        self._pushes: list[tuple[int, float, np.ndarray]] = []
        self.first_order_hold = False  # see step()
        self._foot_bodies = {
            side: self.model.body(link).id for side, (link, _) in robot.feet.items()
        }
        self.stand_qpos = np.zeros(self.model.nq)
        self.stand_feedforward = np.zeros(len(self.built.joint_names))
        self.reset(self.seed)

    # ----------------------------------------------------------------------------- state
    @property
    def time(self) -> float:
        """Simulated time [s]."""
        return float(self.data.time)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.built.joint_names

    def reset(self, seed: int | None = None) -> None:
        """Robot to the stand posture on the floor, objects re-sampled, targets to a stand hold.

        Args:
            seed: New seed for the object poses; None keeps the current one.
        """
        if seed is not None:
            self.seed = int(seed)
        mujoco.mj_resetData(self.model, self.data)
        self._pushes.clear()
        self.data.xfrc_applied[:] = 0.0
        qpos = self.data.qpos
        qpos[self._base_qpos : self._base_qpos + 7] = [0, 0, 1.0, 1, 0, 0, 0]
        for name, angle in self.robot.stand_posture.items():
            qpos[self.built.qpos_index[self.joint_names.index(name)]] = angle
        for name, pose in sample_object_poses(self.scene, self.seed).items():
            adr = self.built.object_qpos[name]
            qpos[adr : adr + 7] = pose
        mujoco.mj_kinematics(self.model, self.data)
        # Lower the robot until its lowest foot collision geom touches the floor.
        lowest = np.inf
        for body in self._foot_bodies.values():
            for geom in np.flatnonzero(self.model.geom_bodyid == body):
                if self.model.geom_contype[geom]:
                    bottom = self.data.geom_xpos[geom][2] - self.model.geom_rbound[geom]
                    lowest = min(lowest, bottom)
        qpos[self._base_qpos + 2] -= lowest
        mujoco.mj_forward(self.model, self.data)
        if self.fixed_base:
            self._weld_base_here()
        self.stand_qpos = qpos.copy()
        feet = [(self._foot_bodies[side], self.sole_position(side)) for side in self.robot.feet]
        self.stand_feedforward, _ = standing_feedforward(
            self.model, self.data, self._base_dofs, self.built.qvel_index, feet
        )
        self.hold_stand()
        mujoco.mj_forward(self.model, self.data)

    def _weld_base_here(self) -> None:
        """Set the fixed-base weld's relative pose to the base's current pose (anchor at its
        origin; MuJoCo's weld relpose is the world's pose in the base frame)."""
        weld = self.model.equality(FIXED_BASE_WELD).id
        body = self.built.base_body
        rotation = self.data.xmat[body].reshape(3, 3)
        inverse = np.zeros(4)
        mujoco.mju_negQuat(inverse, self.data.xquat[body])
        self.model.eq_data[weld, 0:3] = 0.0
        self.model.eq_data[weld, 3:6] = -rotation.T @ self.data.xpos[body]
        self.model.eq_data[weld, 6:10] = inverse

    def hold_stand(self) -> None:
        """Command every joint to the stand posture with stand gains and gravity feed-forward."""
        names = self.joint_names
        gains = np.array([self.robot.stand_gains[self.robot.group_of(n)] for n in names])
        self.mux.apply(
            JointTargets(
                index=np.arange(len(names)),
                position=self.stand_qpos[self.built.qpos_index].copy(),
                velocity=np.zeros(len(names)),
                effort=self.stand_feedforward.copy(),
                kp=gains[:, 0].copy(),
                kd=gains[:, 1].copy(),
            ),
            self.time,
        )
        self._write_actuators()

    def sole_position(self, side: str) -> np.ndarray:
        """World position of a foot's sole point [m]."""
        link, sole = self.robot.feet[side]
        body = self._foot_bodies[side]
        return self.data.xpos[body] + self.data.xmat[body].reshape(3, 3) @ sole

    # --------------------------------------------------------------------------- commands
    def command(self, **command) -> JointTargets:
        """Validate and apply a joint command (see :meth:`JointCommandMux.validate`).

        Raises:
            CommandRejected: Nothing was applied; the rejection is counted.
        """
        targets = self.check_command(**command)
        self.apply(targets)
        return targets

    def check_command(self, **command) -> JointTargets:
        """Validate a command without applying it (for :meth:`apply`; rejections counted).

        Raises:
            CommandRejected: With the reason.
        """
        return self.mux.check(**command)

    def apply(self, targets: JointTargets) -> None:
        """Apply targets from :meth:`check_command`."""
        self.mux.apply(targets, self.time)
        self._write_actuators()

    def _write_actuators(self) -> None:
        ctrl, bias_kp, bias_kd = self.mux.actuator_inputs()
        self.data.ctrl[:] = ctrl
        self.model.actuator_biasprm[:, 1] = bias_kp
        self.model.actuator_biasprm[:, 2] = bias_kd

    # ----------------------------------------------------------------------------- stepping
    def step(self) -> None:
        """Advance one control period.

        With ``first_order_hold`` the joint drives move each position target along its
        commanded velocity between commands (``q_ref + v_ref (t - t_command)``, for at most
        one control period past the command) instead of holding it: the servo loop of a
        real joint drive runs far faster than its commands arrive and tracks a trajectory.
        """
        hold = self.first_order_hold
        if hold:
            mux, h, period = self.mux, self.model.opt.timestep, self.control_period
            base, _, _ = mux.actuator_inputs()
            slope = mux.kp * mux.velocity
            since = self.time - mux.last_update
        for i in range(self.substeps):
            if self._pushes:
                self._update_pushes()
            if hold:
                self.data.ctrl[:] = base + slope * np.clip(since + i * h, 0.0, period)
            mujoco.mj_step(self.model, self.data)
        if hold:
            self.data.ctrl[:] = base

    def _update_pushes(self) -> None:
        now = self.time
        self.data.xfrc_applied[:] = 0.0
        self._pushes = [p for p in self._pushes if p[1] > now]
        for body, _end, wrench in self._pushes:
            self.data.xfrc_applied[body] += wrench

    def apply_wrench(self, body: str, force, torque, duration: float) -> None:
        """Push a body with a world-frame wrench at its centre of mass for ``duration`` [s].

        Raises:
            SimError: Unknown body, non-finite values or a non-positive duration.
        """
        try:
            body_id = self.model.body(body).id
        except KeyError as error:
            raise SimError(f"unknown body {body!r}") from error
        wrench = np.concatenate([np.asarray(force, float), np.asarray(torque, float)])
        if wrench.shape != (6,) or not np.all(np.isfinite(wrench)):
            raise SimError(f"force and torque must be finite 3-vectors, got {wrench.tolist()}")
        if not np.isfinite(duration) or duration <= 0:
            raise SimError(f"duration must be > 0 s, got {duration}")
        self._pushes.append((body_id, self.time + duration, wrench))
        self._update_pushes()

    def set_object_mass(self, name: str, mass: float) -> None:
        """Change an object's mass, scaling its inertia with it.

        Raises:
            SimError: Unknown object or a non-positive / non-finite mass.
        """
        if name not in self.built.object_bodies:
            raise SimError(f"unknown object {name!r}; objects: {sorted(self.built.object_bodies)}")
        if not np.isfinite(mass) or mass <= 0:
            raise SimError(f"mass must be > 0 kg, got {mass}")
        body = self.built.object_bodies[name]
        ratio = mass / self.model.body_mass[body]
        self.model.body_mass[body] = mass
        self.model.body_inertia[body] *= ratio
        weld = self.model.eq_data.copy()
        mujoco.mj_setConst(self.model, mujoco.MjData(self.model))  # scratch: keeps the state
        self.model.eq_data[:] = weld  # mj_setConst recomputes weld poses from qpos0

    # ------------------------------------------------------------------------------ sensors
    def joint_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Measured joint positions [rad], velocities [rad/s] and actuator efforts [N*m]."""
        return (
            self.data.qpos[self.built.qpos_index].copy(),
            self.data.qvel[self.built.qvel_index].copy(),
            self.data.actuator_force.copy(),
        )

    def imu(self) -> ImuReading:
        """IMU reading (what a real IMU gives; no ground truth position)."""
        adr = self.built.imu_sensor_adr
        s = self.data.sensordata
        return ImuReading(
            s[adr["quat"] : adr["quat"] + 4].copy(),
            s[adr["gyro"] : adr["gyro"] + 3].copy(),
            s[adr["acc"] : adr["acc"] + 3].copy(),
        )

    def foot_wrench(self, side: str) -> Wrench:
        """Ankle force/torque sensor, as the wrench the ground applies through the foot.

        MuJoCo's force/torque sensors give the wrench the parent exerts on the foot; at rest it
        balances the ground reaction, so its negation reads +z ~ the weight carried by the foot.
        Expressed in the sensor site frame (the ankle roll link), at the ankle roll axis.
        """
        force_adr, torque_adr = self.built.foot_sensor_adr[side]
        s = self.data.sensordata
        return Wrench(-s[force_adr : force_adr + 3].copy(), -s[torque_adr : torque_adr + 3].copy())

    def tactile_readings(self):
        """Taxel readings per skin (see :class:`TactileSkinSim`)."""
        return self.tactile.read(self.model, self.data)

    # ------------------------------------------------------------------------- ground truth
    def body_state(self, body: str | int) -> BodyState:
        """Ground-truth state of a body (for evaluation only; controllers never read it)."""
        body_id = body if isinstance(body, int) else self.model.body(body).id
        velocity = np.zeros(6)
        mujoco.mj_objectVelocity(
            self.model, self.data, mujoco.mjtObj.mjOBJ_BODY, body_id, velocity, 0
        )
        return BodyState(
            self.data.xpos[body_id].copy(),
            self.data.xquat[body_id].copy(),
            velocity[3:].copy(),
            velocity[:3].copy(),
        )

    def base_state(self) -> BodyState:
        """Ground-truth state of the floating base."""
        return self.body_state(self.built.base_body)

    def object_states(self) -> dict[str, BodyState]:
        """Ground-truth state of every graspable object."""
        return {name: self.body_state(body) for name, body in self.built.object_bodies.items()}

    def has_fallen(self, min_height: float = 0.45) -> bool:
        """True when the base is below ``min_height`` [m]."""
        return bool(self.data.xpos[self.built.base_body][2] < min_height)
