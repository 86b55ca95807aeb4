"""Turn a stack of ``launch/stack.yaml`` into launch actions, for every ``launch/*.launch.py``.

The wiring lives in ``stack.yaml`` (its format is described at the top of that file); a launch
file only names its stack::

    sys.path.insert(0, LAUNCH_DIRECTORY)
    from _stack import stack_launch_description

    def generate_launch_description():
        return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, 'stack.yaml'), 'sim')

The test harness (``test/harness/wiring.py``) reads the same file to start the same nodes where
the launch package is not installed, and ``test/test_launch_files.py`` checks both agree.
The file's thorough validation is done there; this module trusts it.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, TextSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

# ``$(name)`` refers to the launch argument ``name``.
SUBSTITUTION = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
VALUE_TYPES = {"str": str, "bool": bool, "int": int, "float": float}


def stack_launch_description(stack_file: str, stack: str) -> LaunchDescription:
    """Declare every argument of ``stack_file`` and start the nodes of ``stack``.

    Args:
        stack_file: Path of ``stack.yaml``; parameter files are relative to its parent's parent
            (the repository root).
        stack: Key under ``stacks:``.
    """
    with open(stack_file, encoding="utf-8") as file:
        wiring = yaml.safe_load(file)
    root = os.path.dirname(os.path.dirname(os.path.realpath(stack_file)))
    members = wiring["stacks"][stack]
    defaults: dict[str, str] = {}
    if isinstance(members, dict):  # {nodes: [...], defaults: {argument: value}}
        defaults = members.get("defaults") or {}
        members = members["nodes"]
    arguments = {
        name: {**spec, "default": defaults.get(name, spec["default"])}
        for name, spec in wiring["arguments"].items()
    }
    actions: list[Any] = [declare_argument(name, spec) for name, spec in arguments.items()]
    for key in members:
        actions.append(node_action(key, wiring["nodes"][key], arguments, root))
    return LaunchDescription(actions)


def declare_argument(name: str, spec: dict[str, Any]) -> DeclareLaunchArgument:
    """``DeclareLaunchArgument`` of one ``arguments:`` entry."""
    extra = {"choices": list(spec["choices"])} if spec.get("choices") else {}
    return DeclareLaunchArgument(
        name, default_value=spec["default"], description=spec["description"].strip(), **extra
    )


def node_action(key: str, entry: dict[str, Any], arguments: dict[str, Any], root: str) -> Node:
    """``launch_ros.actions.Node`` of one ``nodes:`` entry."""
    parameters: list[Any] = [
        path if os.path.isabs(path) else os.path.join(root, path)
        for path in entry.get("parameters") or []
    ]
    overrides = {
        name: parameter_value(value, arguments)
        for name, value in (entry.get("overrides") or {}).items()
    }
    if overrides:
        # After the files, so that the overrides win.
        parameters.append(overrides)
    log_level = entry.get("log_level", "$(log_level)")
    return Node(
        package=entry["package"],
        executable=entry["executable"],
        name=entry.get("name", key),
        namespace=substitutions(entry.get("namespace", "$(namespace)")),
        parameters=parameters,
        remappings=[
            (substitutions(source), substitutions(target))
            for source, target in (entry.get("remappings") or {}).items()
        ],
        arguments=[substitutions(a) for a in entry.get("arguments") or []],
        ros_arguments=["--log-level", substitutions(log_level)] if log_level else [],
        additional_env={
            name: substitutions(value) for name, value in (entry.get("env") or {}).items()
        },
        output="screen",
    )


def parameter_value(value: Any, arguments: dict[str, Any]) -> Any:
    """A parameter override: exactly ``$(arg)`` takes ``arg``'s type, other text stays text."""
    if not isinstance(value, str) or not SUBSTITUTION.search(value):
        return value
    whole = SUBSTITUTION.fullmatch(value)
    if whole:
        argument_type = arguments[whole.group(1)].get("type", "str")
        return ParameterValue(
            LaunchConfiguration(whole.group(1)), value_type=VALUE_TYPES[argument_type]
        )
    return ParameterValue(substitutions(value), value_type=str)


def substitutions(template: str) -> Any:
    """``'$(a)'`` -> ``LaunchConfiguration('a')``, ``'x/$(a)'`` -> a list of substitutions,
    text without ``$(...)`` -> the text itself."""
    whole = SUBSTITUTION.fullmatch(template)
    if whole:
        return LaunchConfiguration(whole.group(1))
    if not SUBSTITUTION.search(template):
        return template
    parts: list[Any] = []
    position = 0
    for match in SUBSTITUTION.finditer(template):
        if match.start() > position:
            parts.append(TextSubstitution(text=template[position : match.start()]))
        parts.append(LaunchConfiguration(match.group(1)))
        position = match.end()
    if position < len(template):
        parts.append(TextSubstitution(text=template[position:]))
    return parts
