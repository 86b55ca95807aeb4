#!/usr/bin/env python3
"""Tactile driver throughput, latency and CPU at 1 kHz for both hands, through real ptys.

Two `tactile_emulator` processes (one per hand, 126 taxels each, `press` pattern) write the wire
protocol into pseudo-terminals at `--rate-hz`; two `tactile_driver_node` processes read them with
the serial backend and publish frames, contacts and wire bytes; this process subscribes to both
hands' frames and checks every sequence number arrives. Printed, as a table and a final JSON
line:
  - frames received per hand and dropped frames (sequence gaps seen by the subscriber, plus the
    drivers' own counters);
  - bytes-in -> message-out latency inside the driver (from the arrival of a frame's last byte
    to the end of its publish calls; the drivers report median and p99 on /diagnostics),
    with the ratio to a bare rclpy one-way latency measured in the same run (a publisher
    process stamping CLOCK_MONOTONIC, received here);
  - CPU use of each driver process (from /proc, as % of one core);
  - the load average (machines are shared).

Usage: bench/tactile_rate.py [--seconds 60] [--rate-hz 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test"))

from harness.domain import configure_environment  # noqa: E402

PING = """
import sys, time, rclpy
from std_msgs.msg import Header
rclpy.init()
node = rclpy.create_node('bare_ping')
pub = node.create_publisher(Header, '/bench/ping', 100)
while pub.get_subscription_count() < 1:
    time.sleep(0.01)
time.sleep(0.5)
end = time.monotonic() + float(sys.argv[1])
period = 1.0 / float(sys.argv[2])
next_t = time.monotonic()
while time.monotonic() < end:
    now = time.monotonic_ns()
    msg = Header(frame_id=str(now))
    pub.publish(msg)
    next_t += period
    time.sleep(max(0.0, next_t - time.monotonic()))
rclpy.try_shutdown()
"""


def frame_sequence(raw: bytes) -> int:
    """TactileFrame.sequence read straight from the CDR bytes (header, skin_id, sequence).

    The bench subscribes to serialized frames so that counting them costs microseconds: a
    Python subscriber deserializing 2 kHz of nested messages would itself become the bottleneck
    and report drops that are not the driver's.
    """
    offset = 4 + 8  # encapsulation header, stamp
    for _ in range(2):  # header.frame_id, skin_id: uint32 length (with NUL), characters
        length = int.from_bytes(raw[offset : offset + 4], "little")
        offset = (offset + 4 + length + 3) & ~3
    return int.from_bytes(raw[offset : offset + 4], "little")


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate-hz", type=float, default=1000.0)
    args = parser.parse_args()
    configure_environment()
    import numpy as np
    from diagnostic_msgs.msg import DiagnosticArray
    from std_msgs.msg import Header

    from harness.processes import NodeGroup, find_executable
    from harness.ros import TestNode, reliable_qos
    from harness.spec import NodeSpec
    from harness.wiring import node_specs
    from humanoid_interfaces.msg import TactileFrame

    work = pathlib.Path(tempfile.mkdtemp(prefix="tactile_bench_"))
    emulator_exe = find_executable(
        NodeSpec(name="e", package="tactile_driver", executable="tactile_emulator")
    )
    hands = {"right_hand": 2, "left_hand": 1}
    emulators = {}
    for skin, board in hands.items():
        link = work / f"eskin_{skin}"
        emulators[skin] = subprocess.Popen(
            [
                str(emulator_exe),
                "--link",
                str(link),
                "--skin",
                skin,
                "--board-id",
                str(board),
                "--robot",
                str(ROOT / "config/robots/g1_dex3.yaml"),
                "--pattern",
                "press",
                "--rate-hz",
                str(args.rate_hz),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert emulators[skin].stdout.readline().startswith("READY")
    specs = []
    for spec in node_specs("tactile", {"tactile_backend": "serial", "use_sim_time": "false"}):
        skin = "right_hand" if spec.namespace.endswith("right_hand") else "left_hand"
        options = f"{{serial: {{port: {work / f'eskin_{skin}'}}}}}"
        overrides = {**spec.overrides, "backend_options": options, "diagnostics_rate_hz": 1.0}
        specs.append(dataclasses.replace(spec, overrides=overrides))
    received = {skin: [] for skin in hands}
    diagnostics = {}
    ping_latency = []
    load_before = os.getloadavg()
    with TestNode("tactile_bench") as monitor, NodeGroup(specs, work) as group:
        for skin in hands:
            monitor.node.create_subscription(
                TactileFrame,
                f"/{skin}/tactile/frames",
                lambda m, s=skin: received[s].append(frame_sequence(m)),
                reliable_qos(1000),
                raw=True,
            )
        monitor.node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda m: diagnostics.__setitem__(m.status[0].name, m),
            reliable_qos(10),
        )
        monitor.node.create_subscription(
            Header,
            "/bench/ping",
            lambda m: ping_latency.append(time.monotonic_ns() - int(m.frame_id)),
            reliable_qos(100),
        )
        deadline = time.monotonic() + 60
        while not all(len(v) > 100 for v in received.values()):
            group.assert_running()
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"drivers published too little: {[len(v) for v in received.values()]}"
                )
            time.sleep(0.1)
        for v in received.values():
            v.clear()
        pids = {p.spec.namespace.strip("/"): p.pid for p in group.processes}
        cpu_start = {skin: cpu_seconds(pid) for skin, pid in pids.items()}
        wall_start = time.monotonic()
        ping = subprocess.Popen([sys.executable, "-c", PING, str(min(10.0, args.seconds)), "1000"])
        while time.monotonic() - wall_start < args.seconds:
            time.sleep(0.5)
            group.assert_running()
        wall = time.monotonic() - wall_start
        cpu = {
            skin: 100.0 * (cpu_seconds(pid) - cpu_start[skin]) / wall for skin, pid in pids.items()
        }
        ping.wait(timeout=30)
        final_diagnostics = dict(diagnostics)
    for process in emulators.values():
        process.send_signal(2)
        process.communicate(timeout=10)
    load_after = os.getloadavg()
    rows = {}
    for skin in hands:
        sequence = np.array(received[skin], dtype=np.int64)
        gaps = int(np.sum(np.maximum(np.diff(sequence) - 1, 0))) if sequence.size > 1 else 0
        status = next(m for name, m in final_diagnostics.items() if skin in name).status[0]
        values = {kv.key: kv.value for kv in status.values}
        rows[skin] = {
            "frames": int(sequence.size),
            "rate_hz": round(sequence.size / wall, 1),
            "dropped_subscriber": gaps,
            "dropped_driver": int(
                float(values.get("backend_dropped_frames", 0))
                + float(values.get("backend_dropped_queue", 0))
            ),
            "crc_errors": int(float(values.get("backend_crc_errors", 0))),
            "latency_median_ms": float(values.get("latency_median_ms", "nan")),
            "latency_p99_ms": float(values.get("latency_p99_ms", "nan")),
            "cpu_percent": round(cpu[skin], 1),
        }
    bare = np.array(ping_latency[100:], dtype=np.float64) * 1e-6
    bare_median = float(np.median(bare)) if bare.size else float("nan")
    print(
        f"\ntactile_driver at {args.rate_hz:.0f} Hz per hand for {wall:.0f} s "
        f"(load average {load_before[0]:.2f} -> {load_after[0]:.2f}, {os.cpu_count()} cores)"
    )
    print(
        f"{'hand':<11}{'frames':>8}{'Hz':>8}{'dropped':>9}{'lat med ms':>12}{'lat p99 ms':>12}"
        f"{'x bare':>8}{'CPU %':>7}"
    )
    for skin, row in rows.items():
        dropped = row["dropped_subscriber"] + row["dropped_driver"]
        print(
            f"{skin:<11}{row['frames']:>8}{row['rate_hz']:>8.1f}{dropped:>9}"
            f"{row['latency_median_ms']:>12.3f}{row['latency_p99_ms']:>12.3f}"
            f"{row['latency_median_ms'] / bare_median:>8.2f}{row['cpu_percent']:>7.1f}"
        )
    print(
        f"bare rclpy one-way latency (1 kHz Header, 2 processes): median {bare_median:.3f} ms, "
        f"p99 {float(np.percentile(bare, 99)) if bare.size else float('nan'):.3f} ms"
    )
    summary = {
        "bench": "tactile_rate",
        "seconds": round(wall, 1),
        "rate_hz": args.rate_hz,
        "hands": rows,
        "bare_rclpy_one_way_median_ms": round(bare_median, 4),
        "goals_met": {
            "zero_dropped": all(
                r["dropped_subscriber"] + r["dropped_driver"] == 0 for r in rows.values()
            ),
            "latency_median_le_1ms": all(r["latency_median_ms"] <= 1.0 for r in rows.values()),
            "cpu_le_25_percent": all(r["cpu_percent"] <= 25.0 for r in rows.values()),
        },
        "loadavg": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
