"""The grasp controller in the loop with the simulator and the tactile driver's processing, in
one process and without ROS: for benchmarks and fast tests.

Per control period: the simulator's joint state and its skin's taxel pressures are read; the
pressures become the raw counts a board would send (the tactile driver's ``sim`` backend
convention: 1000 counts + 30 counts/kPa) and go through the tactile driver's own
``SkinProcessor`` (calibration, tare, contacts, slip), exactly what the driver node runs; the
controller steps on both and its references are applied as a joint command. This is the same
data path as the ROS graph (``humanoid_sim`` -> ``tactile_driver`` -> ``hand_controller``) minus
DDS. Needs ``humanoid_sim`` and ``tactile_driver`` (imported here only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from dexterous_hand_ctrl.core.contacts import PadContact, TactileSnapshot
from dexterous_hand_ctrl.core.grasp_controller import (
    ControllerOutput,
    ControllerParams,
    GraspController,
    JointInput,
)
from dexterous_hand_ctrl.core.hand_description import load_hand_description

COUNTS_OFFSET = 1000.0
COUNTS_PER_KPA = 30.0


@dataclass(frozen=True)
class ObjectSetup:
    """An object's shape, size, mass, friction and pose for one trial.

    Attributes:
        shape: "box", "cylinder" or "sphere" (must match the scene object's type).
        size: Box edge, (cylinder radius, half height) or sphere radius [m].
        mass: [kg].
        friction: Sliding friction coefficient.
        xy: Position on the table top (world) [m].
        yaw: Rotation about the vertical [rad].
    """

    shape: str
    size: tuple[float, ...]
    mass: float
    friction: float
    xy: tuple[float, float]
    yaw: float

    @property
    def half_height(self) -> float:
        return (
            self.size[1]
            if self.shape == "cylinder"
            else self.size[0] / (2.0 if self.shape == "box" else 1.0)
        )

    @property
    def extents(self) -> tuple[float, float, float]:
        if self.shape == "box":
            return (self.size[0],) * 3
        if self.shape == "cylinder":
            return (2 * self.size[0], 2 * self.size[0], 2 * self.size[1])
        return (2 * self.size[0],) * 3


class SimGraspLoop:
    """Simulator + tactile processing + grasp controller, stepped together.

    Args:
        robot_yaml: Robot description.
        scene_yaml: Scene.
        hand: Hand key (e.g. "right_hand").
        seed: Simulator seed.
        fixed_base: Weld the pelvis (the bench's test stand).
        params: Controller parameters.
        noslip_iterations: MuJoCo no-slip iterations (static friction without creep).
    """

    def __init__(
        self,
        robot_yaml: str | Path,
        scene_yaml: str | Path,
        hand: str = "right_hand",
        seed: int = 0,
        fixed_base: bool = True,
        params: ControllerParams | None = None,
        noslip_iterations: int = 3,
    ):
        from humanoid_sim.core.robot_description import load_robot_description
        from humanoid_sim.core.scene import load_scene
        from humanoid_sim.core.simulation import Simulation
        from tactile_driver.core.calibration_file import default_skin_calibration
        from tactile_driver.core.pad_geometry import load_skin_geometry
        from tactile_driver.core.pipeline import ProcessorParams, SkinProcessor

        self.description = load_hand_description(robot_yaml, hand)
        self.sim = Simulation(
            load_robot_description(robot_yaml),
            load_scene(scene_yaml),
            seed,
            fixed_base=fixed_base,
            noslip_iterations=noslip_iterations,
        )
        self.geometry = load_skin_geometry(robot_yaml, self.description.skin)
        self._processor_args = (
            self.geometry,
            default_skin_calibration(self.geometry, COUNTS_OFFSET, 1.0 / COUNTS_PER_KPA),
            ProcessorParams(),
        )
        self._processor_type = SkinProcessor
        self.processor = SkinProcessor(*self._processor_args)
        self.controller = GraspController(self.description, params)
        self.names = tuple(self.sim.joint_names)
        self._links = {p.name: p.link for p in self.geometry.pads}
        self.last_output: ControllerOutput | None = None
        self.last_tactile: TactileSnapshot | None = None
        self.tactile_enabled = True
        self.joints_enabled = True

    def reset(self, seed: int | None = None) -> None:
        """Simulator, tactile processing (a new start-up tare) and controller from scratch."""
        self.sim.reset(seed)
        self.processor = self._processor_type(*self._processor_args)
        self.controller.reset()
        self.last_output = None
        self.last_tactile = None

    # ------------------------------------------------------------------------------ sensing
    def read_tactile(self) -> TactileSnapshot:
        """The skin through the tactile driver's processing, as a controller snapshot."""
        from tactile_driver.core.frames import RawFrame, RawPad

        readings = self.sim.tactile_readings()[self.description.skin]
        pads = []
        for index, (pad, reading) in enumerate(zip(self.geometry.pads, readings, strict=True)):
            counts = COUNTS_OFFSET + reading.pressure_kpa * COUNTS_PER_KPA
            counts = np.clip(np.rint(counts), 0, 65535).astype(np.uint16)
            pads.append(RawPad(index, pad.rows, pad.cols, counts))
        output = self.processor.process(RawFrame(0, 0, 0, pads), self.sim.time)
        contacts = {}
        for pad in output.pads:
            c = pad.contact
            contacts[pad.name] = PadContact(
                pad.name,
                self._links[pad.name],
                float(c.force_n),
                bool(c.in_contact),
                bool(pad.slip),
                np.asarray(c.cop_link),
                np.asarray(c.normal_link),
            )
        return TactileSnapshot(self.sim.time, contacts)

    def joint_input(self) -> JointInput:
        q, _, _ = self.sim.joint_state()
        return JointInput(self.sim.time, self.names, q)

    @property
    def tactile_ready(self) -> bool:
        return self.processor.ready

    # ------------------------------------------------------------------------------ stepping
    def step(self) -> ControllerOutput | None:
        """Sense, control, actuate, advance one control period."""
        joints = self.joint_input() if self.joints_enabled else None
        tactile = self.read_tactile() if self.tactile_enabled else None
        self.last_tactile = tactile or self.last_tactile
        output = self.controller.step(self.sim.time, joints, tactile)
        if output is not None:
            self.apply(output)
        self.last_output = output
        self.sim.step()
        return output

    def apply(self, output: ControllerOutput) -> None:
        """Send the controller's references to the simulator as one joint command."""
        hand = self.controller.model.joint_names
        count = len(hand)
        names = list(hand)
        position = [output.hand_positions]
        effort = [np.zeros(count)]
        kp = [np.asarray(output.hand_kp, dtype=float)]
        kd = [np.asarray(output.hand_kd, dtype=float)]
        if output.arm_positions is not None:
            arm = self.description.arm.joints
            names += list(arm)
            position.append(output.arm_positions)
            effort.append(output.arm_effort)
            kp.append(np.full(len(arm), output.arm_kp))
            kd.append(np.full(len(arm), output.arm_kd))
        self.sim.command(
            name=names,
            position=np.concatenate(position),
            effort=np.concatenate(effort),
            kp=np.concatenate(kp),
            kd=np.concatenate(kd),
        )

    def run(self, seconds: float, until=None) -> ControllerOutput | None:
        """Step for ``seconds`` of sim time, or until ``until(output)`` is true."""
        output = None
        for _ in range(int(round(seconds / self.sim.control_period))):
            output = self.step()
            if until is not None and output is not None and until(output):
                break
        return output

    def settle(self) -> None:
        """Run until the tactile start-up tare is done (the skin unloaded)."""
        while not self.processor.ready:
            self.step()

    # ------------------------------------------------------------------------------ objects
    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Ground-truth pelvis position [m] and rotation (for placing goals in its frame)."""
        state = self.sim.base_state()
        rotation = np.zeros(9)
        mujoco.mju_quat2Mat(rotation, state.orientation)
        return state.position, rotation.reshape(3, 3)

    def object_in_base(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Ground-truth object position and (w, x, y, z) orientation in the pelvis frame."""
        state = self.sim.object_states()[name]
        position, rotation = self.base_pose()
        local = rotation.T @ (state.position - position)
        base_quat = np.zeros(4)
        mujoco.mju_mat2Quat(base_quat, rotation.flatten())
        inverse = np.zeros(4)
        mujoco.mju_negQuat(inverse, base_quat)
        quat = np.zeros(4)
        mujoco.mju_mulQuat(quat, inverse, state.orientation)
        return local, quat

    def setup_object(self, name: str, setup: ObjectSetup, table_height: float) -> None:
        """Resize, re-weigh and place a scene object (the simulation must be at rest)."""
        model, data = self.sim.model, self.sim.data
        geom = model.geom(f"{name}_geom").id
        body = model.geom_bodyid[geom]
        s = setup.size
        if setup.shape == "box":
            half = [s[0] / 2.0] * 3
            inertia = [setup.mass * s[0] ** 2 / 6.0] * 3
        elif setup.shape == "cylinder":
            half = [s[0], s[0], s[1]]
            side = setup.mass * (3 * s[0] ** 2 + (2 * s[1]) ** 2) / 12.0
            inertia = [side, side, setup.mass * s[0] ** 2 / 2.0]
        else:
            half = [s[0]] * 3
            inertia = [2.0 * setup.mass * s[0] ** 2 / 5.0] * 3
        model.geom_size[geom][: len(s) if setup.shape != "box" else 3] = (
            s if setup.shape != "box" else half
        )
        model.geom_aabb[geom][3:] = half
        model.geom_rbound[geom] = (
            float(np.linalg.norm(half))
            if setup.shape == "box"
            else (math.hypot(s[0], s[1]) if setup.shape == "cylinder" else s[0])
        )
        model.geom_friction[geom][0] = setup.friction
        model.geom_priority[geom] = 1  # its friction, not the larger of the pair, applies
        model.body_mass[body] = setup.mass
        model.body_inertia[body] = inertia
        weld = model.eq_data.copy()
        mujoco.mj_setConst(model, mujoco.MjData(model))
        model.eq_data[:] = weld  # mj_setConst recomputes weld poses (the fixed base) from qpos0
        adr = self.sim.built.object_qpos[name]
        z = table_height + setup.half_height + 0.0005
        data.qpos[adr : adr + 7] = [
            setup.xy[0],
            setup.xy[1],
            z,
            math.cos(setup.yaw / 2),
            0.0,
            0.0,
            math.sin(setup.yaw / 2),
        ]
        dof = model.jnt_dofadr[model.joint(f"{name}_free").id]
        data.qvel[dof : dof + 6] = 0.0
        mujoco.mj_forward(model, data)

    def park_object(self, name: str, xy: tuple[float, float], table_height: float) -> None:
        """Move an object out of the way (at rest on the table)."""
        adr = self.sim.built.object_qpos[name]
        geom = self.sim.model.geom(f"{name}_geom").id
        half = float(self.sim.model.geom_aabb[geom][5])
        self.sim.data.qpos[adr : adr + 7] = [xy[0], xy[1], table_height + half + 0.0005, 1, 0, 0, 0]
        mujoco.mj_forward(self.sim.model, self.sim.data)
