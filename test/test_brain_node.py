"""The brain node as a real process, deciding over real DDS against test-side stand-in peers.

The real gait, hand and vision nodes are built concurrently elsewhere, so this test offers
their interfaces itself, through clearly named STAND-INS (mocks of those nodes, not of the
brain): a kinematic walking base that integrates /cmd_vel into /odom and serves /gait/walk and
/gait/stop, a vision stand-in publishing /vision/target, and a Grasp action server whose grasps
succeed or fail as each test scripts. One brain process serves every scenario: success (target
seen through the head camera's optical frame), grasp failure then retry, abort while walking,
and a target lost while walking.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import threading
import time

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from harness.processes import NodeProcess, executable_exists, find_executable, node_command
from harness.ros import TestNode, latched_qos
from harness.wiring import REPOSITORY_ROOT, node_specs
from humanoid_brain.core import geometry
from humanoid_brain.core.camera_chain import CameraChain
from humanoid_interfaces.action import Grasp
from humanoid_interfaces.msg import GaitStatus

OBJECT_ODOM = np.array([0.75, -0.25, 0.72])
PELVIS_HEIGHT_M = 0.75
OVERRIDES = {
    "use_sim_time": False,
    "approach.max_forward_mps": 0.6,
    "approach.max_accel": 2.0,
    "hold_s": 0.5,
    "wait_target_timeout_s": 3.0,
    "settle_timeout_s": 6.0,
    "grasp_timeout_s": 10.0,
    "recover_timeout_s": 6.0,
    # 10 Hz targets; a loaded machine (CI's 2 cores) can stall the stand-in or the brain.
    "target.lost_timeout_s": 2.0,
    "standoff.max_x_m": 100.0,
    "contacts_topic": "",
}


class StandInPeers:
    """STAND-INS for biped_gait, vision_node and dexterous_hand_ctrl (test doubles).

    Gait stand-in: a kinematic base. While "walking" (after /gait/walk) it integrates the last
    /cmd_vel at 50 Hz into /odom (odom -> pelvis); /gait/stop stops it. Vision stand-in:
    /vision/target at 10 Hz while ``target_visible``, in ``target_frame``. Hand stand-in: a
    Grasp action server on /right_hand/grasp; each grasp goal takes the next scripted outcome.
    """

    def __init__(self) -> None:
        self.context = Context()
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("brain_test_stand_ins", context=self.context)
        self.camera = CameraChain.from_robot_description(
            REPOSITORY_ROOT / "config" / "robots" / "g1_dex3.yaml"
        )
        self.lock = threading.Lock()
        self.executing = 0  # grasp goals being executed
        self.reset()
        node, group = self.node, ReentrantCallbackGroup()
        self.pub_odom = node.create_publisher(Odometry, "/odom", 10)
        self.pub_status = node.create_publisher(GaitStatus, "/gait/status", 10)
        self.pub_target = node.create_publisher(PoseStamped, "/vision/target", 10)
        self.pub_joints = node.create_publisher(JointState, "/joint_states", 10)
        node.create_subscription(Twist, "/cmd_vel", self._on_cmd_vel, 10)
        node.create_service(Trigger, "/gait/walk", lambda q, r: self._on_gait(r, True))
        node.create_service(Trigger, "/gait/stop", lambda q, r: self._on_gait(r, False))
        node.create_service(SetBool, "/vision_node/enable", self._on_vision_enable)
        node.create_timer(0.02, self._step_base)
        node.create_timer(0.1, self._publish_target)
        self.server = ActionServer(
            node,
            Grasp,
            "/right_hand/grasp",
            self._execute,
            callback_group=group,
            cancel_callback=lambda _: CancelResponse.ACCEPT,
        )
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self.executor.add_node(node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def wait_until_connected(self, timeout: float) -> None:
        """Until the brain subscribes to every stand-in stream and the stand-ins to its
        commands: a task started before discovery ends would wait for targets that are lost."""
        deadline = time.monotonic() + timeout
        publishers = (self.pub_odom, self.pub_status, self.pub_target, self.pub_joints)
        while not (
            all(p.get_subscription_count() > 0 for p in publishers)
            and self.node.count_publishers("/cmd_vel") > 0
        ):
            assert time.monotonic() < deadline, "the brain never connected to the stand-ins"
            time.sleep(0.05)

    def show_target_for(self, seconds: float) -> None:
        with self.lock:
            self.visible_until = time.monotonic() + seconds

    def reset(
        self, outcomes=(True,), target_frame="odom", visible_s=math.inf, target_delay_s=0.0
    ) -> None:
        with self.lock:
            # Targets measured target_delay_s before they are sent (rendering and inference
            # take time), stamped with their measurement's instant.
            self.target_delay_s = target_delay_s
            self.poses: list[tuple[float, object, geometry.Pose2D]] = []
            self.pose = geometry.Pose2D(0.0, 0.0, 0.0)
            self.cmd = (0.0, 0.0, 0.0)
            self.walking = False
            self.outcomes = list(outcomes)
            self.goals: list[tuple[str, object]] = []
            self.events: list[str] = []  # gait calls, goals and cmd_vel changes, in order
            self.target_frame = target_frame
            self.visible_until = time.monotonic() + visible_s
            self.targets_sent = 0
            self.vision_calls: list[bool] = []  # /vision_node/enable requests

    def _on_vision_enable(self, request, response):
        with self.lock:
            self.vision_calls.append(bool(request.data))
        response.success, response.message = True, "stand-in vision"
        return response

    def wait_for_vision_calls(self, count: int, timeout: float = 10.0) -> list[bool]:
        deadline = time.monotonic() + timeout
        while len(self.vision_calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.vision_calls)

    # --- gait stand-in
    def _on_gait(self, response, walk: bool):
        with self.lock:
            self.walking = walk
            if not walk:
                self.cmd = (0.0, 0.0, 0.0)
            self.events.append("walk" if walk else "stop")
        response.success, response.message = True, "stand-in gait"
        return response

    def _on_cmd_vel(self, msg: Twist) -> None:
        with self.lock:
            self.cmd = (msg.linear.x, msg.linear.y, msg.angular.z)

    def _step_base(self) -> None:
        dt = 0.02
        with self.lock:
            vx, vy, wz = self.cmd if self.walking else (0.0, 0.0, 0.0)
            pose = self.pose
            cos, sin = math.cos(pose.yaw), math.sin(pose.yaw)
            self.pose = geometry.Pose2D(
                pose.x + (cos * vx - sin * vy) * dt,
                pose.y + (sin * vx + cos * vy) * dt,
                pose.yaw + wz * dt,
            )
            pose, walking = self.pose, self.walking
            now = self.node.get_clock().now()
            self.poses = [*self.poses[-200:], (now.nanoseconds * 1e-9, now.to_msg(), pose)]
        odom = Odometry()
        odom.header.stamp = now.to_msg()
        odom.header.frame_id, odom.child_frame_id = "odom", "pelvis"
        odom.pose.pose.position.x, odom.pose.pose.position.y = pose.x, pose.y
        odom.pose.pose.position.z = PELVIS_HEIGHT_M
        odom.pose.pose.orientation.w = math.cos(pose.yaw / 2)
        odom.pose.pose.orientation.z = math.sin(pose.yaw / 2)
        odom.twist.twist.linear.x, odom.twist.twist.linear.y = vx, vy
        odom.twist.twist.angular.z = wz
        self.pub_odom.publish(odom)
        status = GaitStatus()
        status.header.stamp = odom.header.stamp
        status.state = GaitStatus.STATE_WALK if walking else GaitStatus.STATE_STAND
        self.pub_status.publish(status)
        joints = JointState(name=["waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint"])
        joints.position = [0.0, 0.0, 0.0]
        self.pub_joints.publish(joints)

    def pelvis_in_odom(self, pose: geometry.Pose2D | None = None) -> np.ndarray:
        if pose is None:
            with self.lock:
                pose = self.pose
        return geometry.transform(
            (pose.x, pose.y, PELVIS_HEIGHT_M),
            (math.cos(pose.yaw / 2), 0, 0, math.sin(pose.yaw / 2)),
        )

    # --- vision stand-in
    def _publish_target(self) -> None:
        if time.monotonic() > self.visible_until:
            return
        with self.lock:
            if not self.poses:
                return
            # The pose published target_delay_s ago (the newest while there is no such one).
            wanted = self.poses[-1][0] - self.target_delay_s
            _, stamp, pose = min(self.poses, key=lambda entry: abs(entry[0] - wanted))
        msg = PoseStamped()
        msg.header.stamp = stamp
        msg.header.frame_id = self.target_frame
        point = OBJECT_ODOM
        if self.target_frame != "odom":  # the head camera's optical frame
            optical_in_odom = self.pelvis_in_odom(pose) @ self.camera.optical_in_base({})
            point = geometry.apply(geometry.invert(optical_in_odom), OBJECT_ODOM)
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in point)
        msg.pose.orientation.w = 1.0
        self.pub_target.publish(msg)
        self.targets_sent += 1

    # --- hand stand-in
    def _execute(self, goal_handle):
        with self.lock:
            self.executing += 1
        try:
            return self._run_goal(goal_handle)
        finally:
            with self.lock:
                self.executing -= 1

    def _run_goal(self, goal_handle):
        goal = goal_handle.request
        with self.lock:
            kind = "release" if goal.release else "grasp"
            self.goals.append((kind, goal))
            self.events.append(kind)
            outcome = True if goal.release else (self.outcomes.pop(0) if self.outcomes else True)
        phases = ("RELEASE",) if goal.release else ("PRESHAPE", "REACH", "CLOSE", "SQUEEZE")
        if outcome and not goal.release:
            phases += ("HOLD", "LIFT")
        for phase in phases:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return Grasp.Result(success=False, reason="canceled")
            goal_handle.publish_feedback(Grasp.Feedback(phase=phase))
            time.sleep(0.1)
        if outcome:
            goal_handle.succeed()
            return Grasp.Result(success=True, reason="ok", achieved_force_n=6.0)
        goal_handle.abort()
        return Grasp.Result(success=False, reason="no contact on the thumb")

    def close(self) -> None:
        deadline = time.monotonic() + 5.0  # let running goals finish before destroying
        while self.executing and time.monotonic() < deadline:
            time.sleep(0.02)
        self.executor.shutdown(timeout_sec=2.0)
        self.server.destroy()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@dataclasses.dataclass
class Brain:
    process: NodeProcess
    node: TestNode
    peers: StandInPeers
    status: object  # Collector of /brain/status

    task: int = 0

    def start_task(self) -> None:
        response = self.node.call_service(Trigger, "/brain/start", timeout=10.0)
        assert response.success, response.message
        self.task = int(response.message.split()[2])  # "fetch task <n> started"

    def _statuses(self) -> list[dict]:
        """This task's statuses (earlier tasks' may still be arriving)."""
        decoded = (json.loads(m.data) for m in self.status.messages)
        return [s for s in decoded if s["task"] == self.task]

    def wait_for_state(self, *states: str, timeout: float = 30.0) -> dict:
        def wanted(message) -> bool:
            status = json.loads(message.data)
            return status["task"] == self.task and status["state"] in states

        return json.loads(self.status.wait_until(wanted, timeout).data)

    def transitions(self) -> list[str]:
        """This task's state changes with their reasons ("STATE: reason"), for messages."""
        changes = [f"{s['state']}: {s['reason']}" for s in self._statuses()]
        return [c for i, c in enumerate(changes) if i == 0 or c != changes[i - 1]]

    def states_seen(self) -> list[str]:
        states = [s["state"] for s in self._statuses()]
        return [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]


@pytest.fixture(scope="module")
def brain(tmp_path_factory):
    (spec,) = node_specs("brain", {"use_sim_time": "false"})
    if not executable_exists(spec):
        pytest.fail("humanoid_brain is not built: run `bash tools/build.sh`")
    spec = dataclasses.replace(spec, overrides={**spec.overrides, **OVERRIDES})
    peers = StandInPeers()
    logs = tmp_path_factory.mktemp("brain_logs")
    try:
        with TestNode("brain_test") as node, NodeProcess(spec, logs) as process:
            status = node.collect("/brain/status", String, latched_qos(depth=100))
            node.wait_for_node_ready("humanoid_brain", timeout=60.0)
            peers.wait_until_connected(timeout=30.0)
            # ... and the brain hears them (its status carries the stand-in gait's state).
            status.wait_until(lambda m: json.loads(m.data)["gait_state"] is not None, 30.0)
            yield Brain(process, node, peers, status)
            assert process.is_running(), process.output_tail()
            assert process.stop() == 0, process.output_tail()
    finally:
        peers.close()


def test_success_walks_grasps_lifts_holds(brain: Brain):
    brain.peers.reset(outcomes=[True], target_frame="d435_color_optical_frame")
    brain.start_task()
    final = brain.wait_for_state("DONE", "ABORTED")
    assert final["state"] == "DONE", (final, brain.process.output_tail())
    assert brain.states_seen()[-6:] == ["APPROACH", "SETTLE", "GRASP", "LIFT", "HOLD", "DONE"]
    assert final["failures"] == 0 and final["grasp_goals"] == 1
    assert brain.peers.events[:3] == ["walk", "stop", "grasp"]
    # The goal: the object in the pelvis frame, where the stand-off put it (0.30 ahead,
    # 0.15 right), at the right height.
    kind, goal = brain.peers.goals[0]
    assert kind == "grasp" and goal.object_pose.header.frame_id == "pelvis"
    p = goal.object_pose.pose.position
    assert p.x == pytest.approx(0.30, abs=0.07) and p.y == pytest.approx(-0.15, abs=0.07)
    assert p.z == pytest.approx(OBJECT_ODOM[2] - PELVIS_HEIGHT_M, abs=0.01)
    assert goal.hand == "right" and goal.lift_height_m == pytest.approx(0.10)
    # No grasp type: the hand picks its grasp for the target's class (config/humanoid_brain.yaml).
    assert (goal.grasp_type, goal.object_class) == ("", "cube")
    assert np.allclose(final["target_odom"], OBJECT_ODOM, atol=0.01)
    # Vision paused while the hand grasped, lifted and held; resumed at the end.
    assert brain.peers.wait_for_vision_calls(2) == [False, True]


def test_late_targets_are_placed_with_the_pose_of_their_image(brain: Brain):
    """Targets that arrive 0.3 s after their image, while the robot walks: each is placed
    with the odometry of its stamp. With the pose at arrival they would be off by the
    0.3 s of walking (2-7 cm at 0.1-0.25 m/s), in the estimate and in the grasp goal."""
    brain.peers.reset(outcomes=[True], target_frame="d435_color_optical_frame", target_delay_s=0.3)
    brain.start_task()
    final = brain.wait_for_state("DONE", "ABORTED")
    assert final["state"] == "DONE", (final, brain.process.output_tail())
    walking = [s for s in brain._statuses() if s["state"] == "APPROACH" and s["target_odom"]]
    assert len(walking) >= 3
    errors = [np.linalg.norm(np.subtract(s["target_odom"], OBJECT_ODOM)) for s in walking]
    assert max(errors) < 0.012, errors
    _, goal = brain.peers.goals[0]
    p = goal.object_pose.pose.position
    truth = geometry.apply(geometry.invert(brain.peers.pelvis_in_odom()), OBJECT_ODOM)
    assert np.allclose([p.x, p.y, p.z], truth, atol=0.012)
    # (the resume of vision at DONE must not reach the next test's stand-ins)
    assert brain.peers.wait_for_vision_calls(2) == [False, True]


def test_grasp_failure_releases_and_retries(brain: Brain):
    brain.peers.reset(outcomes=[False, True])
    brain.start_task()
    final = brain.wait_for_state("DONE", "ABORTED")
    assert final["state"] == "DONE", final
    kinds = [kind for kind, _ in brain.peers.goals]
    transitions = brain.transitions()
    assert final["failures"] == 1 and "RECOVER" in brain.states_seen(), (transitions, kinds)
    assert kinds == ["grasp", "release", "grasp"], (transitions, kinds)
    assert brain.peers.wait_for_vision_calls(4) == [False, True, False, True]
    # Re-detect and re-approach found the robot at the stand-off: it did not walk again.
    assert brain.peers.events.count("walk") == 1, brain.peers.events


def test_abort_while_walking_stops_and_opens_the_hand(brain: Brain):
    brain.peers.reset(outcomes=[True])
    brain.start_task()
    brain.wait_for_state("APPROACH")
    deadline = time.monotonic() + 10.0
    while not any(abs(v) > 0.05 for v in brain.peers.cmd):
        assert time.monotonic() < deadline, "the brain never commanded a walk"
        time.sleep(0.02)
    response = brain.node.call_service(Trigger, "/brain/abort", timeout=10.0)
    assert response.success, response.message
    final = brain.wait_for_state("ABORTED")
    assert final["reason"] == "abort requested in APPROACH"
    # Stopped (gait stop after the walk, zero velocity) and a release goal went to the hand.
    # The gait's stop (a service) and the release (an action goal) travel on different
    # topics: either may reach the stand-ins first.
    deadline = time.monotonic() + 10.0
    while not {"release", "stop"} <= set(brain.peers.events):
        assert time.monotonic() < deadline, brain.peers.events
        time.sleep(0.02)
    events = brain.peers.events
    assert events.index("stop") > events.index("walk")
    assert brain.peers.cmd == (0.0, 0.0, 0.0) and not brain.peers.walking
    assert brain.node.call_service(Trigger, "/brain/abort", timeout=10.0).success is False


def test_lost_target_stops_then_gives_up_after_the_wait_timeout(brain: Brain):
    brain.peers.reset(outcomes=[True], visible_s=0.0)
    brain.start_task()
    brain.peers.show_target_for(1.0)  # seen long enough to start walking, then gone
    final = brain.wait_for_state("ABORTED", "DONE", timeout=40.0)
    assert final["state"] == "ABORTED" and "WAIT_TARGET timed out" in final["reason"], final
    assert final["failures"] == 1
    seen = brain.states_seen()
    assert seen.index("APPROACH") < len(seen) - 1 - seen[::-1].index("WAIT_TARGET")
    assert "grasp" not in brain.peers.events
    assert brain.peers.cmd == (0.0, 0.0, 0.0)


def test_bad_parameters_refuse_to_start():
    (spec,) = node_specs("brain", {"use_sim_time": "false"})
    spec = dataclasses.replace(spec, overrides={**spec.overrides, "hand": "middle"})
    find_executable(spec)
    result = subprocess.run(node_command(spec), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "refusing to start: parameter 'hand'" in result.stderr


def test_status_is_latched_for_late_subscribers(brain: Brain):
    message = brain.node.wait_for_message("/brain/status", String, 10.0, qos=latched_qos())
    status = json.loads(message.data)
    assert {"state", "active", "failures", "reason", "robot", "standoff"} <= set(status)
    assert status["state"] in ("DONE", "ABORTED")  # the previous scenario's end
