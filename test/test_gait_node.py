"""biped_gait as a ROS 2 node against the simulator in lockstep: real rclpy, real DDS, real MuJoCo.

The simulator waits for the gait node's command of every state (lockstep), so the runs are
deterministic and independent of the machine's load. Kept short in simulated time: standing up,
a few steps, a stop. Also: bad parameters, bad /cmd_vel and /joint_states (stale inputs:
test_gait_stale_inputs.py).
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import threading

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger

from harness.processes import NodeGroup, executable_exists, node_command
from harness.ros import TestNode, reliable_qos
from harness.wiring import node_specs
from humanoid_interfaces.msg import GaitStatus, JointCommand

STARTUP_S = 90.0
OPEN_FLOOR = "config/scenes/open_floor.yaml"


def gait_spec(**overrides):
    spec = node_specs("gait", {"use_sim_time": "true"})[0]
    if not executable_exists(spec):
        pytest.skip("biped_gait is not built (colcon build)")
    return dataclasses.replace(spec, overrides={**spec.overrides, **overrides})


def lockstep_sim_spec():
    spec = node_specs("simulator", {"sim_mode": "lockstep"})[0]
    return dataclasses.replace(
        spec,
        overrides={
            **spec.overrides,
            "lockstep_sources": ["biped_gait"],
            "scene": OPEN_FLOOR,
            "camera_rate_hz": 0.0,
            "tactile_rate_hz": 0.0,
            "lockstep_timeout_s": 5.0,
        },
    )


def diagnostics_values(message: DiagnosticArray) -> dict[str, str]:
    return {kv.key: kv.value for kv in message.status[0].values}


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("com_height:=2.0", "com_height"),
        ("robot_description:=/no/such/robot.yaml", "robot_description"),
    ],
)
def test_bad_parameter_refuses_to_start(override: str, named: str) -> None:
    command = [*node_command(gait_spec()), "-p", override]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to start" in result.stderr and named in result.stderr


class CommandStream:
    """Publishes a /cmd_vel at 20 Hz (wall clock) from a thread until stopped."""

    def __init__(self, node: TestNode):
        self.publisher = node.publisher("/cmd_vel", Twist, reliable_qos(10))
        self.twist = Twist()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def set(self, vx: float = 0.0, vy: float = 0.0, wz: float = 0.0) -> None:
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = vx, vy, wz
        self.twist = twist

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.publisher.publish(self.twist)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


@pytest.fixture(scope="module")
def walking_robot(tmp_path_factory):
    """The lockstep simulator and the gait node, shared by the tests of this module."""
    logs = tmp_path_factory.mktemp("gait_logs")
    group = NodeGroup([lockstep_sim_spec(), gait_spec()], logs)
    group.start()
    try:
        with TestNode("gait_node_test") as node:
            status = node.collect("/gait/status", GaitStatus, reliable_qos(100))
            try:
                status.wait_for(1, STARTUP_S)
            except TimeoutError:
                group.assert_running()
                raise
            yield group, node, status
            status.close()
    finally:
        group.stop_and_check()


def call(node: TestNode, name: str) -> Trigger.Response:
    return node.call_service(Trigger, name, timeout=20.0)


def test_stand_walk_stop(walking_robot) -> None:
    group, node, status = walking_robot
    assert status.messages[-1].state == GaitStatus.STATE_IDLE
    refused = call(node, "/gait/walk")
    assert not refused.success and "refused" in refused.message

    assert call(node, "/gait/stand").success
    status.wait_until(lambda m: m.state == GaitStatus.STATE_STAND and m.message == "standing", 60.0)
    odom = node.collect("/odom", Odometry, reliable_qos(50))
    truth = node.collect("/sim/base", Odometry, reliable_qos(50))
    commands = node.collect("/joint_command", JointCommand, reliable_qos(200))
    start_odom = odom.wait_for(1, 20.0)[-1].pose.pose.position
    start_truth = truth.wait_for(1, 20.0)[-1].pose.pose.position

    stream = CommandStream(node)
    try:
        stream.set(vx=0.25)
        assert call(node, "/gait/walk").success
        walking = status.wait_until(lambda m: m.step_count >= 5, 120.0)
        assert walking.state == GaitStatus.STATE_WALK
        assert walking.cmd_vel.linear.x > 0.05
        # A zero command: the feet are squared within two steps, then the robot stands still.
        stream.set()
        stopped_at = status.messages[-1].step_count
        still = status.wait_until(
            lambda m: m.step_count >= stopped_at and m.message.endswith("standing still"), 60.0
        )
        assert still.step_count <= stopped_at + 2
        assert call(node, "/gait/stop").success
        status.wait_until(lambda m: m.state == GaitStatus.STATE_STAND and m.message == "stopped")
    finally:
        stream.stop()
    group.assert_running()

    # Odometry (leg kinematics + IMU) against the simulator's ground truth.
    end_odom = odom.messages[-1].pose.pose.position
    end_truth = truth.messages[-1].pose.pose.position
    walked = end_truth.x - start_truth.x
    assert walked > 0.15, f"walked only {walked:.3f} m"
    assert end_truth.z > 0.6, "the robot fell"
    assert math.isclose(end_odom.x - start_odom.x, walked, abs_tol=0.05)
    # Joint commands: legs and waist, stamped with the state they answer (lockstep).
    sent = commands.wait_for(1)[-1]
    assert sent.source == "biped_gait" and len(sent.name) == 15
    assert all(n.startswith(("left_", "right_", "waist_")) for n in sent.name)
    assert len(sent.position) == len(sent.effort) == len(sent.kp) == 15
    for collector in (odom, truth, commands):
        collector.close()


def test_bad_inputs_are_rejected_and_reported(walking_robot) -> None:
    group, node, _ = walking_robot
    diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(50))
    twist_publisher = node.publisher("/cmd_vel", Twist, wait_for_subscribers=1)
    bad = Twist()
    bad.linear.x = math.nan
    twist_publisher.publish(bad)
    too_fast = Twist()
    too_fast.linear.x, too_fast.angular.z = 3.0, -9.0
    twist_publisher.publish(too_fast)
    joints = node.publisher("/joint_states", JointState, reliable_qos(10))
    missing = JointState(name=["left_knee_joint"], position=[0.3], velocity=[0.0])
    ragged = JointState(name=["left_knee_joint", "right_knee_joint"], position=[0.3], velocity=[])
    for message in (missing, ragged):
        joints.publish(message)

    def ours(message: DiagnosticArray) -> bool:
        if not any(s.name.startswith("biped_gait") for s in message.status):
            return False
        values = diagnostics_values(message)
        return (
            int(values["cmd_vel_rejected"]) >= 1
            and "clamped" in values["last_cmd_vel_issue"]
            and int(values["joint_states_rejected"]) >= 2
        )

    report = diagnostics_values(diagnostics.wait_until(ours, 60.0))
    assert (
        "names but" in report["last_joint_states_rejection"]
        or "missing joints" in (report["last_joint_states_rejection"])
    )
    diagnostics.close()
    group.assert_running()
    # The controller kept running: the simulator still steps.
    clock_before = node.wait_for_message("/gait/status", GaitStatus, 20.0).header.stamp
    later = node.wait_for_message(
        "/gait/status",
        GaitStatus,
        20.0,
        predicate=lambda m: (
            m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
            > clock_before.sec * 10**9 + clock_before.nanosec
        ),
    )
    assert later.state == GaitStatus.STATE_STAND
