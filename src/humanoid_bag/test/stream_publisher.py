"""A real rclpy process publishing the robot's fast streams, for the recorder's tests.

Publishes ``/joint_states`` (sensor_msgs/JointState, 43 joints) at ``--joint-rate`` Hz,
``/right_hand/tactile/frames`` (humanoid_interfaces/TactileFrame, the right Dex3 skin's six pads)
at ``--tactile-rate`` Hz, and one latched ``/robot/config`` (std_msgs/String, transient-local)
before anything else. Every message carries its index (JointState ``header.frame_id``,
TactileFrame ``sequence``) so a test can check that none was lost or reordered.

It waits until each stream has ``--subscribers`` matched subscriptions, publishes for
``--duration`` seconds on an absolute schedule, waits until the subscribers acknowledged every
message (reliable QoS), prints one JSON line with the counts and exits 0.

    python stream_publisher.py --duration 2 --joint-rate 500 --tactile-rate 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import rclpy
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from humanoid_interfaces.msg import TactileFrame, TactilePad

PADS = [(3, 6), (3, 6), (3, 6), (3, 4), (3, 4), (6, 5)]  # rows, cols of the right Dex3 skin


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--joint-rate", type=float, default=500.0)
    parser.add_argument("--tactile-rate", type=float, default=1000.0)
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--depth", type=int, default=1000)
    args = parser.parse_args()
    rclpy.init()
    node = Node("stream_publisher")
    reliable = QoSProfile(depth=args.depth, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    config = node.create_publisher(String, "/robot/config", latched)
    config.publish(String(data="robot: g1_dex3"))
    joints = node.create_publisher(JointState, "/joint_states", reliable)
    tactile = node.create_publisher(TactileFrame, "/right_hand/tactile/frames", reliable)
    joint_msg = JointState()
    joint_msg.name = [f"joint_{i}" for i in range(43)]
    joint_msg.position = [0.1 * i for i in range(43)]
    joint_msg.velocity = [0.0] * 43
    joint_msg.effort = [0.0] * 43
    frame_msg = TactileFrame()
    frame_msg.skin_id = "right_hand"
    for index, (rows, cols) in enumerate(PADS):
        pad = TactilePad()
        pad.name, pad.rows, pad.cols = f"pad_{index}", rows, cols
        pad.pressure = [1.0] * (rows * cols)
        frame_msg.pads.append(pad)
    deadline = time.monotonic() + 30.0
    while min(joints.get_subscription_count(), tactile.get_subscription_count()) < args.subscribers:
        if time.monotonic() > deadline:
            print("stream_publisher: no subscriber within 30 s", file=sys.stderr)
            return 1
        time.sleep(0.01)
    clock = node.get_clock()
    counts = {"joint_states": 0, "tactile": 0}
    start = time.monotonic()
    next_joint = next_tactile = start
    end = start + args.duration
    while True:
        now = time.monotonic()
        if now >= end:
            break
        stamp = clock.now().to_msg()
        if now >= next_joint:
            joint_msg.header.stamp = stamp
            joint_msg.header.frame_id = str(counts["joint_states"])
            joints.publish(joint_msg)
            counts["joint_states"] += 1
            next_joint += 1.0 / args.joint_rate
        if now >= next_tactile:
            frame_msg.header.stamp = stamp
            frame_msg.sequence = counts["tactile"]
            tactile.publish(frame_msg)
            counts["tactile"] += 1
            next_tactile += 1.0 / args.tactile_rate
        wait = min(next_joint, next_tactile) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    timeout = Duration(seconds=10.0)
    acked = joints.wait_for_all_acked(timeout) and tactile.wait_for_all_acked(timeout)
    counts["elapsed_s"] = round(time.monotonic() - start, 3)
    counts["acked"] = bool(acked)
    print(json.dumps(counts), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
