"""Shared by the gait benches: the core walking controller driving the ROS-free simulator.

The controller only sees what a real robot measures (joint encoders, IMU, ankle F/T); ground
truth (base pose, fall) is read here for evaluation only.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
for package in ("humanoid_sim", "biped_gait"):
    path = str(ROOT / "src" / package)
    if path not in sys.path:
        sys.path.insert(0, path)

from biped_gait.core.config import GaitConfig, load_robot_facts  # noqa: E402
from biped_gait.core.controller import WalkingController  # noqa: E402
from biped_gait.core.estimator import SensorReadings  # noqa: E402
from humanoid_sim.core.robot_description import load_robot_description  # noqa: E402
from humanoid_sim.core.scene import SceneConfig  # noqa: E402
from humanoid_sim.core.simulation import Simulation  # noqa: E402

ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"


def make_sim(friction: float = 0.9, seed: int = 0, control_period: float = 0.002) -> Simulation:
    """The G1 on an open floor (no table: it would be in the way of a 10 m walk).

    MuJoCo takes the larger friction of two touching geoms, so the feet's contact spheres get
    the floor's friction too: the floor-foot friction is then exactly ``friction``.
    """
    robot = load_robot_description(ROBOT_YAML)
    scene = SceneConfig(floor_friction=friction, table=None, objects=())
    sim = Simulation(robot, scene, seed, control_period=control_period)
    model = sim.model
    for side in ("left", "right"):
        body = model.body(robot.feet[side][0]).id
        for geom in range(model.ngeom):
            if model.geom_bodyid[geom] == body and model.geom_contype[geom]:
                model.geom_friction[geom, 0] = friction
    return sim


def make_controller(sim: Simulation, config: GaitConfig | None = None, arms=True):
    """Controller for the simulated robot, plus the sim-order index of its joints."""
    facts = load_robot_facts(ROBOT_YAML, sim.robot.urdf_path)
    controller = WalkingController(facts, config or GaitConfig(), command_held_joints=arms)
    names = list(sim.joint_names)
    index = np.array([names.index(j) for j in controller.joint_names])
    return controller, index


def readings(sim: Simulation, index: np.ndarray) -> SensorReadings:
    """What the robot's sensors say now."""
    q, dq, _ = sim.joint_state()
    imu = sim.imu()
    wl, wr = sim.foot_wrench("left"), sim.foot_wrench("right")
    return SensorReadings(
        q[index],
        dq[index],
        imu.orientation,
        imu.angular_velocity,
        imu.linear_acceleration,
        {"left": wl.force, "right": wr.force},
        {"left": wl.torque, "right": wr.torque},
    )


def apply(sim: Simulation, command) -> None:
    """Send a controller command to the simulator (validated like a JointCommand)."""
    if command is None:
        return
    sim.command(
        name=command.names,
        position=command.position,
        velocity=command.velocity,
        effort=command.effort,
        kp=command.kp,
        kd=command.kd,
    )


def add_torso_payload(sim: Simulation, mass: float) -> None:
    """Add (or remove, negative) point mass at the torso's centre of mass [kg]."""
    import mujoco

    body = sim.model.body("torso_link").id
    if sim.model.body_mass[body] + mass <= 0:
        raise ValueError(f"torso mass {sim.model.body_mass[body]} kg cannot lose {-mass} kg")
    sim.model.body_mass[body] += mass
    mujoco.mj_setConst(sim.model, mujoco.MjData(sim.model))  # scratch: keeps the state
