"""Parameters of the hand controller node, each declared once with type, default, range and
meaning; :func:`validate` turns them into a typed :class:`HandParams` and the core parameter
objects, or raises :class:`ParameterError` naming the parameter.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, replace

from humanoid_common.params import ParamSpec, stack_root

from dexterous_hand_ctrl.core.finger_control import FingerParams
from dexterous_hand_ctrl.core.grasp_controller import ControllerParams
from dexterous_hand_ctrl.core.safety import DEFAULT_TIMEOUTS_S, SafetyParams
from dexterous_hand_ctrl.core.slip_reflex import SlipReflexParams
from dexterous_hand_ctrl.errors import DexterousHandCtrlError


class ParameterError(DexterousHandCtrlError):
    """A parameter has a bad value (the message names it)."""


PARAMETERS = (
    ParamSpec(
        "robot_description",
        "config/robots/g1_dex3.yaml",
        "Robot description YAML with the hands: section (relative: to the stack root)",
    ),
    ParamSpec("hand", "right_hand", "Hand to control: a key of the description's hands: section"),
    ParamSpec(
        "source",
        "",
        "JointCommand.source of the commands (the simulator's lockstep source name); "
        "empty: the hand's name",
    ),
    ParamSpec("joint_states_topic", "/joint_states", "Joint state input (sensor_msgs/JointState)"),
    ParamSpec("contacts_topic", "tactile/contacts", "Tactile contacts (ContactArray), per pad"),
    ParamSpec(
        "frames_topic",
        "",
        "Tactile frames (TactileFrame) to monitor (count and last stamp on /diagnostics); "
        "empty: not monitored (a wake-up per frame for figures the tactile driver's own "
        "diagnostics give)",
    ),
    ParamSpec("command_topic", "/joint_command", "Joint command output (JointCommand)"),
    ParamSpec(
        "odometry_topic",
        "",
        "Odometry (nav_msgs/Odometry) giving the base pose in its header frame, so that goals "
        "in that frame (odom, world) resolve; empty: goals in robot frames only",
    ),
    ParamSpec(
        "command_when_idle",
        True,
        "Answer every joint state, holding the current posture when idle (needed by the "
        "simulator's lockstep)",
    ),
    ParamSpec(
        "idle_command_every_state",
        True,
        "With command_when_idle: while idle, re-send the held command with every joint state "
        "(restamped; a lockstep source must), or false: only when the idle controller steps "
        "(every idle_step_period_s), for a hand nothing waits for",
    ),
    ParamSpec(
        "idle_step_period_s",
        0.05,
        "While idle (no goal), step the controller this often (sim/ROS time) and answer the "
        "joint states in between with the held command; 0: step on every joint state",
        minimum=0.0,
        maximum=1.0,
    ),
    ParamSpec(
        "sync_wait_s",
        0.01,
        "After a joint state, wait this long (wall) for the tactile contacts with the same "
        "stamp before stepping with older ones",
        minimum=0.0,
        maximum=1.0,
    ),
    ParamSpec(
        "stale_joint_s",
        0.05,
        "Joint states older than this (sim/ROS time) are stale",
        minimum=0.001,
        maximum=10.0,
    ),
    ParamSpec(
        "stale_tactile_s",
        0.05,
        "Tactile contacts older than this are stale",
        minimum=0.001,
        maximum=10.0,
    ),
    ParamSpec(
        "contact_force_n",
        0.3,
        "A closing finger stops when its counted pads reach this force [N]",
        minimum=0.01,
        maximum=20.0,
    ),
    ParamSpec(
        "force_integral_gain_per_s",
        8.0,
        "Integral gain of the per-finger force regulation [1/s]",
        minimum=0.01,
        maximum=200.0,
    ),
    ParamSpec(
        "weber_fraction",
        0.25,
        "Slip reflex: relative raise of the grip force target per slip event",
        minimum=0.01,
        maximum=2.0,
    ),
    ParamSpec(
        "reflex_ramp_s",
        0.015,
        "Slip reflex: time to reach the raised force [s]",
        minimum=0.001,
        maximum=0.5,
    ),
    ParamSpec(
        "reflex_max_fraction",
        0.8,
        "Slip reflex: the target stays below this fraction of the force limit",
        minimum=0.1,
        maximum=1.0,
    ),
    ParamSpec(
        "contact_lost_s",
        0.1,
        "A gripping finger without force this long: contact lost [s]",
        minimum=0.005,
        maximum=5.0,
    ),
    ParamSpec(
        "home_after_release",
        True,
        "A release ends with the arm at its home posture (the one the robot walks with); "
        "false: it ends where the retreat ended (a rig whose table covers the home posture's "
        "hands, e.g. config/scenes/grasp_bench.yaml)",
    ),
    ParamSpec(
        "phase_timeout_scale",
        1.0,
        "Multiplies every phase timeout (core/safety.py DEFAULT_TIMEOUTS_S)",
        minimum=0.1,
        maximum=100.0,
    ),
    ParamSpec(
        "default_object_extent_m",
        0.05,
        "Extent assumed for goal object sizes given as 0 [m]",
        minimum=0.005,
        maximum=0.5,
    ),
    ParamSpec(
        "feedback_rate_hz",
        20.0,
        "Action feedback rate [Hz]",
        minimum=0.1,
        maximum=500.0,
    ),
    ParamSpec("diagnostics_rate_hz", 1.0, "Rate of /diagnostics [Hz]", minimum=0.1, maximum=50.0),
)


@dataclass(frozen=True)
class HandParams:
    """Validated node parameters (meanings and units in PARAMETERS)."""

    robot_description: pathlib.Path
    hand: str
    source: str
    joint_states_topic: str
    contacts_topic: str
    frames_topic: str
    command_topic: str
    odometry_topic: str
    command_when_idle: bool
    idle_command_every_state: bool
    sync_wait_s: float
    idle_step_period_s: float
    default_object_extent_m: float
    feedback_rate_hz: float
    diagnostics_rate_hz: float
    controller: ControllerParams


def resolve_file(path: str, name: str) -> pathlib.Path:
    """An existing file, relative paths taken from the stack root.

    Raises:
        ParameterError: Naming the parameter and the path when the file does not exist.
    """
    candidate = pathlib.Path(path)
    if not candidate.is_absolute():
        candidate = stack_root() / candidate
    if not candidate.is_file():
        raise ParameterError(f"parameter '{name}': file {candidate} does not exist")
    return candidate


def validate(values: dict) -> HandParams:
    """Typed, checked parameters.

    Raises:
        ParameterError: Naming the first bad parameter and what was expected.
    """
    for spec in PARAMETERS:
        value = values[spec.name]
        expected = type(spec.default)
        if isinstance(value, bool) != isinstance(spec.default, bool) or not isinstance(
            value, (float, int) if expected is float else expected
        ):
            raise ParameterError(f"parameter '{spec.name}': {value!r} is not a {expected.__name__}")
        reason = spec.problem(value)
        if reason is not None:
            raise ParameterError(reason)
    for name in ("hand", "joint_states_topic", "contacts_topic", "command_topic"):
        if not values[name]:
            raise ParameterError(f"parameter '{name}': must not be empty")
    scale = float(values["phase_timeout_scale"])
    try:
        controller = ControllerParams(
            home_after_release=bool(values["home_after_release"]),
            finger=FingerParams(
                contact_force_n=float(values["contact_force_n"]),
                force_integral_gain_per_s=float(values["force_integral_gain_per_s"]),
            ),
            slip=SlipReflexParams(
                weber_fraction=float(values["weber_fraction"]),
                reflex_ramp_s=float(values["reflex_ramp_s"]),
                max_fraction=float(values["reflex_max_fraction"]),
            ),
            safety=replace(
                SafetyParams(),
                stale_joint_s=float(values["stale_joint_s"]),
                stale_tactile_s=float(values["stale_tactile_s"]),
                contact_lost_s=float(values["contact_lost_s"]),
                timeouts_s={k: v * scale for k, v in DEFAULT_TIMEOUTS_S.items()},
            ),
        )
    except DexterousHandCtrlError as error:
        raise ParameterError(f"parameter: {error}") from error
    return HandParams(
        robot_description=resolve_file(values["robot_description"], "robot_description"),
        hand=str(values["hand"]),
        source=str(values["source"] or values["hand"]),
        joint_states_topic=str(values["joint_states_topic"]),
        contacts_topic=str(values["contacts_topic"]),
        frames_topic=str(values["frames_topic"]),
        command_topic=str(values["command_topic"]),
        odometry_topic=str(values["odometry_topic"]),
        command_when_idle=bool(values["command_when_idle"]),
        idle_command_every_state=bool(values["idle_command_every_state"]),
        sync_wait_s=float(values["sync_wait_s"]),
        idle_step_period_s=float(values["idle_step_period_s"]),
        default_object_extent_m=float(values["default_object_extent_m"]),
        feedback_rate_hz=float(values["feedback_rate_hz"]),
        diagnostics_rate_hz=float(values["diagnostics_rate_hz"]),
        controller=controller,
    )
