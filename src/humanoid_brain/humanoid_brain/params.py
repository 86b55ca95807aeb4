"""Parameters of the brain node, declared once with default, range and meaning.

:func:`validate` turns the values into a typed :class:`BrainParams` holding the core's
:class:`~humanoid_brain.core.fetch_task.TaskConfig`; a bad value raises :class:`ParameterError`
naming the parameter, and the node refuses to start (exit code 2).
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

from humanoid_common.params import ParamSpec, check_specs, stack_root

from humanoid_brain.core.approach import ApproachConfig
from humanoid_brain.core.fetch_fsm import FetchConfig
from humanoid_brain.core.fetch_task import TaskConfig
from humanoid_brain.core.standoff import StandoffConfig
from humanoid_brain.core.target import TargetConfig
from humanoid_brain.errors import HumanoidBrainError


class ParameterError(HumanoidBrainError):
    """A parameter has a bad value (the message names it)."""


_T = 3600.0  # the longest timeout a parameter accepts [s]
PARAMETERS = (
    # --- wiring
    ParamSpec(
        "robot_description",
        "config/robots/g1_dex3.yaml",
        "Robot description YAML (camera link, waist joints; relative: to the stack root)",
    ),
    ParamSpec("base_frame", "pelvis", "Frame odometry reports the robot in (child frame)"),
    ParamSpec("odom_frame", "odom", "Odometry frame: where the task plans"),
    ParamSpec(
        "camera_frames",
        ["d435_color_optical_frame", "camera_color_optical_frame"],
        "Frame ids of targets in the head camera's optical frame",
    ),
    ParamSpec("grasp_action", "/right_hand/grasp", "Grasp action of the grasping hand"),
    ParamSpec(
        "contacts_topic",
        "/right_hand/tactile/contacts",
        "ContactArray of the grasping hand (drop detection while holding); empty: none",
    ),
    ParamSpec(
        "vision_enable_service",
        "/vision_node/enable",
        "std_srvs/SetBool of the vision node: paused while the hand grasps, lifts and holds "
        "(the hand works by touch; a paused vision node and the camera behind it cost no CPU); "
        "empty: vision always runs",
    ),
    ParamSpec("autostart", False, "Start the task at start-up, without /brain/start"),
    ParamSpec("control_rate_hz", 20.0, "Rate of the decision loop", 1.0, 200.0),
    ParamSpec("status_rate_hz", 2.0, "Rate of /brain/status besides on every change", 0.1, 50.0),
    # --- grasp goal
    ParamSpec("hand", "right", "Hand field of the Grasp goal: left or right"),
    ParamSpec(
        "grasp_type",
        "",
        "Grasp type from the hand's library; empty: the hand's grasp for the class",
    ),
    ParamSpec(
        "object_class",
        "",
        "Class of the target (the vision node's target_class), sent with the grasp goal",
    ),
    ParamSpec("target_force_n", 6.0, "Grip force target [N]", 0.1, 100.0),
    ParamSpec("max_force_n", 12.0, "Grip force limit [N]", 0.1, 100.0),
    ParamSpec("lift_height_m", 0.10, "Lift after grasping [m]", 0.0, 0.5),
    ParamSpec("object_size_m", [0.0, 0.0, 0.0], "Object extents [m] for the goal; 0: unknown"),
    # --- state machine
    ParamSpec("wait_target_timeout_s", 15.0, "Longest wait for a target [s]", 0.1, _T),
    ParamSpec("approach_timeout_s", 60.0, "Longest walk to the stand-off [s]", 0.1, _T),
    ParamSpec("settle_timeout_s", 10.0, "Longest wait to stand still after walking [s]", 0.1, _T),
    ParamSpec("grasp_timeout_s", 30.0, "Longest grasp until the object is gripped [s]", 0.1, _T),
    ParamSpec("lift_timeout_s", 15.0, "Longest lift [s]", 0.1, _T),
    ParamSpec("hold_s", 2.0, "Hold the lifted object this long before DONE [s]", 0.0, _T),
    ParamSpec("recover_timeout_s", 15.0, "Longest release after a failure [s]", 0.1, _T),
    ParamSpec("max_retries", 2, "Attempts after the first failed one", 0, 100),
    # --- target
    ParamSpec("target.lost_timeout_s", 1.5, "No detection this long: target lost [s]", 0.05, 60.0),
    ParamSpec("target.min_detections", 2, "Detections before a target counts", 1, 1000),
    ParamSpec("target.smoothing", 0.5, "Weight of the newest detection", 0.01, 1.0),
    ParamSpec(
        "target.jump_m", 0.15, "A detection this far away restarts the estimate [m]", 0.001, 10.0
    ),
    # --- stand-off
    ParamSpec(
        "standoff.reach_distance_m",
        0.30,
        "Object ahead of the pelvis at the stand-off [m]",
        0.05,
        2.0,
    ),
    ParamSpec(
        "standoff.lateral_offset_m",
        -0.15,
        "Object left (+) / right (-) of the pelvis [m]",
        -1.0,
        1.0,
    ),
    ParamSpec(
        "standoff.max_x_m", 1.0e6, "Largest stand-off x in odom (table keep-out) [m]", -1.0e6, 1.0e6
    ),
    ParamSpec(
        "standoff.max_turn_rad",
        3.1416,
        "Stand-off heading: at most this turn from the start heading (0: walk straight) [rad]",
        0.0,
        3.1416,
    ),
    ParamSpec(
        "standoff.replan_distance_m", 0.03, "Re-plan when the goal moves this much [m]", 0.0, 1.0
    ),
    # --- approach
    ParamSpec("approach.gain_linear", 1.0, "Position gain [1/s]", 0.01, 20.0),
    ParamSpec("approach.gain_angular", 1.5, "Heading gain [1/s]", 0.01, 20.0),
    ParamSpec("approach.max_forward_mps", 0.25, "Forward speed limit [m/s]", 0.01, 2.0),
    ParamSpec("approach.max_lateral_mps", 0.10, "Sideways speed limit [m/s]", 0.01, 2.0),
    ParamSpec("approach.max_turn_rps", 0.40, "Turn rate limit [rad/s]", 0.01, 3.0),
    ParamSpec("approach.max_accel", 0.5, "Command change limit [m/s^2, rad/s^2]", 0.01, 20.0),
    ParamSpec("approach.position_tolerance_m", 0.05, "Arrived within [m]", 0.005, 1.0),
    ParamSpec("approach.yaw_tolerance_rad", 0.10, "Arrived within [rad]", 0.005, 1.0),
    ParamSpec(
        "approach.face_goal_distance_m", 0.5, "Beyond: steer toward the goal [m]", 0.01, 10.0
    ),
    ParamSpec(
        "approach.turn_in_place_rad",
        0.15,
        "Near the goal: turn in place before stepping while the heading error is above [rad]",
        0.01,
        3.2,
    ),
    ParamSpec("standing_speed_mps", 0.03, "Standing: planar speed below [m/s]", 0.001, 1.0),
    ParamSpec("standing_turn_rps", 0.05, "Standing: turn rate below [rad/s]", 0.001, 1.0),
    ParamSpec("drop_confirm_s", 0.3, "No contact this long while holding: dropped [s]", 0.01, 10.0),
    ParamSpec(
        "settle_detections",
        2,
        "Detections made while standing (SETTLE) before the grasp: the grasp goal is estimated "
        "from them only",
        1,
        100,
    ),
    ParamSpec(
        "settle_tolerance_m",
        0.07,
        "Standing (SETTLE) farther than this from the stand-off: walk there again [m]",
        0.01,
        1.0,
    ),
    ParamSpec(
        "retry_tolerance_m",
        0.12,
        "After a failed attempt, standing this close to the stand-off counts as arrived [m]: "
        "the retry grasps from where the failed grasp was made instead of a short walk",
        0.01,
        1.0,
    ),
    ParamSpec(
        "max_repositions",
        0,
        "How often per task SETTLE may walk to the stand-off again (0: never; with the G1's "
        "gait the walk right after a stop fell, see the README)",
        0,
        10,
    ),
)


@dataclass(frozen=True)
class BrainParams:
    robot_description: pathlib.Path
    base_frame: str
    odom_frame: str
    camera_frames: tuple[str, ...]
    grasp_action: str
    contacts_topic: str
    vision_enable_service: str
    autostart: bool
    control_rate_hz: float
    status_rate_hz: float
    hand: str
    grasp_type: str
    object_class: str
    target_force_n: float
    max_force_n: float
    lift_height_m: float
    object_size_m: tuple[float, float, float]
    task: TaskConfig


def validate(values: dict) -> BrainParams:
    """Typed, checked node parameters.

    Raises:
        ParameterError: Naming the first bad parameter.
    """
    check_specs(PARAMETERS, values, ParameterError)
    path = pathlib.Path(values["robot_description"])
    if not path.is_absolute():
        path = stack_root() / path
    if not path.is_file():
        raise ParameterError(f"parameter 'robot_description': file {path} does not exist")
    for name in ("base_frame", "odom_frame", "grasp_action"):
        if not values[name]:
            raise ParameterError(f"parameter '{name}': must not be empty")
    if values["hand"] not in ("left", "right"):
        raise ParameterError(f"parameter 'hand': {values['hand']!r}, expected left or right")
    if values["max_force_n"] < values["target_force_n"]:
        raise ParameterError(
            f"parameter 'max_force_n': {values['max_force_n']} N is below target_force_n "
            f"{values['target_force_n']} N"
        )
    size = list(values["object_size_m"])
    if len(size) != 3 or not all(math.isfinite(v) and v >= 0 for v in size):
        raise ParameterError(f"parameter 'object_size_m': {size}, expected 3 values >= 0")
    try:
        task = _task_config(values)
    except HumanoidBrainError as error:
        raise ParameterError(f"parameters: {error}") from None
    return BrainParams(
        robot_description=path,
        base_frame=values["base_frame"],
        odom_frame=values["odom_frame"],
        camera_frames=tuple(values["camera_frames"]),
        grasp_action=values["grasp_action"],
        contacts_topic=values["contacts_topic"],
        vision_enable_service=values["vision_enable_service"],
        autostart=bool(values["autostart"]),
        control_rate_hz=float(values["control_rate_hz"]),
        status_rate_hz=float(values["status_rate_hz"]),
        hand=values["hand"],
        grasp_type=values["grasp_type"],
        object_class=values["object_class"],
        target_force_n=float(values["target_force_n"]),
        max_force_n=float(values["max_force_n"]),
        lift_height_m=float(values["lift_height_m"]),
        object_size_m=(float(size[0]), float(size[1]), float(size[2])),
        task=task,
    )


def _group(values: dict, prefix: str) -> dict:
    return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}


def _task_config(values: dict) -> TaskConfig:
    fsm = FetchConfig(
        wait_target_timeout_s=values["wait_target_timeout_s"],
        approach_timeout_s=values["approach_timeout_s"],
        grasp_timeout_s=values["grasp_timeout_s"],
        lift_timeout_s=values["lift_timeout_s"],
        max_retries=int(values["max_retries"]),
        settle_timeout_s=values["settle_timeout_s"],
        hold_s=values["hold_s"],
        recover_timeout_s=values["recover_timeout_s"],
    )
    return TaskConfig(
        fsm=fsm,
        standoff=StandoffConfig(**_group(values, "standoff.")),
        approach=ApproachConfig(**_group(values, "approach.")),
        target=TargetConfig(**_group(values, "target.")),
        standing_speed_mps=values["standing_speed_mps"],
        standing_turn_rps=values["standing_turn_rps"],
        drop_confirm_s=values["drop_confirm_s"],
        settle_detections=int(values["settle_detections"]),
        settle_tolerance_m=values["settle_tolerance_m"],
        max_repositions=int(values["max_repositions"]),
        retry_tolerance_m=values["retry_tolerance_m"],
    )
