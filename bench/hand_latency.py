#!/usr/bin/env python3
"""Latency of the hand controller node: tactile frame in -> joint command out, at 500 Hz.

This process plays the robot: every 2 ms it publishes a /joint_states and then the right hand's
tactile/contacts (ContactArray, 6 pads) stamped alike, and receives the controller's
/joint_command for that stamp. A kinematic stand-in (named as such; not physics) closes the
loop: joints go where commanded, fingers stop at a virtual object and their pads read the force
the finger PD would push with. A pinch goal then runs the controller through every phase
(reach with arm IK, close, squeeze, lift, hold with force regulation), so the latency is
measured with the controller doing its real work, per phase. Printed, as a table and a final
JSON line:
  - contacts published -> command received here (two DDS hops + the controller), median and
    p99, per phase;
  - the same round trip through a bare rclpy echo process (ContactArray in, a JointCommand of the
    same size out, no work) measured in the same run, and the difference;
  - the controller's own in-node latency (contacts callback -> command published) from its
    /diagnostics;
  - the control rate achieved (commands received per second) and the share of frames answered;
  - the load average (machines are shared).

Usage: bench/hand_latency.py [--seconds-bare 5] [--rate-hz 500]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys
import threading
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test"))

from harness.domain import configure_environment  # noqa: E402

ECHO = """
import rclpy
from humanoid_interfaces.msg import ContactArray, JointCommand
from rclpy.qos import QoSProfile, ReliabilityPolicy
rclpy.init()
node = rclpy.create_node('bare_echo')
qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
pub = node.create_publisher(JointCommand, '/bench/echo_command', qos)
command = JointCommand(source='echo', name=['j%d' % i for i in range(14)], position=[0.0] * 14,
                       effort=[0.0] * 14, kp=[1.0] * 14, kd=[0.1] * 14)
def on_contacts(msg):
    command.header.stamp = msg.header.stamp
    pub.publish(command)
node.create_subscription(ContactArray, '/bench/echo_contacts', on_contacts, qos)
try:
    rclpy.spin(node)
except (KeyboardInterrupt, Exception):
    pass
rclpy.try_shutdown()
"""


def percentile_ms(values, q) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q)) if len(values) else float("nan")


class Robot:
    """The kinematic stand-in: joint positions follow commands; fingers stop at an object."""

    def __init__(self, hand, names, stand):
        from dexterous_hand_ctrl.core.hand_model import HandModel

        self.hand = hand
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.q = np.array([stand.get(n, 0.0) for n in self.names])
        self.model = HandModel(hand.model_dict(), hand.urdf_path)
        self.walls = {}
        self.forces = {f.name: 0.0 for f in hand.fingers}

    def place_object(self, preshape, closing, distance=0.35):
        for finger in self.hand.fingers:
            direction = np.asarray(closing.get(finger.name, finger.close_direction), float)
            idx = [self.index[j] for j in finger.joints]
            unit = direction / np.linalg.norm(direction)
            start = np.array([preshape.get(j, 0.0) for j in finger.joints])
            self.walls[finger.name] = (idx, unit, float(unit @ start) + distance)

    def apply(self, msg):
        names = msg.name
        position = np.asarray(msg.position)
        kp = np.asarray(msg.kp)
        for i, name in enumerate(names):
            self.q[self.index[name]] = position[i]
        for finger, (idx, unit, wall) in self.walls.items():
            s = float(unit @ self.q[idx])
            if s > wall:
                gains = [kp[list(names).index(self.names[j])] for j in idx]
                self.forces[finger] = float(np.mean(gains)) * (s - wall) / 0.05
                self.q[idx] -= (s - wall) * unit
            else:
                self.forces[finger] = 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate-hz", type=float, default=500.0)
    parser.add_argument("--seconds-bare", type=float, default=5.0)
    parser.add_argument("--seconds-idle", type=float, default=3.0)
    parser.add_argument("--hold-s", type=float, default=3.0)
    args = parser.parse_args()
    configure_environment()
    import rclpy
    import yaml
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.action import ActionClient
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState

    from dexterous_hand_ctrl.core.hand_description import load_hand_description
    from harness.processes import NodeGroup
    from harness.spec import NodeSpec
    from harness.wiring import node_specs
    from humanoid_interfaces.action import Grasp
    from humanoid_interfaces.msg import Contact, ContactArray, JointCommand

    robot_yaml = ROOT / "config" / "robots" / "g1_dex3.yaml"
    data = yaml.safe_load(robot_yaml.read_text())
    hand = load_hand_description(robot_yaml, "right_hand")
    names = [j for group in data["joint_groups"].values() for j in group]
    robot = Robot(hand, names, data["stand_posture"])
    pads = data["tactile"]["right_hand"]["pads"]
    pad_finger = hand.pad_to_finger()
    logs = pathlib.Path(os.environ.get("ROS_HOME", "/tmp")) / "hand_latency_logs"
    logs.mkdir(parents=True, exist_ok=True)
    spec = next(s for s in node_specs("hand", {"use_sim_time": "false"}) if "right" in s.namespace)
    spec = dataclasses.replace(spec, overrides={**spec.overrides, "diagnostics_rate_hz": 2.0})
    echo_script = logs / "bare_echo.py"
    echo_script.write_text(ECHO)
    echo = NodeSpec(name="bare_echo", executable=str(echo_script))

    rclpy.init()
    node = rclpy.create_node("hand_latency_bench")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    pub_joints = node.create_publisher(JointState, "/joint_states", qos)
    pub_contacts = node.create_publisher(ContactArray, "/right_hand/tactile/contacts", qos)
    pub_echo = node.create_publisher(ContactArray, "/bench/echo_contacts", qos)
    sent: dict[int, float] = {}
    received: list[tuple[int, float]] = []
    echo_received: list[tuple[int, float]] = []
    lock = threading.Lock()
    event = threading.Event()
    diagnostics: list[dict] = []

    def on_command(msg):
        now = time.monotonic()
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        with lock:
            received.append((stamp, now))
            robot.apply(msg)
        event.set()

    def on_echo(msg):
        now = time.monotonic()
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        echo_received.append((stamp, now))
        event.set()

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.endswith("grasp controller right_hand"):
                diagnostics.append({kv.key: kv.value for kv in status.values})

    node.create_subscription(JointCommand, "/joint_command", on_command, qos)
    node.create_subscription(JointCommand, "/bench/echo_command", on_echo, qos)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    client = ActionClient(node, Grasp, "/right_hand/grasp")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()

    joint_msg = JointState()
    joint_msg.name = names
    contacts_msg = ContactArray()
    contacts_msg.skin_id = "right_hand"
    contacts_msg.header.frame_id = "right_hand_palm_link"
    for pad in pads:
        contact = Contact()
        contact.pad = pad["name"]
        contact.header.frame_id = pad["link"]
        contact.cop.x, contact.cop.y, contact.cop.z = (float(v) for v in pad["center"])
        contact.normal.x, contact.normal.y, contact.normal.z = (float(v) for v in pad["normal"])
        contacts_msg.contacts.append(contact)
    period = 1.0 / args.rate_hz
    phases: dict[str, list[float]] = {}
    feedback_phase = ["IDLE"]

    def step(publisher, wait: bool) -> None:
        stamp = node.get_clock().now().to_msg()
        key = stamp.sec * 10**9 + stamp.nanosec
        with lock:
            joint_msg.header.stamp = stamp
            joint_msg.position = robot.q.tolist()
            contacts_msg.header.stamp = stamp
            for contact in contacts_msg.contacts:
                finger = pad_finger.get(contact.pad)
                is_tip = contact.pad.endswith("_tip")
                force = robot.forces.get(finger, 0.0) if is_tip else 0.0
                contact.header.stamp = stamp
                contact.force_n = force
                contact.in_contact = force > 0.2
        event.clear()
        if publisher is pub_contacts:
            pub_joints.publish(joint_msg)
        sent[key] = time.monotonic()
        publisher.publish(contacts_msg)
        if wait:
            event.wait(0.05)

    def run(publisher, seconds, until=None) -> None:
        next_t = time.monotonic()
        end = next_t + seconds
        while time.monotonic() < end and not (until and until()):
            step(publisher, False)
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.monotonic()

    def latencies(replies, since_key):
        return [t - sent[k] for k, t in replies if k >= since_key and k in sent]

    with NodeGroup([spec, echo], logs):
        deadline = time.monotonic() + 60
        while (
            pub_contacts.get_subscription_count() < 1 or pub_echo.get_subscription_count() < 1
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.wait_for_server(timeout_sec=60), "no Grasp server"
        run(pub_echo, 0.5)  # warm-up
        mark = node.get_clock().now().nanoseconds
        run(pub_echo, args.seconds_bare)
        bare = latencies(echo_received, mark)
        run(pub_contacts, 1.0)  # the controller initialises on the first joint state
        mark = node.get_clock().now().nanoseconds
        count_before = len(received)
        run(pub_contacts, args.seconds_idle)
        phases["IDLE"] = latencies(received, mark)
        answered = (len(received) - count_before) / max(args.seconds_idle * args.rate_hz, 1)
        rate_idle = (len(received) - count_before) / args.seconds_idle
        # A pinch goal on an object at the bench cube's place (pelvis frame).
        grasp = hand.grasps["pinch"]
        robot.place_object(grasp.preshape, grasp.closing)
        goal = Grasp.Goal()
        goal.hand, goal.grasp_type = "right", "pinch"
        goal.target_force_n, goal.max_force_n, goal.lift_height_m = 8.0, 20.0, 0.05
        goal.object_pose.header.frame_id = "pelvis"
        goal.object_pose.pose.position.x, goal.object_pose.pose.position.y = 0.29, -0.14
        goal.object_pose.pose.position.z = 0.019
        goal.object_pose.pose.orientation.w = 1.0
        goal.object_size.x = goal.object_size.y = goal.object_size.z = 0.05
        result_box = {}

        def on_feedback(message):
            feedback_phase[0] = message.feedback.phase

        def on_goal(future):
            future.result().get_result_async().add_done_callback(
                lambda f: result_box.setdefault("result", f.result().result)
            )

        client.send_goal_async(goal, feedback_callback=on_feedback).add_done_callback(on_goal)
        next_t = time.monotonic()
        end = next_t + 40.0
        hold_end = None
        while time.monotonic() < end:
            phase = feedback_phase[0]
            before = len(received)
            step(pub_contacts, False)
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.monotonic()
            with lock:
                new = received[before:]
            phases.setdefault(phase, []).extend(t - sent[k] for k, t in new if k in sent)
            if "result" in result_box and hold_end is None:
                hold_end = time.monotonic() + args.hold_s
            if hold_end is not None and time.monotonic() > hold_end:
                break
        result = result_box.get("result")
        diag = diagnostics[-1] if diagnostics else {}
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()

    all_phases = [v for p, v in phases.items() if p != "IDLE" for v in v]
    print("hand_latency: contacts published -> command received (this process), ms")
    print(f"{'case':12} {'n':>6} {'median':>8} {'p99':>8}")
    for case, values in [("bare echo", bare), *phases.items()]:
        median, p99 = percentile_ms(values, 50), percentile_ms(values, 99)
        print(f"{case:12} {len(values):6d} {median:8.3f} {p99:8.3f}")
    grasp_median = percentile_ms(all_phases, 50)
    summary = {
        "bench": "hand_latency",
        "rate_hz": args.rate_hz,
        "grasp_succeeded": bool(result and result.success),
        "grasp_reason": result.reason if result else "no result",
        "median_ms_all_phases": round(grasp_median, 3),
        "p99_ms_all_phases": round(percentile_ms(all_phases, 99), 3),
        "bare_rclpy_median_ms": round(percentile_ms(bare, 50), 3),
        "bare_rclpy_p99_ms": round(percentile_ms(bare, 99), 3),
        "controller_minus_bare_median_ms": round(grasp_median - percentile_ms(bare, 50), 3),
        "ratio_to_bare_median": round(grasp_median / percentile_ms(bare, 50), 2),
        "by_phase_median_ms": {p: round(percentile_ms(v, 50), 3) for p, v in phases.items()},
        "by_phase_p99_ms": {p: round(percentile_ms(v, 99), 3) for p, v in phases.items()},
        "in_node_latency_median_ms": diag.get("latency_median_ms"),
        "in_node_latency_p99_ms": diag.get("latency_p99_ms"),
        "control_rate_hz_idle": round(rate_idle, 1),
        "answered_fraction_idle": round(answered, 4),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
