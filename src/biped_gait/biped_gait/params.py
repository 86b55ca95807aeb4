"""Parameters of the gait node, declared once with default, range and meaning.

Node-level parameters (files, topics' behaviour, rates) and the controller's tunables, under
flat ROS names; :func:`validate` checks them all and builds the typed
:class:`~biped_gait.core.config.GaitConfig`. A bad value raises :class:`ParameterError` naming
the parameter; the node then refuses to start (exit code 2).
"""

from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass

from humanoid_common.params import ParamSpec, stack_root

from biped_gait.core.command import VelocityLimits
from biped_gait.core.config import GaitConfig
from biped_gait.core.footsteps import StepLimits
from biped_gait.core.stabilizer import StabilizerSettings
from biped_gait.core.zmp_plan import GaitTiming
from biped_gait.errors import BipedGaitError


class ParameterError(BipedGaitError):
    """A parameter has a bad value (the message names it)."""


_G = GaitConfig()
_T, _L, _V, _S = GaitTiming(), StepLimits(), VelocityLimits(), StabilizerSettings()

PARAMETERS = (
    ParamSpec(
        "robot_description",
        "config/robots/g1_dex3.yaml",
        "Robot description YAML with the gait section (relative: to the stack root)",
    ),
    ParamSpec(
        "command_arms",
        False,
        "Also hold the arms at their stand posture (else leave them to the hand controllers)",
    ),
    ParamSpec("auto_stand", False, "Stand up on the first complete state, without /gait/stand"),
    ParamSpec(
        "stale_timeout_s",
        0.02,
        "Inputs older than this: safe hold and a diagnostics error [s]",
        0.002,
        1.0,
    ),
    ParamSpec("status_rate_hz", 50.0, "Rate of /gait/status [Hz]", 1.0, 500.0),
    ParamSpec("odom_rate_hz", 100.0, "Rate of /odom [Hz]", 1.0, 500.0),
    ParamSpec("diagnostics_rate_hz", 1.0, "Rate of /diagnostics [Hz]", 0.1, 50.0),
    ParamSpec("odom_frame", "odom", "Frame of /odom's pose"),
    ParamSpec("base_frame", "pelvis", "Child frame of /odom"),
    # Controller.
    ParamSpec(
        "control_rate_hz",
        1.0 / _G.dt,
        "Rate of the joint states, one control step each [Hz] (the simulator's "
        "control_rate_hz; 500 on the G1)",
        50.0,
        2000.0,
    ),
    ParamSpec("com_height", _G.com_height, "CoM height while walking [m]", 0.4, 0.8, "com_height"),
    ParamSpec(
        "preview_horizon_s",
        _G.preview_horizon,
        "ZMP preview horizon [s]",
        0.4,
        3.0,
        "preview_horizon",
    ),
    ParamSpec(
        "stand_ramp_s", _G.stand_ramp, "Gain ramp when standing up [s]", 0.05, 10.0, "stand_ramp"
    ),
    ParamSpec(
        "stand_initial_gain",
        _G.stand_initial_gain,
        "Gain fraction at the start of the ramp",
        0.01,
        1.0,
        "stand_initial_gain",
    ),
    ParamSpec(
        "step_in_place",
        _G.step_in_place,
        "Keep stepping with a zero command",
        target="step_in_place",
    ),
    ParamSpec(
        "fall_tilt_rad",
        _G.fall_tilt,
        "Base tilt that counts as a fall [rad]",
        0.1,
        1.5,
        "fall_tilt",
    ),
    ParamSpec(
        "command_latency_s",
        _G.command_latency,
        "Time from a state to the moment the command computed from it acts (bus, drives, a "
        "pipelined simulator) [s]: the balance feeds back the DCM predicted for that moment "
        "from the acting command's ZMP; 0: none",
        0.0,
        0.1,
        "command_latency",
    ),
    ParamSpec(
        "swing_momentum_gain",
        _G.swing_momentum_gain,
        "Swing-leg angular momentum per "
        "foot acceleration, compensated in the ZMP plan [kg*m]; 0 disables",
        0.0,
        10.0,
        "swing_momentum_gain",
    ),
    ParamSpec(
        "timing.single_support_s",
        _T.single_support,
        "Swing duration [s]",
        0.15,
        1.5,
        "timing.single_support",
    ),
    ParamSpec(
        "timing.double_support_s",
        _T.double_support,
        "Double support between steps [s]",
        0.02,
        1.0,
        "timing.double_support",
    ),
    ParamSpec(
        "timing.swing_height_m",
        _T.swing_height,
        "Swing foot apex height [m]",
        0.0,
        0.2,
        "timing.swing_height",
    ),
    ParamSpec(
        "steps.foot_separation_m",
        _L.foot_separation,
        "Lateral distance of the soles [m]",
        0.1,
        0.5,
        "limits.foot_separation",
    ),
    ParamSpec(
        "steps.max_forward_m",
        _L.max_step_forward,
        "Longest forward step [m]",
        0.01,
        0.4,
        "limits.max_step_forward",
    ),
    ParamSpec(
        "steps.max_backward_m",
        _L.max_step_backward,
        "Longest backward step [m]",
        0.01,
        0.3,
        "limits.max_step_backward",
    ),
    ParamSpec(
        "steps.max_side_m",
        _L.max_step_side,
        "Longest side step [m]",
        0.01,
        0.3,
        "limits.max_step_side",
    ),
    ParamSpec(
        "steps.max_turn_rad",
        _L.max_step_turn,
        "Largest turn per step [rad]",
        0.01,
        1.0,
        "limits.max_step_turn",
    ),
    ParamSpec(
        "cmd_vel.max_forward",
        _V.max_forward,
        "Forward speed limit [m/s]",
        0.01,
        2.0,
        "velocity.max_forward",
    ),
    ParamSpec(
        "cmd_vel.max_backward",
        _V.max_backward,
        "Backward speed limit [m/s]",
        0.01,
        2.0,
        "velocity.max_backward",
    ),
    ParamSpec(
        "cmd_vel.max_side", _V.max_side, "Side speed limit [m/s]", 0.01, 1.0, "velocity.max_side"
    ),
    ParamSpec(
        "cmd_vel.max_turn", _V.max_turn, "Turn rate limit [rad/s]", 0.01, 3.0, "velocity.max_turn"
    ),
    ParamSpec(
        "cmd_vel.max_linear_acceleration",
        _V.max_linear_acceleration,
        "Rate limit of the linear command [m/s^2]",
        0.01,
        10.0,
        "velocity.max_linear_acceleration",
    ),
    ParamSpec(
        "cmd_vel.max_angular_acceleration",
        _V.max_angular_acceleration,
        "Rate limit of the turn command [rad/s^2]",
        0.01,
        20.0,
        "velocity.max_angular_acceleration",
    ),
    ParamSpec(
        "cmd_vel.timeout_s",
        _V.timeout,
        "No /cmd_vel for this long: walk at zero [s]",
        0.05,
        60.0,
        "velocity.timeout",
    ),
    ParamSpec(
        "stabilizer.dcm_gain",
        _S.dcm_gain,
        "DCM error decay rate [1/s]",
        0.0,
        30.0,
        "stabilizer.dcm_gain",
    ),
    ParamSpec(
        "stabilizer.step_adjust_threshold_m",
        _S.step_adjust_threshold,
        "DCM error that moves the swing foot [m]",
        0.0,
        1.0,
        "stabilizer.step_adjust_threshold",
    ),
    ParamSpec(
        "stabilizer.step_adjust_limit_m",
        _S.step_adjust_limit,
        "Largest step adjustment [m]",
        0.0,
        0.4,
        "stabilizer.step_adjust_limit",
    ),
)


@dataclass(frozen=True)
class NodeParams:
    """Validated node parameters."""

    robot_description: pathlib.Path
    command_arms: bool
    auto_stand: bool
    stale_timeout_s: float
    status_rate_hz: float
    odom_rate_hz: float
    diagnostics_rate_hz: float
    odom_frame: str
    base_frame: str
    gait: GaitConfig


def validate(values: dict) -> NodeParams:
    """Typed, checked parameters.

    Args:
        values: Parameter name -> value, for every name of :data:`PARAMETERS`.

    Raises:
        ParameterError: Naming the first bad parameter.
    """
    groups: dict[str, dict] = {}
    top: dict = {}
    for spec in PARAMETERS:
        value = values[spec.name]
        if isinstance(spec.default, float) and isinstance(value, int):
            value = float(value)
        if type(value) is not type(spec.default):
            raise ParameterError(
                f"parameter '{spec.name}': {value!r} is a {type(value).__name__}, "
                f"expected a {type(spec.default).__name__}"
            )
        reason = spec.problem(value)
        if reason is not None:
            raise ParameterError(reason)
        if spec.target:
            group, _, field = spec.target.rpartition(".")
            (groups.setdefault(group, {}) if group else top)[field] = value
    path = pathlib.Path(values["robot_description"])
    if not path.is_absolute():
        path = stack_root() / path
    if not path.is_file():
        raise ParameterError(f"parameter 'robot_description': file {path} does not exist")
    for name in ("odom_frame", "base_frame"):
        if not values[name]:
            raise ParameterError(f"parameter '{name}': must not be empty")
    top["dt"] = 1.0 / values["control_rate_hz"]
    try:
        defaults = GaitConfig()
        for group, fields in groups.items():
            top[group] = dataclasses.replace(getattr(defaults, group), **fields)
        gait = dataclasses.replace(defaults, **top)
    except BipedGaitError as error:
        raise ParameterError(f"parameters inconsistent: {error}") from error
    return NodeParams(
        robot_description=path,
        command_arms=values["command_arms"],
        auto_stand=values["auto_stand"],
        stale_timeout_s=values["stale_timeout_s"],
        status_rate_hz=values["status_rate_hz"],
        odom_rate_hz=values["odom_rate_hz"],
        diagnostics_rate_hz=values["diagnostics_rate_hz"],
        odom_frame=values["odom_frame"],
        base_frame=values["base_frame"],
        gait=gait,
    )
