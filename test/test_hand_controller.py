"""The hand controller as a ROS 2 node, end to end: real processes, real DDS, real MuJoCo.

The simulator (lockstep, waiting for the controller's commands; fixed base and no-slip friction
as in bench/grasp_trials.py), the right hand's tactile driver (``sim`` backend: the simulator's
skin through the driver's calibration, contact and slip processing) and the right hand's
controller run as separate processes. A Grasp goal picks the cube up from the bench table
(pose from the simulator's ground truth, given in the ``world`` frame, which the controller
resolves through the odometry topic), feedback runs through the phases, the cube is lifted, and
a release goal puts it down. Invalid goals are answered with a reason; stopping the tactile
driver during a reach makes the controller stop and end the goal with "stale tactile".
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import threading
import time

import pytest
from action_msgs.msg import GoalStatus
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.action import ActionClient

from harness.processes import NodeGroup, executable_exists, node_command
from harness.ros import TestNode, reliable_qos
from harness.wiring import node_specs
from humanoid_interfaces.action import Grasp
from humanoid_interfaces.msg import DetectionArray

STARTUP_S = 120.0
GRASP_S = 240.0  # wall time for a whole grasp in lockstep on a loaded 2-core machine


def hand_graph_specs(side: str, sim_arguments: dict):
    """The simulator (stack ``simulator`` with ``sim_arguments``), and the ``side`` hand's
    tactile driver on the simulated skin and its grasp controller, as the wiring gives them;
    skips the test if any of them is not built."""
    sim = node_specs("simulator", sim_arguments)[0]
    tactile = next(
        s for s in node_specs("tactile", {"tactile_backend": "sim"}) if s.namespace.endswith(side)
    )
    hand = next(s for s in node_specs("hand", {}) if s.namespace.endswith(side))
    for spec in (sim, tactile, hand):
        if not executable_exists(spec):
            pytest.skip(f"{spec.package} is not built (colcon build)")
    tactile = dataclasses.replace(
        tactile, overrides={**tactile.overrides, "backend_options": "{sim: {}}"}
    )
    return sim, tactile, hand


def specs():
    sim, tactile, hand = hand_graph_specs("right_hand", {"sim_mode": "lockstep"})
    sim = dataclasses.replace(
        sim,
        overrides={
            **sim.overrides,
            "scene": "config/scenes/grasp_bench.yaml",
            "fixed_base": True,
            "noslip_iterations": 3,
            "camera_rate_hz": 0.0,
            # 250 Hz halves the messages per simulated second (the controller runs at any rate).
            "control_rate_hz": 250.0,
            "tactile_rate_hz": 250.0,
            "ground_truth_rate_hz": 50.0,
            "lockstep_sources": ["right_hand"],
            "lockstep_timeout_s": 5.0,
            "seed": 1,
        },
    )
    hand = dataclasses.replace(
        hand,
        overrides={
            **hand.overrides,
            "odometry_topic": "/sim/base",
            "diagnostics_rate_hz": 5.0,
            # The bench table covers the stand posture's hands: a release going home would
            # press the hand onto it (the chain's table stands clear of them).
            "home_after_release": False,
        },
    )
    return sim, tactile, hand


class GraspClient:
    """A Grasp action client with bounded waits (feedback kept)."""

    def __init__(self, node: TestNode, name: str = "/right_hand/grasp"):
        self.node = node
        self.client = ActionClient(node.node, Grasp, name)
        self.feedback: list = []
        self.on_feedback = None
        self.last_result = None

    def wait_for_server(self, timeout: float) -> None:
        assert self.client.wait_for_server(timeout_sec=timeout), "no Grasp action server"

    def send_async(self, goal: Grasp.Goal) -> threading.Event:
        """Send a goal; the event is set when it ends (see :attr:`last_result`)."""
        done = threading.Event()
        self.last_result, self._handle = None, None

        def on_feedback(message) -> None:
            self.feedback.append(message.feedback)
            if self.on_feedback is not None:
                self.on_feedback(message.feedback)

        def on_goal(future) -> None:
            self._handle = future.result()
            if not self._handle.accepted:
                done.set()
                return
            self._handle.get_result_async().add_done_callback(on_result)

        def on_result(future) -> None:
            self.last_result = future.result()
            done.set()

        self.client.send_goal_async(goal, feedback_callback=on_feedback).add_done_callback(on_goal)
        return done

    def cancel(self) -> None:
        self._handle.cancel_goal_async()

    def send(self, goal: Grasp.Goal, timeout: float):
        """Send a goal and wait; return (accepted, result or None, goal handle)."""
        done = self.send_async(goal)
        assert done.wait(timeout), "goal did not finish in time"
        return self._handle.accepted, self.last_result, self._handle


def grasp_goal(**fields) -> Grasp.Goal:
    goal = Grasp.Goal()
    goal.hand = "right"
    goal.grasp_type = "pinch"
    goal.target_force_n = 10.0
    goal.max_force_n = 20.0
    goal.lift_height_m = 0.1
    goal.object_pose.header.frame_id = "world"
    goal.object_size.x = goal.object_size.y = goal.object_size.z = 0.05
    for name, value in fields.items():
        setattr(goal, name, value)
    return goal


def hand_diagnostics(node: TestNode) -> dict[str, str]:
    """The values of the right hand controller's next /diagnostics status."""
    diagnostics = node.wait_for_message(
        "/diagnostics",
        DiagnosticArray,
        30.0,
        reliable_qos(20),
        predicate=lambda m: m.status and m.status[0].name.endswith("grasp controller right_hand"),
    )
    return {kv.key: kv.value for kv in diagnostics.status[0].values}


def cube_pose(node: TestNode):
    objects = node.wait_for_message("/sim/objects", DetectionArray, 30.0, reliable_qos(10))
    return next(d for d in objects.detections if d.id == "cube")


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    logs = tmp_path_factory.mktemp("hand_logs")
    group = NodeGroup(list(specs()), logs)
    group.start()
    with TestNode("hand_controller_test") as node:
        client = GraspClient(node)
        try:
            client.wait_for_server(STARTUP_S)
            node.wait_for_message("/sim/objects", DetectionArray, STARTUP_S, reliable_qos(10))
            # The controller runs (it answers the lockstep) and has seen the odometry.
            node.wait_for_message(
                "/diagnostics",
                DiagnosticArray,
                STARTUP_S,
                reliable_qos(20),
                predicate=lambda m: (
                    m.status
                    and m.status[0].name.endswith("grasp controller right_hand")
                    and int(dict((kv.key, kv.value) for kv in m.status[0].values)["steps"]) > 50
                ),
            )
        except (AssertionError, TimeoutError):
            group.assert_running()
            raise
        yield group, node, client
    group.stop_and_check()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"grasp_type": "claw"}, "unknown grasp type 'claw'"),
        ({"target_force_n": 0.0}, "target_force_n"),
        ({"target_force_n": -3.0}, "target_force_n"),
        ({"target_force_n": 25.0}, "target_force_n"),
        ({"max_force_n": 500.0}, "max_force_n"),
        ({"hand": "left"}, "hand 'left'"),
    ],
)
def test_bad_goals_are_answered_with_a_reason(graph, fields, named) -> None:
    _, node, client = graph
    accepted, result, _ = client.send(grasp_goal(**fields), 30.0)
    assert accepted
    assert not result.result.success
    assert result.result.reason.startswith("rejected") and named in result.result.reason


def test_nan_pose_and_unknown_frame_are_rejected(graph) -> None:
    _, node, client = graph
    goal = grasp_goal()
    goal.object_pose.pose.position.x = math.nan
    _, result, _ = client.send(goal, 30.0)
    assert not result.result.success and "non-finite" in result.result.reason
    goal = grasp_goal()
    goal.object_pose.header.frame_id = "kitchen"
    goal.object_pose.pose.orientation.w = 1.0
    _, result, _ = client.send(goal, 30.0)
    assert not result.result.success and "'kitchen' is unknown" in result.result.reason
    assert int(hand_diagnostics(node)["rejected_goals"]) >= 2


def test_grasp_lift_release_then_stale_tactile(graph) -> None:
    group, node, client = graph
    cube = cube_pose(node)
    start_z = cube.pose.position.z
    # No grasp type, the object's class instead: the hand picks its grasp for cubes (a pinch).
    goal = grasp_goal(grasp_type="", object_class="cube")
    goal.object_pose.pose = cube.pose
    client.feedback.clear()
    accepted, result, _ = client.send(goal, GRASP_S)
    assert accepted
    assert result.result.success, result.result.reason
    assert result.result.achieved_force_n > 0.5 * goal.target_force_n
    phases = []
    for feedback in client.feedback:
        if not phases or phases[-1] != feedback.phase:
            phases.append(feedback.phase)
    assert phases[:3] == ["PRESHAPE", "REACH", "CLOSE"] and "LIFT" in phases, phases
    assert all(f.target_force_n <= goal.max_force_n for f in client.feedback)
    assert hand_diagnostics(node)["last_grasp"] == "pinch"
    lifted = cube_pose(node).pose.position.z
    assert lifted > start_z + 0.06, (start_z, lifted)

    accepted, result, _ = client.send(grasp_goal(release=True), GRASP_S)
    assert accepted and result.result.success, result.result.reason
    assert cube_pose(node).pose.position.z < lifted - 0.03

    # Cancel a grasp during its reach: it stops there and the goal ends canceled.
    goal.object_pose.pose = cube_pose(node).pose
    reaching = threading.Event()
    client.on_feedback = lambda f: reaching.set() if f.phase == "REACH" else None
    finished = client.send_async(goal)
    assert wait_for_reach(reaching, finished, client), "no REACH feedback"
    client.cancel()
    assert finished.wait(GRASP_S), "the canceled goal did not end"
    assert client.last_result.status == GoalStatus.STATUS_CANCELED
    assert "canceled in phase REACH" in client.last_result.result.reason

    # Grasp again and take the tactile driver away during the reach: the controller stops,
    # holds where it is and ends the goal with the reason (and keeps answering the simulator).
    goal.object_pose.pose = cube_pose(node).pose
    reaching = threading.Event()
    client.on_feedback = lambda f: reaching.set() if f.phase == "REACH" else None
    finished = client.send_async(goal)
    assert wait_for_reach(reaching, finished, client), "no REACH feedback"
    group["tactile_driver"].stop()
    assert finished.wait(GRASP_S), "the goal did not end"
    result = client.last_result
    assert not result.result.success and "stale tactile" in result.result.reason
    assert group["hand_controller"].is_running() and group["humanoid_sim"].is_running()


def wait_for_reach(reaching: threading.Event, finished: threading.Event, client) -> bool:
    """Until the goal reports REACH; a goal that ended first fails with its result."""
    deadline = time.monotonic() + GRASP_S
    while not reaching.wait(0.05):
        assert not finished.is_set(), f"the goal ended before REACH: {client.last_result}"
        if time.monotonic() > deadline:
            return False
    return True


@pytest.mark.parametrize(
    ("override", "named"),
    [("hand:=pinky_hand", "pinky_hand"), ("weber_fraction:=-1.0", "weber_fraction")],
)
def test_bad_parameters_refuse_to_start(override: str, named: str) -> None:
    hand = next(s for s in node_specs("hand", {}) if s.namespace.endswith("right_hand"))
    if not executable_exists(hand):
        pytest.skip("dexterous_hand_ctrl is not built (colcon build)")
    result = subprocess.run(
        [*node_command(hand), "-p", override], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "refusing to start" in result.stderr
