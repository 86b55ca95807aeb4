"""Node parameters as every node of the stack declares and checks them (no ROS import at
module level: the packages' ``params.py`` stay importable by tests without a ROS graph).

Each package lists its parameters as :class:`ParamSpec` entries (name, default whose type is
the parameter's, meaning, range or choices), declares them all with
:func:`declare_parameters`, and validates the values: :func:`check_specs` for the ranges and
choices, then its own cross-parameter rules. A bad value is refused with a message that names
the parameter, and the node exits with code 2 (:mod:`humanoid_common.lifecycle`).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """One parameter.

    Attributes:
        name: ROS parameter name (dots for groups: ``approach.gain_linear``).
        default: Default value; its type is the parameter's type.
        description: Meaning and unit, shown by ``ros2 param describe``.
        minimum: Smallest accepted value (with ``maximum``); None: no range.
        maximum: Largest accepted value.
        target: Where a package puts the value in its config (``"group.field"``); optional.
        choices: Accepted values; empty: any.
    """

    name: str
    default: object
    description: str
    minimum: float | None = None
    maximum: float | None = None
    target: str = ""
    choices: tuple = ()

    def problem(self, value) -> str | None:
        """Why ``value`` is refused (naming the parameter), or None if it is accepted. NaN
        and infinities fall outside every range."""
        if self.choices and value not in self.choices:
            return f"parameter '{self.name}': {value!r} is not one of {list(self.choices)}"
        if self.minimum is not None and not (self.minimum <= value <= self.maximum):
            return f"parameter '{self.name}': {value!r} is outside [{self.minimum}, {self.maximum}]"
        return None


def check_specs(
    specs: Iterable[ParamSpec], values: Mapping[str, object], error: type[Exception]
) -> None:
    """Raise ``error`` naming the first parameter whose value is out of range or choices."""
    for spec in specs:
        reason = spec.problem(values[spec.name])
        if reason is not None:
            raise error(reason)


def declare_parameters(node, specs: Iterable[ParamSpec]) -> dict[str, object]:
    """Declare every parameter on ``node`` (with its description); returns name -> value."""
    from rcl_interfaces.msg import ParameterDescriptor

    values = {}
    for spec in specs:
        descriptor = ParameterDescriptor(description=spec.description)
        values[spec.name] = node.declare_parameter(spec.name, spec.default, descriptor).value
    return values


def stack_root() -> pathlib.Path:
    """The repository root holding ``config/``: ``$HUMANOID_STACK_ROOT``, else found by walking
    up from this file (works for source, symlink and copy installs inside a clone), else the
    working directory."""
    env = os.environ.get("HUMANOID_STACK_ROOT")
    if env:
        return pathlib.Path(env)
    for parent in pathlib.Path(__file__).resolve().parents:
        if (parent / "config" / "robots").is_dir():
            return parent
    return pathlib.Path.cwd()
