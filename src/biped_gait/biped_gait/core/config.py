"""Configuration of the walking controller: robot facts and tunables, validated in one place.

Robot facts (joints, feet, gains, CoM height) come from the ``gait:`` section of the robot
description YAML (config/robots/g1_dex3.yaml), so another robot is a new YAML; the tunables
are node parameters (see :mod:`biped_gait.params`) with the defaults below.
"""

from __future__ import annotations

import math
import os
import pathlib
import sys
from dataclasses import dataclass, field

import numpy as np
import yaml

from biped_gait.core.command import VelocityLimits
from biped_gait.core.estimator import EstimatorSettings
from biped_gait.core.footsteps import StepLimits
from biped_gait.core.ik import IkWeights
from biped_gait.core.stabilizer import StabilizerSettings
from biped_gait.core.zmp_plan import GaitTiming
from biped_gait.errors import BipedGaitError


@dataclass(frozen=True)
class RobotFacts:
    """What the gait needs to know about the robot.

    Attributes:
        urdf_path: URDF file.
        controlled_joints: Legs and waist, commanded by the gait.
        held_joints: Joints held at their stand posture when arms are commanded (arms).
        posture: Stand angle per joint [rad].
        feet: Side -> (link, sole centre in the link frame [m]).
        torso_link: Link kept upright.
        imu_link: IMU link.
        sole_half_length: Half length of the sole support rectangle [m].
        sole_half_width: Half width [m].
        sensor_height: Ankle F/T sensor height above the sole [m].
        gains: Joint name -> (kp [N*m/rad], kd [N*m*s/rad]) while standing and walking.
        held_gains: Joint name -> (kp, kd) of the held joints.
        damping_kd: Joint damping in damping mode [N*m*s/rad].
    """

    urdf_path: pathlib.Path
    controlled_joints: tuple
    held_joints: tuple
    posture: dict
    feet: dict
    torso_link: str
    imu_link: str
    sole_half_length: float
    sole_half_width: float
    sensor_height: float
    gains: dict
    held_gains: dict
    damping_kd: float


@dataclass(frozen=True)
class GaitConfig:
    """All tunables of the controller (defaults are the tuned values for the G1)."""

    dt: float = 0.002
    com_height: float = 0.62
    preview_horizon: float = 1.6
    preview_r: float = 1e-6
    ik_iterations: int = 1
    stand_ramp: float = 1.0
    stand_initial_gain: float = 0.3
    step_in_place: bool = False
    fall_tilt: float = 0.6
    fall_com_height: float = 0.45
    anchor_tolerance: float = 0.05
    support_margin: float = 0.008
    inertial_feedforward: bool = True
    com_tracking: str = "pattern"
    swing_momentum_gain: float = 1.95
    swing_momentum_lead: float = 0.02
    swing_attitude_compensation: float = 1.0
    acceleration_filter: float = 0.01
    command_latency: float = 0.0
    timing: GaitTiming = field(default_factory=GaitTiming)
    limits: StepLimits = field(default_factory=StepLimits)
    velocity: VelocityLimits = field(default_factory=VelocityLimits)
    weights: IkWeights = field(default_factory=IkWeights)
    stabilizer: StabilizerSettings = field(default_factory=StabilizerSettings)
    estimator: EstimatorSettings = field(default_factory=EstimatorSettings)

    def __post_init__(self):
        for name in ("dt", "com_height", "preview_horizon", "preview_r", "stand_ramp"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise BipedGaitError(f"gait setting {name} = {value!r}: expected > 0")
        if not 0 < self.stand_initial_gain <= 1:
            raise BipedGaitError(
                f"stand_initial_gain {self.stand_initial_gain}: expected a fraction in (0, 1]"
            )
        if self.ik_iterations < 1:
            raise BipedGaitError(f"ik_iterations {self.ik_iterations}: expected >= 1")


def _pair(value, where: str) -> tuple[float, float]:
    array = np.asarray(value, dtype=float)
    if array.shape != (2,) or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise BipedGaitError(f"{where}: expected [kp, kd] >= 0, got {value!r}")
    return float(array[0]), float(array[1])


def _gain_table(spec: dict, joints, where: str) -> dict:
    """Gains per joint from a table keyed by joint-name suffix (longest match wins)."""
    table = {str(k): _pair(v, f"{where}.{k}") for k, v in (spec or {}).items()}
    gains = {}
    for joint in joints:
        matches = [k for k in table if joint.endswith(k) or joint.startswith(k)]
        if not matches:
            raise BipedGaitError(f"{where}: no gains for joint {joint!r}")
        gains[joint] = table[max(matches, key=len)]
    return gains


def example_robot_data_dir() -> pathlib.Path:
    """example-robot-data's ``robots/`` folder: ``$EXAMPLE_ROBOT_DATA_DIR``, the PyPI wheel's
    cmeel prefix on ``sys.path``, or an apt install under ``/opt/ros``.

    Raises:
        BipedGaitError: When none is found.
    """
    env = os.environ.get("EXAMPLE_ROBOT_DATA_DIR")
    candidates = [pathlib.Path(env)] if env else []
    candidates += [
        pathlib.Path(p) / "cmeel.prefix/share/example-robot-data/robots" for p in sys.path
    ]
    candidates += sorted(pathlib.Path("/opt/ros").glob("*/share/example-robot-data/robots"))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise BipedGaitError("example-robot-data not found: set EXAMPLE_ROBOT_DATA_DIR")


def load_robot_facts(path: str | pathlib.Path, urdf_path: pathlib.Path | None = None) -> RobotFacts:
    """Read the ``gait:`` section of a robot description YAML.

    Args:
        path: Robot description YAML.
        urdf_path: URDF to use; None: the description's ``urdf.path`` in example-robot-data.

    Raises:
        BipedGaitError: Missing or malformed entries, naming them.
    """
    with open(path) as stream:
        data = yaml.safe_load(stream)
    if not isinstance(data, dict) or "gait" not in data:
        raise BipedGaitError(f"{path}: no 'gait' section")
    gait = data["gait"]
    groups = data.get("joint_groups", {})
    if urdf_path is None:
        try:
            urdf_path = example_robot_data_dir() / data["urdf"]["path"]
        except (KeyError, TypeError) as error:
            raise BipedGaitError(f"{path}: no urdf.path") from error
        if not urdf_path.is_file():
            raise BipedGaitError(f"{path}: URDF {urdf_path} does not exist")

    def joints_of(names, where):
        out = []
        for group in names:
            if group not in groups:
                raise BipedGaitError(f"{path} gait.{where}: unknown joint group {group!r}")
            out += list(groups[group])
        return tuple(out)

    try:
        controlled = joints_of(gait["controlled_groups"], "controlled_groups")
        held = joints_of(gait.get("held_groups", []), "held_groups")
        feet = {
            side: (str(v["link"]), np.asarray(v["sole"], dtype=float))
            for side, v in data["feet"].items()
        }
        sole = np.asarray(gait["sole_half_extent"], dtype=float)
        facts = RobotFacts(
            urdf_path=urdf_path,
            controlled_joints=controlled,
            held_joints=held,
            posture={str(k): float(v) for k, v in data.get("stand_posture", {}).items()},
            feet=feet,
            torso_link=str(gait["torso_link"]),
            imu_link=str(data["imu"]["link"]),
            sole_half_length=float(sole[0]),
            sole_half_width=float(sole[1]),
            sensor_height=float(gait["sensor_height"]),
            gains=_gain_table(gait["gains"], controlled, f"{path} gait.gains"),
            held_gains=_gain_table(gait.get("held_gains", {}), held, f"{path} gait.held_gains"),
            damping_kd=float(gait["damping_kd"]),
        )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise BipedGaitError(f"{path} gait section: missing or malformed {error}") from error
    if set(feet) != {"left", "right"}:
        raise BipedGaitError(f"{path}: feet must be 'left' and 'right', got {sorted(feet)}")
    if not (facts.sole_half_length > 0 and facts.sole_half_width > 0):
        raise BipedGaitError(f"{path} gait.sole_half_extent: expected two values > 0")
    return facts
