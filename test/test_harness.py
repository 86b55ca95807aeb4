"""The test harness itself, exercised for real: private domains, node processes, waits, wiring."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from std_msgs.msg import String
from std_srvs.srv import Trigger

from harness.domain import (
    FIRST_DOMAIN_ID,
    LAST_DOMAIN_ID,
    DomainUnavailableError,
    allocate_domain,
)
from harness.processes import (
    NodeExecutableNotFoundError,
    NodeExitError,
    NodeGroup,
    NodeProcess,
    find_executable,
)
from harness.ros import TestNode, sensor_qos
from harness.spec import NodeSpec, format_parameter_value
from harness.wiring import REPOSITORY_ROOT, WiringError, load_stack_file, node_specs

TEST_DIRECTORY = Path(__file__).resolve().parent
ECHO_NODE = TEST_DIRECTORY / "fixtures" / "echo_node.py"
STUBBORN_NODE = TEST_DIRECTORY / "fixtures" / "stubborn_node.py"
TIMEOUT_S = 15.0


def echo_spec(name: str = "echo", **fields: object) -> NodeSpec:
    return NodeSpec(name=name, executable=str(ECHO_NODE), **fields)  # type: ignore[arg-type]


# --- private domain -----------------------------------------------------------------------


def test_run_environment_is_private() -> None:
    domain_id = int(os.environ["ROS_DOMAIN_ID"])
    assert FIRST_DOMAIN_ID <= domain_id <= LAST_DOMAIN_ID
    ros_home = Path(os.environ["ROS_HOME"])
    assert ros_home.is_dir() and ros_home != Path.home() / ".ros"
    assert Path(os.environ["ROS_LOG_DIR"]).parent == ros_home
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"


def test_concurrent_run_gets_another_domain() -> None:
    """A second process allocating while this run holds its id (as a second pytest would)."""
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(TEST_DIRECTORY)!r})
        from harness.domain import configure_environment
        environment = configure_environment()
        assert os.environ["ROS_DOMAIN_ID"] == str(environment.domain_id)
        print(environment.domain_id, os.environ["ROS_HOME"])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    other_id, other_home = result.stdout.split()
    assert int(other_id) != int(os.environ["ROS_DOMAIN_ID"])
    assert other_home != os.environ["ROS_HOME"]


def test_domain_lock_is_exclusive_until_released(tmp_path: Path) -> None:
    first = allocate_domain(40, 41, lock_directory=tmp_path)
    second = allocate_domain(40, 41, lock_directory=tmp_path)
    assert (first.domain_id, second.domain_id) == (40, 41)
    # Another process sees both ids taken.
    holder_check = (
        f"import sys; sys.path.insert(0, {str(TEST_DIRECTORY)!r}); "
        "from harness.domain import allocate_domain; "
        f"allocate_domain(40, 41, lock_directory=__import__('pathlib').Path({str(tmp_path)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", holder_check], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "DomainUnavailableError" in result.stderr
    with pytest.raises(DomainUnavailableError, match=r"\[40, 41\]"):
        allocate_domain(40, 41, lock_directory=tmp_path)
    first.release()
    assert allocate_domain(40, 41, lock_directory=tmp_path).domain_id == 40
    second.release()


# --- node specs ---------------------------------------------------------------------------


def test_parameter_files_come_before_overrides() -> None:
    spec = echo_spec(
        namespace="robot//arm/",
        params_files=[Path("/a.yaml"), Path("/b.yaml")],
        overrides={"prefix": "x"},
        remappings=[("in", "chatter")],
        log_level="debug",
    )
    assert spec.ros_arguments() == [
        "-r", "__node:=echo",
        "-r", "__ns:=/robot/arm",
        "--params-file", "/a.yaml",
        "--params-file", "/b.yaml",
        "-p", 'prefix:="x"',
        "-r", "in:=chatter",
        "--log-level", "debug",
    ]  # fmt: skip


def test_parameter_values_keep_their_types_on_the_command_line() -> None:
    assert format_parameter_value(True) == "true"
    assert format_parameter_value(3) == "3"
    assert format_parameter_value(0.5) == "0.5"
    assert format_parameter_value("42") == '"42"'  # quoted: stays a string
    assert format_parameter_value([1.0, 2.5]) == "[1.0, 2.5]"
    with pytest.raises(TypeError, match="dict"):
        format_parameter_value({"a": 1})


def test_spec_rejects_relative_parameter_files() -> None:
    with pytest.raises(ValueError, match="absolute"):
        echo_spec(params_files=[Path("config/x.yaml")])


def test_missing_executables_are_reported_clearly() -> None:
    with pytest.raises(NodeExecutableNotFoundError, match="AMENT_PREFIX_PATH"):
        find_executable(NodeSpec(name="n", package="no_such_package", executable="x"))
    with pytest.raises(NodeExecutableNotFoundError, match="no executable 'nope'"):
        find_executable(NodeSpec(name="n", package="rclpy", executable="nope"))
    with pytest.raises(NodeExecutableNotFoundError, match="does not exist"):
        find_executable(NodeSpec(name="n", executable="/no/such/file"))


# --- node processes -----------------------------------------------------------------------


def test_echo_node_parameters_remapping_flow_and_clean_exit(
    test_node: TestNode, node_logs: Path, tmp_path: Path
) -> None:
    params_file = tmp_path / "echo.yaml"
    # Keyed "/**/echo": a bare "echo" key would only match the node in the root namespace.
    params_file.write_text(
        '/**/echo:\n  ros__parameters:\n    prefix: "from-file:"\n    suffix: "-f"\n    repeat: 2\n'
    )
    spec = echo_spec(
        namespace="harness",
        params_files=[params_file],
        # The override beats the file; "7" must stay a string.
        overrides={"prefix": "over:", "suffix": "7"},
        remappings=[("in", "chatter_in"), ("out", "chatter_out")],
    )
    with NodeProcess(spec, node_logs) as echo:
        test_node.wait_for_node("echo", "/harness", TIMEOUT_S)
        assert test_node.get_parameters("/harness/echo", ["prefix", "suffix", "repeat"]) == {
            "prefix": "over:",
            "suffix": "7",
            "repeat": 2,
        }
        received = test_node.collect("/harness/chatter_out", String)
        # Messages sent before discovery completes are lost: wait for both matches.
        received.wait_for_publishers(1, TIMEOUT_S)
        publisher = test_node.publisher(
            "/harness/chatter_in", String, wait_for_subscribers=1, timeout=TIMEOUT_S
        )
        publisher.publish(String(data="hello"))
        messages = received.wait_for(2, TIMEOUT_S)
        assert [m.data for m in messages] == ["over:hello7", "over:hello7"]
        assert echo.stop() == 0
    assert echo.stop_signal is signal.SIGINT
    assert "echo ready" in echo.output()


def test_node_group_chains_nodes_and_checks_exits(test_node: TestNode, node_logs: Path) -> None:
    specs = [
        echo_spec("first", overrides={"prefix": "A"}, remappings=[("in", "a"), ("out", "b")]),
        echo_spec("second", overrides={"prefix": "B"}, remappings=[("in", "b"), ("out", "c")]),
    ]
    with NodeGroup(specs, node_logs) as group:
        received = test_node.collect("/c", String)
        received.wait_for_publishers(1, TIMEOUT_S)
        publisher = test_node.publisher("/a", String, wait_for_subscribers=1, timeout=TIMEOUT_S)
        # Whether "first" already matched "second" on /b is not observable: repeat until through.
        messages = test_node.publish_until(publisher, String(data="x"), received, 1, TIMEOUT_S)
        assert messages[0].data == "BAx"
        group.assert_running()
    # Leaving the block stopped both with SIGINT and checked they exited 0.
    assert [p.returncode for p in group.processes] == [0, 0]
    assert "echo ready" in group["second"].output()


def test_measure_rate(test_node: TestNode, node_logs: Path) -> None:
    with NodeGroup([echo_spec(remappings=[("in", "tick"), ("out", "tock")])], node_logs):
        test_node.wait_for_subscribers("/tick", 1, TIMEOUT_S)
        publisher = test_node.publisher("/tick", String, wait_for_subscribers=1)
        timer = test_node.node.create_timer(0.02, lambda: publisher.publish(String(data="t")))
        try:
            rate = test_node.measure_rate("/tock", String, duration=1.0, timeout=TIMEOUT_S)
        finally:
            test_node.node.destroy_timer(timer)
    # Loose bounds around 50 Hz: the machine may be loaded, tests never assert on timing.
    assert rate.message_count >= 2
    assert 5.0 < rate.rate_hz < 500.0


def test_node_ignoring_sigint_is_escalated_and_reported(node_logs: Path) -> None:
    group = NodeGroup([NodeSpec(name="stubborn", executable=str(STUBBORN_NODE))], node_logs)
    group.start()
    group["stubborn"].wait_for_output("ready", TIMEOUT_S)
    with pytest.raises(NodeExitError, match="did not stop on SIGINT"):
        group.stop_and_check(timeout=0.5)
    assert group["stubborn"].returncode == -signal.SIGTERM


def test_node_exiting_early_is_reported(node_logs: Path, tmp_path: Path) -> None:
    failing = tmp_path / "failing_node.py"
    failing.write_text("import sys\nprint('bad parameter: rate_hz')\nsys.exit(3)\n")
    process = NodeProcess(NodeSpec(name="failing", executable=str(failing)), node_logs).start()
    with pytest.raises(TimeoutError, match="exited with code 3"):
        process.wait_for_output("never printed", TIMEOUT_S)
    group = NodeGroup([], node_logs)
    group.processes.append(process)
    with pytest.raises(NodeExitError, match="bad parameter: rate_hz"):
        group.assert_running()


# --- bounded waits ------------------------------------------------------------------------


def test_waits_time_out_with_an_error_naming_what_was_awaited(test_node: TestNode) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"'/nobody/talks'.*no publishers"):
        test_node.wait_for_message("/nobody/talks", String, timeout=0.3)
    with pytest.raises(TimeoutError, match=r"0 of 1 publisher\(s\) on '/nobody/talks'"):
        test_node.wait_for_publishers("/nobody/talks", 1, timeout=0.3)
    with pytest.raises(TimeoutError, match="'/nobody/listens'"):
        test_node.publisher("/nobody/listens", String, wait_for_subscribers=1, timeout=0.3)
    with pytest.raises(TimeoutError, match="service '/no_service' not available"):
        test_node.call_service(Trigger, "/no_service", timeout=0.3)
    with pytest.raises(TimeoutError, match="node '/ghost'"):
        test_node.wait_for_node("ghost", timeout=0.3)
    # Bounded: five 0.3 s waits, with generous room for a loaded machine.
    assert time.monotonic() - started < 10.0


def test_collector_names_incompatible_publishers(test_node: TestNode) -> None:
    """A reliable subscriber never hears a best-effort publisher: the error says who publishes."""
    test_node.publisher("/best_effort", String, sensor_qos())
    collector = test_node.collect("/best_effort", String)
    test_node.wait_for_publishers("/best_effort", 1, TIMEOUT_S)
    with pytest.raises(TimeoutError, match=r"harness_test_node \(best_effort, volatile\)"):
        collector.wait_for(1, timeout=0.3)


def test_call_service(test_node: TestNode) -> None:
    server = test_node.node.create_service(
        Trigger, "/harness_trigger", lambda _request, response: _answer(response)
    )
    try:
        response = test_node.call_service(Trigger, "/harness_trigger", timeout=TIMEOUT_S)
    finally:
        test_node.node.destroy_service(server)
    assert response.success and response.message == "done"


def _answer(response: Trigger.Response) -> Trigger.Response:
    response.success = True
    response.message = "done"
    return response


# --- wiring -------------------------------------------------------------------------------


def test_sim_stack_specs_from_the_wiring_file() -> None:
    (spec,) = node_specs("simulator", {"sim_mode": "lockstep", "seed": "7"})
    assert (spec.package, spec.executable, spec.name) == (
        "humanoid_sim",
        "sim_node",
        "humanoid_sim",
    )
    assert spec.params_files == (REPOSITORY_ROOT / "config" / "humanoid_sim.yaml",)
    assert (spec.overrides["mode"], spec.overrides["seed"]) == ("lockstep", 7)
    assert type(spec.overrides["seed"]) is int
    assert spec.absolute_namespace == "/"
    assert spec.log_level == "info"


TYPED_WIRING = TEST_DIRECTORY / "fixtures" / "typed_stack.yaml"


def test_wiring_substitutes_and_types_launch_arguments() -> None:
    wiring = load_stack_file(TYPED_WIRING)
    spec, helper = wiring.node_specs("all", root=TEST_DIRECTORY)
    assert spec.overrides == {
        "flag": True,
        "count": 3,
        "gain": 1.0,
        "label": "42",
        "title": "run 3",
        "fixed": 2.5,
        "literal": "7",
    }
    assert [type(v) for v in spec.overrides.values()] == [bool, int, float, str, str, float, str]
    assert spec.params_files == (TEST_DIRECTORY / "config" / "a.yaml", Path("/abs/b.yaml"))
    assert spec.name == "worker" and spec.absolute_namespace == "/arm"
    assert (helper.name, helper.log_level, helper.overrides) == ("helper_node", None, {"mode": "a"})
    spec, _ = wiring.node_specs(
        "all", {"namespace": "r1", "flag": "0", "count": 9, "label": "x", "log_level": "debug"}
    )
    assert (spec.overrides["flag"], spec.overrides["count"], spec.overrides["title"]) == (
        False,
        9,
        "run 9",
    )
    assert spec.absolute_namespace == "/r1/arm"
    assert spec.remappings == (("joint_states", "r1/joint_states"),)
    assert spec.env == {"LABEL": "xx"}
    assert spec.log_level == "debug"
    assert spec.arguments == ("--count", "9", "--fixed")


def test_a_stack_sets_its_own_argument_defaults() -> None:
    wiring = load_stack_file(TYPED_WIRING)
    (tuned,) = wiring.node_specs("tuned", root=TEST_DIRECTORY)
    assert tuned.overrides["count"] == 5 and tuned.absolute_namespace == "/lab/arm"
    assert wiring.stack_arguments("tuned")["count"].default == "5"
    # Given values still win, and other stacks keep the file's defaults.
    (given,) = wiring.node_specs("tuned", {"count": "8"}, root=TEST_DIRECTORY)
    assert given.overrides["count"] == 8
    worker, _ = wiring.node_specs("all", root=TEST_DIRECTORY)
    assert worker.overrides["count"] == 3 and worker.absolute_namespace == "/arm"


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ('{colour: "red"}', "no such argument"),
        ('{count: "many"}', "expected a int"),
        ("{count: 5}", "must be a quoted string"),
    ],
)
def test_bad_stack_defaults_are_refused(tmp_path: Path, defaults: str, message: str) -> None:
    bad = tmp_path / "stack.yaml"
    bad.write_text(TYPED_WIRING.read_text().replace('{count: "5", namespace: "lab"}', defaults))
    with pytest.raises(WiringError, match=message):
        load_stack_file(bad)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sim_mode": "fast"}, r"'sim_mode' is 'fast'; expected one of \['paced', 'lockstep'\]"),
        ({"seed": "three"}, "'seed' is 'three'; expected a int"),
        ({"use_sim_time": "maybe"}, "expected a bool"),
        ({"sede": "1"}, r"unknown launch argument\(s\) \['sede'\]"),
    ],
)
def test_wiring_rejects_bad_arguments(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(WiringError, match=message):
        node_specs("simulator", arguments)


def test_wiring_rejects_unknown_stacks_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(WiringError, match="no stack 'walk'"):
        node_specs("walk")
    bad = tmp_path / "stack.yaml"
    bad.write_text(
        textwrap.dedent(
            """
            arguments:
              seed: {default: "0", type: int, description: "Seed."}
            nodes:
              a: {package: p, executable: e, namespace: "", log_level: "", overrides: {x: $(sede)}}
            stacks:
              s: [a]
            """
        )
    )
    with pytest.raises(WiringError, match=r"nodes\.a\.overrides\.x refers to \$\(sede\)"):
        load_stack_file(bad)
    bad.write_text(bad.read_text().replace("$(sede)", "[1, 2]"))
    with pytest.raises(WiringError, match="overrides are scalars"):
        load_stack_file(bad)
    bad.write_text(bad.read_text().replace('description: "Seed."', 'description: ""'))
    with pytest.raises(WiringError, match=r"arguments\.seed\.description must be a non-empty"):
        load_stack_file(bad)
