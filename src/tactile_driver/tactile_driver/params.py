"""Parameters of the tactile driver node, declared once with default, range and meaning.

Node-level parameters are listed here; the processing parameters (tare, baseline, contact,
slip) come from :class:`tactile_driver.core.pipeline.ProcessorParams` under their flat ROS
names (``contact.threshold_on_n``, ``slip.mu``, ...), so they are declared in one place too.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import yaml
from humanoid_common.params import ParamSpec, check_specs, stack_root

from tactile_driver.errors import TactileDriverError


class ParameterError(TactileDriverError):
    """A parameter has a bad value (the message names it)."""


PARAMETERS = (
    ParamSpec("skin", "right_hand", "Skin name: a key of the robot description's tactile section"),
    ParamSpec(
        "robot_description",
        "config/robots/g1_dex3.yaml",
        "Robot description YAML with the pad geometry (relative: to the stack root)",
    ),
    ParamSpec(
        "calibration",
        "config/tactile/dex3_right.yaml",
        "Calibration YAML of the skin; empty: nominal 1000 counts + 1/30 kPa/count",
    ),
    ParamSpec("board_id", 2, "Board id expected in the frames", minimum=0, maximum=255),
    ParamSpec(
        "backend",
        "serial",
        "Frame source, by entry-point name: serial, sim, replay, or a third-party backend",
    ),
    ParamSpec(
        "backend_options",
        "{}",
        "Backend options as a YAML mapping, e.g. '{port: /tmp/humanoid_eskin_right_hand}'",
    ),
    ParamSpec(
        "publish_wire",
        True,
        "Publish every frame's wire bytes on tactile/wire (TactileRaw) "
        "for recording and byte-exact replay",
    ),
    ParamSpec(
        "mosaic_rate_hz",
        30.0,
        "Max rate of the tactile/mosaic image (only published while "
        "someone subscribes); 0 disables",
        minimum=0.0,
        maximum=1000.0,
    ),
    ParamSpec(
        "stale_timeout_s",
        0.1,
        "No frame for this long: report stale on /diagnostics",
        minimum=0.001,
        maximum=60.0,
    ),
    ParamSpec(
        "read_timeout_s",
        0.02,
        "Longest wait of the IO thread for a frame",
        minimum=0.001,
        maximum=1.0,
    ),
    ParamSpec("diagnostics_rate_hz", 1.0, "Rate of /diagnostics", minimum=0.1, maximum=50.0),
)


@dataclass(frozen=True)
class DriverParams:
    skin: str
    robot_description: pathlib.Path
    calibration: pathlib.Path | None
    board_id: int
    backend: str
    backend_options: dict
    publish_wire: bool
    mosaic_rate_hz: float
    stale_timeout_s: float
    read_timeout_s: float
    diagnostics_rate_hz: float


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


def validate(values: dict) -> DriverParams:
    """Typed, checked node parameters.

    Raises:
        ParameterError: Naming the first bad parameter.
    """
    check_specs(PARAMETERS, values, ParameterError)
    if not values["skin"]:
        raise ParameterError("parameter 'skin': must not be empty")
    try:
        options = yaml.safe_load(values["backend_options"] or "{}")
    except yaml.YAMLError as error:
        raise ParameterError(f"parameter 'backend_options': not YAML: {error}") from error
    if options is None:
        options = {}
    if not isinstance(options, dict) or not all(
        isinstance(v, dict) or v is None for v in options.values()
    ):
        raise ParameterError(
            "parameter 'backend_options': expected a YAML mapping backend -> options mapping, "
            f"got {values['backend_options']!r}"
        )
    calibration = values["calibration"]
    return DriverParams(
        skin=values["skin"],
        robot_description=resolve_file(values["robot_description"], "robot_description"),
        calibration=resolve_file(calibration, "calibration") if calibration else None,
        board_id=int(values["board_id"]),
        backend=values["backend"],
        backend_options=dict(options.get(values["backend"]) or {}),
        publish_wire=bool(values["publish_wire"]),
        mosaic_rate_hz=float(values["mosaic_rate_hz"]),
        stale_timeout_s=float(values["stale_timeout_s"]),
        read_timeout_s=float(values["read_timeout_s"]),
        diagnostics_rate_hz=float(values["diagnostics_rate_hz"]),
    )
