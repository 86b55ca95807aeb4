"""Helper of sim_rtf.py: wait for /clock, then report sim seconds per wall second over a span."""

import sys
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock


def main() -> None:
    span = float(sys.argv[1])
    rclpy.init()
    node = rclpy.create_node("sim_rtf_clock_probe")
    latest = {}

    def on_clock(msg):
        latest["t"] = msg.clock.sec + msg.clock.nanosec * 1e-9
        latest["wall"] = time.perf_counter()

    node.create_subscription(
        Clock, "/clock", on_clock, QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    )
    deadline = time.monotonic() + 60.0
    while "t" not in latest or latest["t"] < 1.0:  # skip start-up (discovery, first frames)
        rclpy.spin_once(node, timeout_sec=0.1)
        if time.monotonic() > deadline:
            sys.exit("no /clock within 60 s")
    sim0, wall0 = latest["t"], latest["wall"]
    while latest["t"] - sim0 < span:
        rclpy.spin_once(node, timeout_sec=0.1)
    print((latest["t"] - sim0) / (latest["wall"] - wall0))
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
