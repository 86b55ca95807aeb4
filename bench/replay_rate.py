#!/usr/bin/env python3
"""Replay speed of humanoid_bag's player on the robot's non-image streams (table + JSON line).

The bag: ``--seconds`` of a synthetic recording with the simulator's fast streams,
``/joint_states`` (43 joints) at 500 Hz, ``/imu/data`` at 500 Hz and both hands'
``tactile/frames`` (humanoid_interfaces/TactileFrame, six Dex3 pads) at 1 kHz each: 3000
messages per second of recording. Goal: replay as fast as possible at >= 20x real time.

Cases (each the real ``play`` console script in its own process, its own DDS domain):
  read            rosbags reading the MCAP file, no ROS: the ceiling
  mcap            play --fast, nobody subscribed
  sqlite3         the same bag as sqlite3
  mcap+sub        play --fast with a subscriber process taking every topic (reliable,
                  EventsExecutor): what a consumer actually receives
  paced x1/x10    play --rate 1 / --rate 10: achieved speed vs asked (pacing accuracy)

x real time = bag time played / wall time from the first to the last message. Ratios to the
read-only case are from the same run; the load average is printed (shared machine).

Usage: bench/replay_rate.py [--seconds 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
STREAMS = (
    "/joint_states",
    "/imu/data",
    "/right_hand/tactile/frames",
    "/left_hand/tactile/frames",
)


def count_subscriber(seconds_idle: float) -> int:
    """Subscriber process: count messages on STREAMS until idle; print the counts as JSON."""
    import rclpy
    from humanoid_common.lifecycle import make_executor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from humanoid_bag.typesupport import message_class

    types = {
        "/joint_states": "sensor_msgs/msg/JointState",
        "/imu/data": "sensor_msgs/msg/Imu",
        "/right_hand/tactile/frames": "humanoid_interfaces/msg/TactileFrame",
        "/left_hand/tactile/frames": "humanoid_interfaces/msg/TactileFrame",
    }
    rclpy.init()
    node = rclpy.create_node("replay_rate_subscriber")
    counts = dict.fromkeys(types, 0)
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    for topic, msgtype in types.items():

        def on_message(_data, topic=topic):
            counts[topic] += 1

        node.create_subscription(message_class(msgtype), topic, on_message, qos, raw=True)
    executor = make_executor()
    executor.add_node(node)
    print("READY", flush=True)
    # Until the first message (the player is starting), then until idle for seconds_idle.
    last_total, last_change, deadline = 0, time.monotonic(), time.monotonic() + 120.0
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        total = sum(counts.values())
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif total and time.monotonic() - last_change > seconds_idle:
            break
    print(json.dumps(counts), flush=True)
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def environment(domain: int) -> dict[str, str]:
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(domain)
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return env


def play(bag: pathlib.Path, arguments: list[str], domain: int) -> dict:
    """Run the player; return its final statistics line."""
    command = [shutil.which("play") or "play", str(bag), *arguments]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=environment(domain)
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} exited {result.returncode}: {result.stderr}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("[play] done "))
    return json.loads(line.removeprefix("[play] done "))


def play_with_subscriber(bag: pathlib.Path, domain: int) -> tuple[dict, dict]:
    subscriber = subprocess.Popen(
        [sys.executable, __file__, "--count-subscriber"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(domain),
    )
    try:
        assert subscriber.stdout.readline().strip() == "READY"
        stats = play(bag, ["--fast", "--topics", *STREAMS, "--wait-for-subscribers"], domain)
        received = json.loads(subscriber.stdout.readline())
    finally:
        subscriber.wait(timeout=60)
    return stats, received


def read_only(bag: pathlib.Path) -> dict:
    from humanoid_bag.storage import BagReader

    with BagReader(bag) as reader:
        start = time.perf_counter()
        count = sum(1 for _ in reader.messages(list(STREAMS), reader.start_ns, reader.end_ns + 1))
        wall = time.perf_counter() - start
        span = (reader.end_ns - reader.start_ns) / 1e9
    return {"messages": count, "wall_s": wall, "messages_per_s": count / wall, "x": span / wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the recording")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    parser.add_argument("--count-subscriber", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_subscriber:
        return count_subscriber(seconds_idle=2.0)

    from humanoid_bag.synthetic import write_stack_recording

    domain = 60 + os.getpid() % 30
    load_before = os.getloadavg()
    work = pathlib.Path(tempfile.mkdtemp(prefix="replay_rate_"))
    try:
        bags = {}
        for storage in ("mcap", "sqlite3"):
            bags[storage] = work / storage
            counts = write_stack_recording(
                bags[storage],
                storage,
                args.seconds,
                latched_config=False,
                reuse_tactile_payloads=True,
            )
        total = sum(counts.values())
        rows = {}

        def median(runs: list[dict], key: str) -> float:
            return statistics.median(r[key] for r in runs)

        reads = [read_only(bags["mcap"]) for _ in range(args.repeat)]
        rows["read"] = (total, median(reads, "messages_per_s"), median(reads, "x"), None)
        for name, bag in (("mcap", bags["mcap"]), ("sqlite3", bags["sqlite3"])):
            runs = [play(bag, ["--fast"], domain) for _ in range(args.repeat)]
            rows[name] = (
                int(median(runs, "messages")),
                median(runs, "messages_per_s"),
                median(runs, "x_real_time"),
                None,
            )
        subscribed = [play_with_subscriber(bags["mcap"], domain) for _ in range(args.repeat)]
        delivered = statistics.median(sum(r.values()) for _, r in subscribed)
        rows["mcap+sub"] = (
            int(median([s for s, _ in subscribed], "messages")),
            median([s for s, _ in subscribed], "messages_per_s"),
            median([s for s, _ in subscribed], "x_real_time"),
            delivered / total,
        )
        for rate, seconds in ((1.0, 3.0), (10.0, args.seconds)):
            window = ["--rate", str(rate), "--duration", str(seconds)]
            paced = play(bags["mcap"], window, domain)
            rows[f"paced x{rate:g}"] = (
                paced["messages"],
                paced["messages_per_s"],
                paced["x_real_time"],
                None,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    ceiling = rows["read"][1]
    per_second = total / args.seconds
    print(f"replay of {args.seconds:g} s of recording: {total} messages ({per_second:.0f}/s)")
    header = ("case", "messages", "msg/s", "x real time", "vs read", "delivered")
    print("{:12s} {:>9s} {:>10s} {:>12s} {:>8s} {:>10s}".format(*header))
    for name, (messages, per_s, x, delivered_fraction) in rows.items():
        delivered_text = f"{delivered_fraction:.1%}" if delivered_fraction is not None else "-"
        print(
            f"{name:12s} {messages:9d} {per_s:10.0f} {x:12.2f} {per_s / ceiling:8.2f} "
            f"{delivered_text:>10s}"
        )
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    summary = {
        "bench": "replay_rate",
        "recording_s": args.seconds,
        "messages": total,
        "cases": {
            name: {
                "messages": messages,
                "messages_per_s": round(per_s, 1),
                "x_real_time": round(x, 2),
                "vs_read": round(per_s / ceiling, 3),
                **({"delivered": round(d, 4)} if d is not None else {}),
            }
            for name, (messages, per_s, x, d) in rows.items()
        },
        "goal_x_real_time": 20.0,
        "goal_met": rows["mcap"][2] >= 20.0,
        "loadavg": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
