"""An idle hand that nothing waits for re-sends its held posture at its idle step rate.

The left hand's controller (config/hand_controller_left.yaml: ``idle_command_every_state``
false) against the real simulator (paced, 100 Hz states, no lockstep) and the left hand's
tactile driver on the simulated skin, each a process. While idle it must keep commanding its
posture (a keepalive), but only when its idle controller steps (``idle_step_period_s``
0.05 s: one state in five), not with every state as a lockstep source must.
"""

from __future__ import annotations

import dataclasses
import time

from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState
from test_hand_controller import hand_graph_specs

from harness.processes import NodeGroup
from harness.ros import TestNode, reliable_qos
from humanoid_interfaces.msg import JointCommand

STARTUP_S = 120.0
WINDOW_S = 4.0


def specs():
    sim, tactile, hand = hand_graph_specs("left_hand", {})
    sim = dataclasses.replace(
        sim,
        overrides={
            **sim.overrides,
            "mode": "paced",
            "camera_rate_hz": 0.0,
            "control_rate_hz": 100.0,
            "tactile_rate_hz": 100.0,
            "ground_truth_rate_hz": 10.0,
        },
    )
    hand = dataclasses.replace(hand, overrides={**hand.overrides, "diagnostics_rate_hz": 5.0})
    return sim, tactile, hand


def test_an_idle_left_hand_commands_at_its_idle_step_rate(node_logs) -> None:
    sim, tactile, hand = specs()
    assert hand.overrides.get("idle_command_every_state") is None  # from the left hand's YAML
    with TestNode("hand_idle_test") as node, NodeGroup([sim, tactile, hand], node_logs) as group:
        node.wait_for_message(
            "/diagnostics",
            DiagnosticArray,
            STARTUP_S,
            reliable_qos(20),
            predicate=lambda m: (
                m.status
                and m.status[0].name.endswith("grasp controller left_hand")
                and int(dict((kv.key, kv.value) for kv in m.status[0].values)["steps"]) > 20
            ),
        )
        states = node.collect("/joint_states", JointState, reliable_qos(200))
        commands = node.collect("/joint_command", JointCommand, reliable_qos(200))
        time.sleep(WINDOW_S)
        group.assert_running()
        received = states.messages
        left = [c for c in commands.messages if c.source == "left_hand"]
    assert len(received) >= 100, f"only {len(received)} joint states in {WINDOW_S} s"
    first = min(s.header.stamp.sec + s.header.stamp.nanosec * 1e-9 for s in received)
    last = max(s.header.stamp.sec + s.header.stamp.nanosec * 1e-9 for s in received)
    stamps = [c.header.stamp.sec + c.header.stamp.nanosec * 1e-9 for c in left]
    in_window = [t for t in stamps if first <= t <= last]
    ratio = len(in_window) / len(received)
    # One command per idle step (every 5th state); with every state it would be ~1.
    assert 0.1 <= ratio <= 0.35, f"{len(in_window)} commands for {len(received)} states"
    assert len(set(stamps)) == len(stamps), "a held command was sent twice for one state"
