"""The launch files and the test harness start the same nodes (the drift test).

``launch`` and ``launch_ros`` are not on PyPI, so this machine cannot run ``ros2 launch``. Each
``launch/<stack>.launch.py`` is instead executed against *stand-ins* for those two packages,
defined below: classes that only record their constructor arguments, with the constructor
signatures of launch_ros 0.26 (Jazzy) / 0.28 (Kilted), so a misspelt keyword fails here as it
would in ``ros2 launch``. The recorded Node actions, with their substitutions evaluated for a
set of launch argument values, must equal the NodeSpecs that ``harness.wiring`` builds from
``launch/stack.yaml`` for the same values.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.spec import NodeSpec
from harness.wiring import REPOSITORY_ROOT, STACK_FILE, StackDescription, load_stack_file

LAUNCH_DIRECTORY = REPOSITORY_ROOT / "launch"
LAUNCH_FILES = sorted(LAUNCH_DIRECTORY.glob("*.launch.py"))
FEATURE_WIRING = Path(__file__).resolve().parent / "fixtures" / "typed_stack.yaml"


def test_there_are_launch_files() -> None:
    assert LAUNCH_FILES, f"no *.launch.py under {LAUNCH_DIRECTORY}"


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda path: path.name)
def test_launch_file_only_wires_from_stack_yaml(launch_file: Path) -> None:
    tree = ast.parse(launch_file.read_text(), filename=str(launch_file))
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert "generate_launch_description" in functions
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert "stack.yaml" in strings, f"{launch_file.name} does not read launch/stack.yaml"
    stack = launch_file.name.removesuffix(".launch.py")
    assert stack in load_stack_file().stacks, (
        f"{launch_file.name} has no stack '{stack}' in {STACK_FILE}: launch/<stack>.launch.py "
        "starts the stack of that name"
    )


# --- stand-ins for launch and launch_ros ----------------------------------------------------


@dataclass
class StandInLaunchConfiguration:
    variable_name: str
    default: Any = None


@dataclass
class StandInTextSubstitution:
    text: str


class StandInParameterValue:
    """launch_ros.parameter_descriptions.ParameterValue(value, *, value_type=None)."""

    def __init__(self, value: Any, *, value_type: Any = None) -> None:
        assert value_type in (None, str, int, float, bool), f"unsupported value_type {value_type}"
        self.value = value
        self.value_type = value_type


class StandInDeclareLaunchArgument:
    """launch.actions.DeclareLaunchArgument(name, *, default_value, description, choices)."""

    def __init__(
        self,
        name: str,
        *,
        default_value: Any = None,
        description: str | None = None,
        choices: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        assert set(kwargs) <= {"condition"}, f"unexpected arguments {sorted(kwargs)}"
        self.name = name
        self.default_value = default_value
        self.description = description
        self.choices = choices


# Keyword arguments launch_ros's Node passes on to launch's ExecuteProcess / ExecuteLocal.
EXECUTE_PROCESS_KEYWORDS = {
    "cwd",
    "env",
    "additional_env",
    "prefix",
    "shell",
    "sigterm_timeout",
    "sigkill_timeout",
    "emulate_tty",
    "output",
    "output_format",
    "cached_output",
    "log_cmd",
    "on_exit",
    "respawn",
    "respawn_delay",
    "respawn_max_retries",
    "condition",
}


class StandInNode:
    """launch_ros.actions.Node: keyword-only, as in launch_ros."""

    def __init__(
        self,
        *,
        executable: Any,
        package: Any = None,
        name: Any = None,
        namespace: Any = None,
        exec_name: Any = None,
        parameters: list[Any] | None = None,
        remappings: list[tuple[Any, Any]] | None = None,
        ros_arguments: list[Any] | None = None,
        arguments: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        unexpected = sorted(set(kwargs) - EXECUTE_PROCESS_KEYWORDS)
        assert not unexpected, f"Node() got unexpected keyword arguments {unexpected}"
        assert parameters is None or isinstance(parameters, list), "parameters must be a list"
        self.executable = executable
        self.package = package
        self.name = name
        self.namespace = namespace
        self.parameters = parameters or []
        self.remappings = list(remappings or [])
        self.ros_arguments = list(ros_arguments or [])
        self.arguments = list(arguments or [])
        self.kwargs = kwargs


class StandInLaunchDescription:
    def __init__(self, initial_entities: list[Any] | None = None) -> None:
        self.entities = list(initial_entities or [])


def _module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


@pytest.fixture
def launch_stand_ins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Install the stand-ins as ``launch``/``launch_ros`` for one test, then remove them."""
    modules = {
        "launch": _module("launch", LaunchDescription=StandInLaunchDescription),
        "launch.actions": _module(
            "launch.actions", DeclareLaunchArgument=StandInDeclareLaunchArgument
        ),
        "launch.substitutions": _module(
            "launch.substitutions",
            LaunchConfiguration=StandInLaunchConfiguration,
            TextSubstitution=StandInTextSubstitution,
        ),
        "launch_ros": _module("launch_ros"),
        "launch_ros.actions": _module("launch_ros.actions", Node=StandInNode),
        "launch_ros.parameter_descriptions": _module(
            "launch_ros.parameter_descriptions", ParameterValue=StandInParameterValue
        ),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the launch file prepends its directory
    sys.modules.pop("_stack", None)
    yield
    sys.modules.pop("_stack", None)  # imported against the stand-ins: never reuse it


def run_launch_file(path: Path) -> StandInLaunchDescription:
    spec = importlib.util.spec_from_file_location(f"launch_file_{path.stem.split('.')[0]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert isinstance(description, StandInLaunchDescription)
    return description


# --- evaluating what the launch file produced ------------------------------------------------


def evaluate(value: Any, arguments: dict[str, str]) -> str:
    """Perform substitutions, as launch does when the action runs."""
    if isinstance(value, str):
        return value
    if isinstance(value, StandInLaunchConfiguration):
        return arguments[value.variable_name]
    if isinstance(value, StandInTextSubstitution):
        return value.text
    if isinstance(value, list | tuple):
        return "".join(evaluate(part, arguments) for part in value)
    raise AssertionError(f"unexpected substitution {value!r}")


def evaluate_parameter(value: Any, arguments: dict[str, str]) -> Any:
    """A parameter value as launch_ros hands it to the node (launch's coerce_to_type rules)."""
    if not isinstance(value, StandInParameterValue):
        assert isinstance(value, bool | int | float | str), f"untyped parameter {value!r}"
        return value
    text = evaluate(value.value, arguments)
    if value.value_type in (str, int, float):
        return value.value_type(text)
    if value.value_type is bool:
        parsed = yaml.safe_load({"1": "true", "0": "false"}.get(text, text))
        assert isinstance(parsed, bool), f"{text!r} is not a bool"
        return parsed
    return yaml.safe_load(text)


def node_spec_of(action: StandInNode, arguments: dict[str, str]) -> NodeSpec:
    """What the Node action will start, as a NodeSpec."""
    files = [Path(p) for p in action.parameters if isinstance(p, str | Path)]
    dictionaries = [p for p in action.parameters if isinstance(p, dict)]
    assert len(files) + len(dictionaries) == len(action.parameters)
    # Files first, then the overrides: the overrides win.
    assert action.parameters[: len(files)] == [str(f) for f in files]
    overrides = {
        key: evaluate_parameter(value, arguments)
        for dictionary in dictionaries
        for key, value in dictionary.items()
    }
    log_level = None
    if action.ros_arguments:
        assert action.ros_arguments[0] == "--log-level" and len(action.ros_arguments) == 2
        log_level = evaluate(action.ros_arguments[1], arguments)
    return NodeSpec(
        name=evaluate(action.name, arguments),
        package=evaluate(action.package, arguments),
        executable=evaluate(action.executable, arguments),
        namespace=evaluate(action.namespace, arguments),
        params_files=tuple(files),
        overrides=overrides,
        remappings=tuple(
            (evaluate(a, arguments), evaluate(b, arguments)) for a, b in action.remappings
        ),
        env={
            evaluate(k, arguments): evaluate(v, arguments)
            for k, v in (action.kwargs.get("additional_env") or {}).items()
        },
        log_level=log_level,
        arguments=tuple(evaluate(a, arguments) for a in action.arguments),
    )


def typed(spec: NodeSpec) -> dict[str, tuple[type, Any]]:
    """Overrides with their types: ``True == 1`` must not hide a bool/int drift."""
    return {key: (type(value), value) for key, value in spec.overrides.items()}


def non_default_arguments(wiring: StackDescription) -> dict[str, str]:
    """A value other than the default for every argument, to exercise each substitution."""
    values = {}
    for name, argument in wiring.arguments.items():
        if argument.choices:
            values[name] = next(c for c in argument.choices if c != argument.default)
        elif argument.type == "bool":
            values[name] = "false" if argument.default.lower() == "true" else "true"
        elif argument.type == "int":
            values[name] = str(int(argument.default) + 7)
        elif argument.type == "float":
            values[name] = str(float(argument.default) + 0.5)
        else:
            values[name] = f"{argument.default}robot7"
    return values


# --- the drift test ---------------------------------------------------------------------------


def assert_launch_matches_harness(
    description: StandInLaunchDescription,
    wiring: StackDescription,
    stack: str,
    given: dict[str, str],
    root: Path,
) -> None:
    """The launch description declares ``wiring``'s arguments and starts what the harness would
    start for ``stack`` with the launch arguments ``given``."""
    declared = [e for e in description.entities if isinstance(e, StandInDeclareLaunchArgument)]
    nodes = [e for e in description.entities if isinstance(e, StandInNode)]
    assert len(declared) + len(nodes) == len(description.entities), "unexpected actions"

    declared_by_stack = wiring.stack_arguments(stack)
    assert [d.name for d in declared] == list(declared_by_stack)
    for declaration in declared:
        argument = declared_by_stack[declaration.name]
        assert declaration.description and declaration.description.strip(), declaration.name
        assert declaration.default_value == argument.default
        assert (declaration.choices or []) == list(argument.choices)

    values = wiring.argument_values(given, stack)
    launched = [node_spec_of(node, values) for node in nodes]
    expected = wiring.node_specs(stack, given, root=root)
    assert launched == expected
    assert [typed(spec) for spec in launched] == [typed(spec) for spec in expected]
    assert [spec.absolute_namespace for spec in launched] == [
        spec.absolute_namespace for spec in expected
    ]
    for node in nodes:
        assert node.kwargs.get("output") == "screen"


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda path: path.name)
@pytest.mark.parametrize("argument_set", ["defaults", "non-defaults"])
@pytest.mark.usefixtures("launch_stand_ins")
def test_launch_file_matches_harness(launch_file: Path, argument_set: str) -> None:
    wiring = load_stack_file()
    stack = launch_file.name.removesuffix(".launch.py")
    given = non_default_arguments(wiring) if argument_set == "non-defaults" else {}
    description = run_launch_file(launch_file)
    assert_launch_matches_harness(description, wiring, stack, given, REPOSITORY_ROOT)


@pytest.mark.parametrize("argument_set", ["defaults", "non-defaults"])
@pytest.mark.usefixtures("launch_stand_ins")
def test_launch_helper_matches_harness_on_every_feature(argument_set: str) -> None:
    """launch/_stack.py and harness.wiring agree on a file using every feature of the format
    (typed and embedded substitutions, literals, choices, namespaces, remappings, env)."""
    sys.path.insert(0, str(LAUNCH_DIRECTORY))
    from _stack import stack_launch_description

    wiring = load_stack_file(FEATURE_WIRING)
    given = non_default_arguments(wiring) if argument_set == "non-defaults" else {}
    description = stack_launch_description(str(FEATURE_WIRING), "all")
    # The helper resolves parameter files against the wiring file's parent directory's parent.
    assert_launch_matches_harness(description, wiring, "all", given, FEATURE_WIRING.parents[1])
