"""Read ``launch/stack.yaml``, the stack's wiring, and turn a named stack into NodeSpecs.

The launch files (through ``launch/_stack.py``) read the same file, so tests and the demo start
exactly what ``ros2 launch`` starts; ``test/test_launch_files.py`` fails if the two readings
drift. The format is documented at the top of ``launch/stack.yaml``. This reader also validates
the file thoroughly: an error names the offending key and what was expected.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .spec import NodeSpec

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = REPOSITORY_ROOT / "launch" / "stack.yaml"

# ``$(name)`` refers to the launch argument ``name``, as in launch's XML/YAML frontends.
SUBSTITUTION = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
ARGUMENT_TYPES = ("str", "bool", "int", "float")
NODE_KEYS = {
    "package",
    "executable",
    "name",
    "namespace",
    "parameters",
    "overrides",
    "remappings",
    "env",
    "log_level",
    "arguments",
}
DEFAULT_NAMESPACE = "$(namespace)"
DEFAULT_LOG_LEVEL = "$(log_level)"


class WiringError(ValueError):
    """``launch/stack.yaml`` (or the arguments given for it) is not valid."""


@dataclass(frozen=True)
class LaunchArgument:
    """One entry of ``arguments:``: a launch argument with its default, type and description."""

    name: str
    default: str
    description: str
    type: str = "str"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeEntry:
    """One entry of ``nodes:``, before launch arguments are substituted."""

    key: str
    package: str
    executable: str
    name: str
    namespace: str
    parameters: tuple[str, ...]
    overrides: Mapping[str, Any]
    remappings: tuple[tuple[str, str], ...]
    env: Mapping[str, str]
    log_level: str
    arguments: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackDescription:
    """The whole wiring file."""

    path: Path
    arguments: Mapping[str, LaunchArgument]
    nodes: Mapping[str, NodeEntry]
    stacks: Mapping[str, tuple[str, ...]]
    stack_defaults: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)

    def stack_arguments(self, stack: str) -> dict[str, LaunchArgument]:
        """The launch arguments as ``stack``'s launch file declares them (its own defaults)."""
        defaults = self.stack_defaults.get(stack, {})
        return {
            name: dataclasses.replace(argument, default=defaults.get(name, argument.default))
            for name, argument in self.arguments.items()
        }

    def node_specs(
        self,
        stack: str,
        arguments: Mapping[str, Any] | None = None,
        root: Path = REPOSITORY_ROOT,
    ) -> list[NodeSpec]:
        """The NodeSpecs of ``stack``, with launch arguments substituted and typed.

        Args:
            stack: A key of ``stacks:``.
            arguments: Launch argument values (as on ``ros2 launch``'s command line: strings,
                or Python values, which are written the way a user would type them); the
                others take their defaults.
            root: Directory that relative parameter file paths are resolved against.

        Raises:
            WiringError: For an unknown stack or argument, or a value of the wrong type.
        """
        if stack not in self.stacks:
            raise WiringError(f"no stack '{stack}' in {self.path}; stacks: {sorted(self.stacks)}")
        values = self.argument_values(arguments or {}, stack)
        return [self._spec(self.nodes[key], values, root) for key in self.stacks[stack]]

    def argument_values(self, given: Mapping[str, Any], stack: str | None = None) -> dict[str, str]:
        """Every argument's value as a string: ``given`` ones, validated, else the default
        (``stack``'s own default where it sets one)."""
        unknown = sorted(set(given) - set(self.arguments))
        if unknown:
            raise WiringError(
                f"unknown launch argument(s) {unknown}; "
                f"{self.path} declares {sorted(self.arguments)}"
            )
        declared = self.stack_arguments(stack) if stack else self.arguments
        values = {name: argument.default for name, argument in declared.items()}
        for name, value in given.items():
            values[name] = _argument_text(value)
        for name, value in values.items():
            argument = self.arguments[name]
            if argument.choices and value not in argument.choices:
                raise WiringError(
                    f"launch argument '{name}' is {value!r}; "
                    f"expected one of {list(argument.choices)}"
                )
            coerce(value, argument.type, f"launch argument '{name}'")
        return values

    def _spec(self, entry: NodeEntry, values: Mapping[str, str], root: Path) -> NodeSpec:
        def text(template: str) -> str:
            return SUBSTITUTION.sub(lambda match: values[match.group(1)], template)

        overrides: dict[str, Any] = {}
        for key, value in entry.overrides.items():
            whole = SUBSTITUTION.fullmatch(value) if isinstance(value, str) else None
            if whole:
                # A value that is exactly one argument takes the argument's type.
                argument = self.arguments[whole.group(1)]
                overrides[key] = coerce(
                    values[argument.name], argument.type, f"launch argument '{argument.name}'"
                )
            elif isinstance(value, str):
                overrides[key] = text(value)
            else:
                overrides[key] = value
        return NodeSpec(
            name=entry.name,
            package=entry.package,
            executable=entry.executable,
            namespace=text(entry.namespace),
            params_files=tuple(_absolute(root, path) for path in entry.parameters),
            overrides=overrides,
            remappings=tuple((text(a), text(b)) for a, b in entry.remappings),
            env={key: text(value) for key, value in entry.env.items()},
            log_level=text(entry.log_level) or None,
            arguments=tuple(text(a) for a in entry.arguments),
        )


def load_stack_file(path: Path | str = STACK_FILE) -> StackDescription:
    """Read and validate a wiring file.

    Raises:
        WiringError: Naming the offending entry and what was expected.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise WiringError(f"{path} is not valid YAML: {error}") from error
    _expect_keys(document, {"arguments", "nodes", "stacks"}, f"{path}")
    arguments = {
        name: _read_argument(name, raw, path)
        for name, raw in _mapping(document["arguments"], f"{path}: arguments").items()
    }
    nodes = {
        key: _read_node(key, raw, path)
        for key, raw in _mapping(document["nodes"], f"{path}: nodes").items()
    }
    stacks: dict[str, tuple[str, ...]] = {}
    stack_defaults: dict[str, dict[str, str]] = {}
    for name, members in _mapping(document["stacks"], f"{path}: stacks").items():
        if isinstance(members, dict):
            where = f"{path}: stacks.{name}"
            _expect_keys(members, {"nodes"}, where, optional={"nodes", "defaults"})
            defaults = _mapping(members.get("defaults") or {}, f"{where}.defaults")
            for argument_name, value in defaults.items():
                if argument_name not in arguments:
                    raise WiringError(
                        f"{where}.defaults.{argument_name}: no such argument; "
                        f"arguments: {sorted(arguments)}"
                    )
                if not isinstance(value, str):
                    raise WiringError(f"{where}.defaults.{argument_name} must be a quoted string")
                argument = arguments[argument_name]
                if argument.choices and value not in argument.choices:
                    raise WiringError(
                        f"{where}.defaults.{argument_name} {value!r} is not one of "
                        f"{list(argument.choices)}"
                    )
                coerce(value, argument.type, f"{where}.defaults.{argument_name}")
            stack_defaults[name] = dict(defaults)
            members = members["nodes"]
        if not isinstance(members, list) or not members:
            raise WiringError(f"{path}: stacks.{name} must be a non-empty list of node keys")
        missing = [member for member in members if member not in nodes]
        if missing:
            raise WiringError(f"{path}: stacks.{name} names undefined node(s) {missing}")
        # Two nodes may share a name in different namespaces (/right_hand/tactile_driver and
        # /left_hand/tactile_driver), not in the same one.
        names = [(nodes[member].namespace, nodes[member].name) for member in members]
        if len(set(names)) != len(names):
            raise WiringError(
                f"{path}: stacks.{name} starts two nodes with one name in one namespace: {names}"
            )
        stacks[name] = tuple(members)
    for node in nodes.values():
        for where, template in _templates(node):
            for referenced in SUBSTITUTION.findall(template):
                if referenced not in arguments:
                    raise WiringError(
                        f"{path}: nodes.{node.key}.{where} refers to $({referenced}), "
                        f"which is not under arguments: {sorted(arguments)}"
                    )
    return StackDescription(path, arguments, nodes, stacks, stack_defaults)


def node_specs(
    stack: str,
    arguments: Mapping[str, Any] | None = None,
    path: Path | str = STACK_FILE,
    root: Path = REPOSITORY_ROOT,
) -> list[NodeSpec]:
    """Shorthand for ``load_stack_file(path).node_specs(stack, arguments, root)``."""
    return load_stack_file(path).node_specs(stack, arguments, root)


def coerce(value: str, type_name: str, what: str) -> Any:
    """Convert a launch argument string to ``type_name`` the way launch_ros does.

    Mirrors ``launch.utilities.type_utils.coerce_to_type``, which ``ParameterValue(...,
    value_type=...)`` uses: ``'1'``/``'0'`` and YAML booleans for bool, ``int()``/``float()``.
    """
    try:
        if type_name == "str":
            return value
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
        if type_name == "bool":
            parsed = {"1": True, "0": False}.get(value)
            if parsed is None:
                parsed = yaml.safe_load(value) if value else None
            if isinstance(parsed, bool):
                return parsed
    except (ValueError, yaml.YAMLError):
        pass
    raise WiringError(f"{what} is {value!r}; expected a {type_name}")


def _argument_text(value: Any) -> str:
    """A Python value written as a user would type it on the ``ros2 launch`` command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise WiringError(f"launch argument values are scalars, got {value!r}")


def _read_argument(name: str, raw: Any, path: Path) -> LaunchArgument:
    where = f"{path}: arguments.{name}"
    _expect_keys(raw, {"default", "description"}, where, optional={"type", "choices"})
    description = raw["description"]
    if not isinstance(description, str) or not description.strip():
        raise WiringError(f"{where}.description must be a non-empty string")
    default = raw["default"]
    if not isinstance(default, str):
        raise WiringError(f"{where}.default must be a quoted string, got {default!r}")
    type_name = raw.get("type", "str")
    if type_name not in ARGUMENT_TYPES:
        raise WiringError(f"{where}.type is {type_name!r}; expected one of {ARGUMENT_TYPES}")
    choices = raw.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise WiringError(f"{where}.choices must be a list of strings")
    argument = LaunchArgument(name, default, description.strip(), type_name, tuple(choices))
    if argument.choices and default not in argument.choices:
        raise WiringError(f"{where}.default {default!r} is not one of {choices}")
    coerce(default, type_name, f"{where}.default")
    return argument


def _read_node(key: str, raw: Any, path: Path) -> NodeEntry:
    where = f"{path}: nodes.{key}"
    _expect_keys(raw, {"package", "executable"}, where, optional=NODE_KEYS)
    for field in ("package", "executable", "name", "namespace", "log_level"):
        if field in raw and not isinstance(raw[field], str):
            raise WiringError(f"{where}.{field} must be a string, got {raw[field]!r}")
    parameters = raw.get("parameters") or []
    if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
        raise WiringError(f"{where}.parameters must be a list of file paths")
    overrides = _mapping(raw.get("overrides") or {}, f"{where}.overrides")
    for name, value in overrides.items():
        # Lists are left to parameter files: launch_ros would turn a list of ints into floats.
        if not isinstance(value, bool | int | float | str):
            raise WiringError(
                f"{where}.overrides.{name} is {value!r}; overrides are scalars "
                "(put lists and maps in the parameter file)"
            )
    arguments = raw.get("arguments") or []
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        raise WiringError(f"{where}.arguments must be a list of strings, got {arguments!r}")
    remappings = _mapping(raw.get("remappings") or {}, f"{where}.remappings")
    env = _mapping(raw.get("env") or {}, f"{where}.env")
    for label, mapping in (("remappings", remappings), ("env", env)):
        for name, value in mapping.items():
            if not isinstance(value, str):
                raise WiringError(f"{where}.{label}.{name} must be a string, got {value!r}")
    return NodeEntry(
        key=key,
        package=raw["package"],
        executable=raw["executable"],
        name=raw.get("name", key),
        namespace=raw.get("namespace", DEFAULT_NAMESPACE),
        parameters=tuple(parameters),
        overrides=dict(overrides),
        remappings=tuple((str(a), b) for a, b in remappings.items()),
        env={str(k): v for k, v in env.items()},
        log_level=raw.get("log_level", DEFAULT_LOG_LEVEL),
        arguments=tuple(arguments),
    )


def _templates(node: NodeEntry) -> list[tuple[str, str]]:
    """Every string of a node entry in which ``$(...)`` may appear, with where it is."""
    found = [("namespace", node.namespace), ("log_level", node.log_level)]
    found += [(f"overrides.{k}", v) for k, v in node.overrides.items() if isinstance(v, str)]
    found += [(f"remappings.{a}", f"{a} {b}") for a, b in node.remappings]
    found += [(f"env.{k}", v) for k, v in node.env.items()]
    found += [(f"arguments[{i}]", a) for i, a in enumerate(node.arguments)]
    return found


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WiringError(f"{where} must be a mapping, got {value!r}")
    return value


def _expect_keys(
    value: Any, required: set[str], where: str, optional: set[str] | None = None
) -> None:
    _mapping(value, where)
    allowed = required | (optional or set())
    missing = sorted(required - set(value))
    unknown = sorted(set(value) - allowed)
    if missing:
        raise WiringError(f"{where} lacks {missing}")
    if unknown:
        raise WiringError(f"{where} has unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _absolute(root: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else root / candidate
