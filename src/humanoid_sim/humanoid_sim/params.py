"""Parameters of the simulator node, each declared once with type, default, range and meaning.

``declare_and_validate`` declares them on a node and returns a typed, validated ``SimParams``;
a bad value raises ``ParameterError`` naming the parameter, and the node refuses to start.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from humanoid_common.params import ParamSpec, check_specs, stack_root

from humanoid_sim.errors import SimError


class ParameterError(SimError):
    """A parameter has a bad value (the message names it)."""


PARAMETERS = (
    ParamSpec(
        "robot_description",
        "config/robots/g1_dex3.yaml",
        "Robot description YAML (relative paths resolve against the stack root)",
    ),
    ParamSpec("scene", "config/scenes/table_objects.yaml", "Scene YAML: table and objects"),
    ParamSpec(
        "mode",
        "paced",
        "paced: wall-clock real time; lockstep: deterministic, steps when "
        "every lockstep source has answered the last state",
        choices=("paced", "lockstep"),
    ),
    ParamSpec("seed", 0, "Seed for the object poses", minimum=0, maximum=2**31 - 1),
    ParamSpec("timestep", 0.002, "Physics step [s]", minimum=0.0002, maximum=0.005),
    ParamSpec(
        "control_rate_hz",
        500.0,
        "Rate of /joint_states, /imu/data, foot wrenches and "
        "/clock [Hz] (of sim time); a divisor of the physics rate",
        minimum=10.0,
        maximum=5000.0,
    ),
    ParamSpec(
        "clock_rate_hz",
        0.0,
        "Rate of /clock [Hz] (of sim time); 0: with every state (control_rate_hz). Every node "
        "on simulated time takes each /clock message (a few % of a core per node at 100 Hz), "
        "so a whole stack on few cores publishes it less often; timers on simulated time then "
        "fire at most at this rate",
        minimum=0.0,
        maximum=5000.0,
    ),
    ParamSpec(
        "tactile_rate_hz",
        500.0,
        "Rate of the simulated skins' frames [Hz]; 0 disables",
        minimum=0.0,
        maximum=5000.0,
    ),
    ParamSpec(
        "camera_rate_hz",
        15.0,
        "Rate of the RGB-D camera [Hz]; 0 disables",
        minimum=0.0,
        maximum=60.0,
    ),
    ParamSpec(
        "ground_truth_rate_hz",
        100.0,
        "Rate of /sim/base and /sim/objects [Hz]; 0 disables",
        minimum=0.0,
        maximum=5000.0,
    ),
    ParamSpec(
        "real_time_factor",
        1.0,
        "Target speed in paced mode (1 = real time)",
        minimum=0.01,
        maximum=100.0,
    ),
    ParamSpec(
        "lockstep_sources",
        [""],
        "JointCommand.source names lockstep waits for each "
        "step; empty: free-run as fast as possible",
    ),
    ParamSpec(
        "lockstep_timeout_s",
        2.0,
        "Wall time lockstep waits for a source before "
        "stepping anyway (counted on /diagnostics; determinism is then lost)",
        minimum=0.001,
        maximum=600.0,
    ),
    ParamSpec(
        "lockstep_resend_s",
        0.2,
        "Wall time after which lockstep publishes an unanswered state again (a reliable "
        "sample lost under load is otherwise only repaired at the DDS heartbeat, ~3 s); the "
        "controllers answer a repeated stamp with their command for it. At least 4x the "
        "recent answer time is waited (so a slow machine is not asked twice for every state)",
        minimum=0.001,
        maximum=600.0,
    ),
    ParamSpec(
        "lockstep_command_delay_steps",
        0,
        "Lockstep: control periods between a state and the step from which the lockstep "
        "sources' answers to it act. 0: the simulator waits for the answers to each state "
        "before stepping (no latency; physics and controllers take turns). 1: pipelined, the "
        "physics of one period runs while the controllers answer the state before it (one "
        "period of command latency, like a real robot's control bus; the chain runs faster on "
        "few cores). Deterministic either way: a command acts at the step its stamp names",
        minimum=0,
        maximum=10,
    ),
    ParamSpec(
        "lockstep_delayed_sources",
        [""],
        "The lockstep sources lockstep_command_delay_steps applies to; empty: all of them",
    ),
    ParamSpec(
        "lockstep_max_real_time_factor",
        0.0,
        "Lockstep: never step faster than this many times real time (0: as fast as the "
        "sources answer). The nodes outside lockstep (vision, the brain, the skins' drivers) "
        "run in wall time: a cap keeps their latency, in simulated time, what it would be "
        "at that speed",
        minimum=0.0,
        maximum=100.0,
    ),
    ParamSpec(
        "first_order_hold",
        False,
        "Joint drives move each position target along its commanded velocity between "
        "commands (q_ref + v_ref * (t - t_command), at most one control period on) instead "
        "of holding it: for commands slower than a real drive's (the chain's 100 Hz against "
        "the G1's 500 Hz)",
    ),
    ParamSpec(
        "hold_stand_on_start",
        True,
        "Start with every joint holding the stand posture "
        "with stand gains and gravity feed-forward (a robot placed standing)",
    ),
    ParamSpec(
        "diagnostics_rate_hz",
        1.0,
        "Rate of /diagnostics [Hz] (wall time)",
        minimum=0.1,
        maximum=50.0,
    ),
    ParamSpec(
        "fixed_base",
        False,
        "Weld the pelvis to the world at its stand pose (a test stand for manipulation "
        "benches); false: a free-floating robot standing on its feet",
    ),
    ParamSpec(
        "noslip_iterations",
        0,
        "MuJoCo no-slip solver iterations (0: off); a few keep held objects from creeping "
        "down the fingers (grasping benches)",
        minimum=0,
        maximum=100,
    ),
    ParamSpec("max_kp", 2000.0, "Largest accepted kp [N*m/rad]", minimum=0.0, maximum=1e5),
    ParamSpec("max_kd", 100.0, "Largest accepted kd [N*m*s/rad]", minimum=0.0, maximum=1e4),
)


@dataclass(frozen=True)
class SimParams:
    """Validated parameters (see PARAMETERS for meanings and units)."""

    robot_description: pathlib.Path
    scene: pathlib.Path
    mode: str
    seed: int
    timestep: float
    control_rate_hz: float
    clock_rate_hz: float
    tactile_rate_hz: float
    camera_rate_hz: float
    ground_truth_rate_hz: float
    real_time_factor: float
    lockstep_sources: tuple[str, ...]
    lockstep_timeout_s: float
    lockstep_resend_s: float
    lockstep_max_real_time_factor: float
    lockstep_command_delay_steps: int
    lockstep_delayed_sources: tuple[str, ...]
    hold_stand_on_start: bool
    first_order_hold: bool
    diagnostics_rate_hz: float
    max_kp: float
    max_kd: float
    fixed_base: bool = False
    noslip_iterations: int = 0

    @property
    def control_period(self) -> float:
        return 1.0 / self.control_rate_hz


def _resolve(path: str, name: str) -> pathlib.Path:
    candidate = pathlib.Path(path)
    if not candidate.is_absolute():
        candidate = stack_root() / candidate
    if not candidate.is_file():
        raise ParameterError(f"parameter '{name}': file {candidate} does not exist")
    return candidate


def validate(values: dict) -> SimParams:
    """Check raw parameter values and build SimParams.

    Raises:
        ParameterError: Naming the first bad parameter and what was expected.
    """
    check_specs(PARAMETERS, values, ParameterError)
    timestep = float(values["timestep"])
    period = 1.0 / float(values["control_rate_hz"])
    ratio = period / timestep
    if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
        raise ParameterError(
            f"parameter 'control_rate_hz': period {period} s is not a multiple of the timestep "
            f"{timestep} s"
        )
    for name in ("clock_rate_hz", "tactile_rate_hz", "ground_truth_rate_hz", "camera_rate_hz"):
        rate = float(values[name])
        if rate > float(values["control_rate_hz"]):
            raise ParameterError(
                f"parameter '{name}': {rate} Hz is above control_rate_hz "
                f"{values['control_rate_hz']} Hz"
            )
    sources = [s for s in values["lockstep_sources"] if s]
    strangers = [s for s in values["lockstep_delayed_sources"] if s and s not in sources]
    if strangers:
        raise ParameterError(
            f"parameter 'lockstep_delayed_sources': {strangers} are not lockstep_sources {sources}"
        )
    return SimParams(
        robot_description=_resolve(values["robot_description"], "robot_description"),
        scene=_resolve(values["scene"], "scene"),
        mode=values["mode"],
        seed=int(values["seed"]),
        timestep=timestep,
        control_rate_hz=float(values["control_rate_hz"]),
        clock_rate_hz=float(values["clock_rate_hz"]),
        tactile_rate_hz=float(values["tactile_rate_hz"]),
        camera_rate_hz=float(values["camera_rate_hz"]),
        ground_truth_rate_hz=float(values["ground_truth_rate_hz"]),
        real_time_factor=float(values["real_time_factor"]),
        lockstep_sources=tuple(sources),
        lockstep_timeout_s=float(values["lockstep_timeout_s"]),
        lockstep_resend_s=float(values["lockstep_resend_s"]),
        lockstep_max_real_time_factor=float(values["lockstep_max_real_time_factor"]),
        lockstep_command_delay_steps=int(values["lockstep_command_delay_steps"]),
        lockstep_delayed_sources=tuple(s for s in values["lockstep_delayed_sources"] if s),
        hold_stand_on_start=bool(values["hold_stand_on_start"]),
        first_order_hold=bool(values["first_order_hold"]),
        diagnostics_rate_hz=float(values["diagnostics_rate_hz"]),
        max_kp=float(values["max_kp"]),
        max_kd=float(values["max_kd"]),
        fixed_base=bool(values.get("fixed_base", False)),
        noslip_iterations=int(values.get("noslip_iterations", 0)),
    )
