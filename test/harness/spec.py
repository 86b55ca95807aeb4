"""What it takes to start one node: the harness's equivalent of a launch_ros ``Node`` action.

A :class:`NodeSpec` is plain data. :mod:`harness.wiring` builds them from ``launch/stack.yaml``
(the same file the launch files read), tests may also write them by hand, and
:mod:`harness.processes` turns one into a command line and a running process.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ParameterValue = bool | int | float | str | Sequence[bool] | Sequence[int] | Sequence[float]


@dataclass(frozen=True)
class NodeSpec:
    """One node to start.

    Attributes:
        name: Node name, passed as ``-r __node:=<name>``.
        executable: Executable name inside ``package``; with ``package=None``, a path to the
            executable itself (a ``.py`` file is run with the current Python interpreter).
        package: ROS package that installs the executable under ``lib/<package>/``, or None.
        namespace: Node namespace; empty for the root namespace. Relative ones are made absolute.
        params_files: Parameter YAML files, absolute paths, applied in order.
        overrides: Parameter values applied after the files (``-p name:=value``), so they win.
        remappings: ``(from, to)`` topic/service remapping pairs, in order.
        env: Extra environment variables for the process.
        log_level: ``--log-level`` value (``info``, ``debug``, ...), or None for the default.
        arguments: Extra non-ROS command-line arguments, placed before ``--ros-args``.
    """

    name: str
    executable: str
    package: str | None = None
    namespace: str = ""
    params_files: tuple[Path, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    log_level: str | None = None
    arguments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("NodeSpec.name must not be empty")
        if not self.executable:
            raise ValueError(f"NodeSpec '{self.name}': executable must not be empty")
        # Normalise containers so that specs built from lists compare equal to specs built
        # from tuples (frozen dataclass: go through object.__setattr__).
        object.__setattr__(self, "params_files", tuple(Path(p) for p in self.params_files))
        object.__setattr__(self, "remappings", tuple((str(a), str(b)) for a, b in self.remappings))
        object.__setattr__(self, "overrides", dict(self.overrides))
        object.__setattr__(self, "env", {str(k): str(v) for k, v in self.env.items()})
        object.__setattr__(self, "arguments", tuple(str(a) for a in self.arguments))
        for path in self.params_files:
            if not path.is_absolute():
                raise ValueError(
                    f"NodeSpec '{self.name}': parameter file '{path}' must be an absolute path"
                )

    @property
    def absolute_namespace(self) -> str:
        """The namespace as the node will see it: absolute, no trailing or doubled slashes."""
        return absolute_namespace(self.namespace)

    def ros_arguments(self) -> list[str]:
        """The arguments after ``--ros-args``, in the order rcl needs.

        Parameter files come before ``-p`` overrides: rcl applies both in command-line order and
        the last value wins, so files first makes the overrides win (as in launch_ros, where the
        parameter dictionaries are passed after the files).
        """
        arguments = ["-r", f"__node:={self.name}"]
        if self.absolute_namespace != "/":
            arguments += ["-r", f"__ns:={self.absolute_namespace}"]
        for path in self.params_files:
            arguments += ["--params-file", str(path)]
        for key, value in self.overrides.items():
            arguments += ["-p", f"{key}:={format_parameter_value(value)}"]
        for source, target in self.remappings:
            arguments += ["-r", f"{source}:={target}"]
        if self.log_level:
            arguments += ["--log-level", self.log_level]
        return arguments


def absolute_namespace(namespace: str) -> str:
    """Return ``namespace`` absolute: ``''`` -> ``'/'``, ``'robot//arm/'`` -> ``'/robot/arm'``."""
    parts = [part for part in namespace.split("/") if part]
    return "/" + "/".join(parts)


def format_parameter_value(value: Any) -> str:
    """Format a Python value for ``-p name:=value`` so that rcl parses it back to the same type.

    rcl reads the value as YAML: strings are double-quoted so that ``'42'`` or ``'true'`` stay
    strings; booleans are written ``true``/``false``; lists become YAML flow sequences.

    Raises:
        TypeError: For values a ROS parameter cannot hold (None, dicts, nested lists).
        ValueError: For non-finite floats.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot pass the non-finite float {value!r} as a parameter")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        if any(isinstance(item, list | tuple | dict) for item in value):
            raise TypeError(f"nested sequences are not ROS parameter values: {value!r}")
        return "[" + ", ".join(format_parameter_value(item) for item in value) + "]"
    raise TypeError(
        f"{type(value).__name__} {value!r} is not a ROS parameter value "
        "(expected bool, int, float, str or a list of them)"
    )
