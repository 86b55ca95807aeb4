"""Every stack of ``launch/stack.yaml`` starts, its nodes join the graph, and all exit 0 on SIGINT.

Skipped for a stack whose executables are not built yet (``colcon build`` installs them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.processes import NodeGroup, executable_exists
from harness.ros import TestNode
from harness.wiring import load_stack_file

# Starting a node may compile a MuJoCo model or load an ONNX network.
STARTUP_TIMEOUT_S = 60.0


@pytest.mark.parametrize("stack", sorted(load_stack_file().stacks))
def test_stack_starts_and_stops_cleanly(
    stack: str, test_node: TestNode, node_logs: Path, tmp_path: Path
) -> None:
    arguments = {}
    if stack == "replay":
        # A short recording of the robot's streams to play (humanoid_bag's synthetic writer).
        from humanoid_bag.synthetic import write_stack_recording

        write_stack_recording(tmp_path / "session", seconds=1.0)
        arguments = {"bag": str(tmp_path / "session"), "record_to": str(tmp_path / "outputs")}
    specs = load_stack_file().node_specs(stack, arguments)
    missing = [f"{s.package}/{s.executable}" for s in specs if not executable_exists(s)]
    if missing:
        pytest.skip(f"stack '{stack}': not built yet: {', '.join(missing)}")
    with NodeGroup(specs, node_logs) as group:
        for spec in specs:
            try:
                parameters = test_node.wait_for_node_ready(
                    spec.name, spec.absolute_namespace, STARTUP_TIMEOUT_S
                )
            except TimeoutError as error:
                group.assert_running()  # a crash explains the timeout better
                raise TimeoutError(f"{error}\n{group[spec.name].describe_exit()}") from None
            if "use_sim_time" in spec.overrides:
                assert parameters["use_sim_time"] == spec.overrides["use_sim_time"], spec.name
        group.assert_running()
    # Leaving the block sent SIGINT to every node and checked each exited 0.
