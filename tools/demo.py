#!/usr/bin/env python3
"""`make demo`: the simulated G1 fetches an object from the table, headless.

Two scenarios, each starting a stack of launch/stack.yaml (the same nodes, parameters and
remappings as `ros2 launch launch/<stack>.launch.py`) as real processes on a private DDS domain:

- `fetch` (the default once the `sim` stack contains the brain): the `sim` stack, the whole
  chain (simulator in lockstep with the leg and hand controllers, as the stack configures it);
  records the run with `humanoid_bag record`, has the gait stand up, calls /brain/start, prints
  a live line (the brain's phase, sim time, real-time factor), stops at success, failure or
  --timeout, prints a summary (success, time, steps, grasp force, CPU per node) and writes the
  report folder: PNG figures of CoM/ZMP/DCM and footsteps, grasp forces, detections and
  odometry (tools/demo_report.py) and summary.json. The run itself is tools/fetch_run.py,
  shared with bench/scenario.py.
- `stand` (the foundation's demo): the simulator alone (stack `simulator`, or `sim` where there
  is none), paced; the robot stands; live topic rates, pelvis height, the head camera's last
  frames, a summary.

Exit status 0 when the scenario succeeded and every node exited cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test"))
sys.path.insert(0, str(ROOT / "tools"))

from harness.domain import configure_environment  # noqa: E402

# Rates measured here, at the receiving end. The 500 Hz IMU, wrench and tactile streams are
# published in the same loop iteration as /joint_states; their publish rates come from the
# simulator's /diagnostics, so that this monitor does not take a core from the 2-core machine's
# simulator by deserialising 2500 messages a second in Python.
TOPICS = {
    # label: (topic, module, type name, sensor QoS)
    "joint_states": ("/joint_states", "sensor_msgs.msg", "JointState", False),
    "color": ("/camera/color/image_raw", "sensor_msgs.msg", "Image", True),
    "depth": ("/camera/depth/image_raw", "sensor_msgs.msg", "Image", True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--scenario",
        choices=("fetch", "stand"),
        help="default: fetch if the sim stack of launch/stack.yaml starts the brain, else stand",
    )
    parser.add_argument("--seed", type=int, default=0, help="simulator seed (object poses)")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="fetch: limit of the task [s of sim time]"
    )
    parser.add_argument(
        "--wall-timeout", type=float, help="fetch: limit of the task [s of wall time]"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="stand: wall seconds")
    parser.add_argument("--report-dir", default=str(ROOT / "reports" / "demo"))
    parser.add_argument(
        "--stacks", default="sim", help="fetch: comma-separated stacks of launch/stack.yaml"
    )
    parser.add_argument(
        "--arg", action="append", default=[], metavar="NAME:=VALUE", help="fetch: launch argument"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NODE.PARAM:=VALUE",
        help="fetch: override a node's parameter (diagnosis)",
    )
    parser.add_argument(
        "--record-joint-states",
        action="store_true",
        help="fetch: record /joint_states too (measured footsteps, waist angles; costs CPU)",
    )
    args = parser.parse_args()
    import fetch_run

    try:
        args.arguments = fetch_run.parse_launch_arguments(args.arg)
        args.overrides = fetch_run.parse_parameter_overrides(args.set)
    except ValueError as error:
        parser.error(str(error))
    args.stacks = tuple(s for s in args.stacks.split(",") if s)

    if args.scenario is None:
        has_brain = any(fetch_run.stack_has_brain(stack) for stack in args.stacks)
        args.scenario = "fetch" if has_brain else "stand"
        if args.scenario == "stand":
            print(
                "[demo] the `sim` stack of launch/stack.yaml has no brain node yet: running the "
                "stand scenario (--scenario fetch tries the fetch task anyway)"
            )
    fetch_run.interrupt_on_sigterm()
    environment = configure_environment()
    # Camera images use Fast DDS's large-data transport in the nodes; match it here.
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    if args.scenario == "stand":
        return run_stand(args, environment)
    return run_fetch(args, environment)


def run_fetch(args, environment) -> int:
    """The fetch scenario: live line, summary, report folder."""
    import demo_report
    import fetch_run

    report = pathlib.Path(args.report_dir)
    work = report / "run"
    shutil.rmtree(work, ignore_errors=True)  # the previous demo's bag and logs
    for name in demo_report.FIGURES:
        (report / name).unlink(missing_ok=True)
    topics = fetch_run.REPORT_TOPICS + (("/joint_states",) if args.record_joint_states else ())
    options = fetch_run.FetchOptions(
        work_dir=work,
        seed=args.seed,
        timeout_s=args.timeout,
        wall_timeout_s=args.wall_timeout,
        stacks=args.stacks,
        stack_arguments=args.arguments,
        node_overrides=args.overrides,
        record_topics=topics,
    )
    print(
        f"[demo] fetch: ROS_DOMAIN_ID={environment.domain_id}, seed {args.seed}; starting "
        f"stack(s) {', '.join(args.stacks)}; logs and bag in {work}"
    )
    live = sys.stdout.isatty()

    def show(progress) -> None:
        status = progress.status
        distance = status.get("distance_m")
        line = (
            f"[demo] phase {progress.phase:<11} sim {progress.sim_time_s:7.1f} s  "
            f"RTF {progress.real_time_factor:4.2f} | task {progress.task_time_s:5.1f} s, "
            f"gait {status.get('gait_state') or '-'}, grasp {status.get('grasp_phase') or '-'}"
            + (f", distance {distance:.2f} m" if isinstance(distance, int | float) else "")
        )
        print(("\r" + line.ljust(110)) if live else line, end="" if live else "\n", flush=True)

    last_print = [0.0]

    def throttled(progress) -> None:
        if live or time.monotonic() - last_print[0] >= 1.0:
            last_print[0] = time.monotonic()
            show(progress)

    result = fetch_run.run_fetch(options, throttled)
    if live:
        print()
    clean = all(code == 0 for code in result.node_exit_codes.values())
    print("\n[demo] summary")
    print(f"  success: {'yes' if result.success else 'NO'} ({result.final_state}: {result.reason})")
    print(
        f"  task time {result.task_time_s:.1f} s sim in {result.wall_time_s:.1f} s wall, "
        f"real-time factor {result.real_time_factor:.2f}, load average {result.load_average}"
    )
    steps = "unknown" if result.steps is None else result.steps
    peak, hold = result.peak_grasp_force_n, result.hold_grasp_force_n
    force = "unknown" if peak is None else f"peak {peak:.2f} N"
    if hold is not None:
        force += f", mean while holding {hold:.2f} N"
    print(f"  steps {steps}; grasp force (right hand pads, total normal) {force}")
    phases = " -> ".join(f"{state} @{t:.1f}s" for state, t in result.phases)
    print(f"  phases (sim time since the recording started): {phases or 'none'}")
    cpu = ", ".join(f"{name} {share:.2f}" for name, share in result.cpu_per_sim_second.items())
    total = sum(result.cpu_per_sim_second.values())
    print(f"  CPU seconds per sim second (cores for real time): {cpu or 'not measured'}")
    print(f"  total {total:.2f} cores for real time on this machine ({os.cpu_count()} cores)")
    if result.lockstep_ms:
        stages = ", ".join(
            f"{key[len('period_') : -len('_ms')]} {value:.1f}"
            for key, value in result.lockstep_ms.items()
            if key.startswith("period_")
        )
        answers = ", ".join(
            f"{key[len('answer_ms.') :]} {value:.1f}"
            for key, value in result.lockstep_ms.items()
            if key.startswith("answer_ms.")
        )
        print(f"  lockstep period [ms, medians]: {stages}; answered after: {answers}")
    print(f"  nodes exited with {result.node_exit_codes} ({'clean' if clean else 'NOT clean'})")
    if result.bag is not None:
        summary = demo_report.make_report(result.bag, report, result.row())
        for name, why in summary["skipped"].items():
            print(f"  report: skipped {name}: {why}")
        print(f"  report: {report}/summary.json, {', '.join(summary['figures']) or 'no figures'}")
    else:
        (report / "summary.json").write_text(json.dumps({"run": result.row()}, indent=2))
        print(f"  report: {report}/summary.json (no recording)")
    keys = ("success", "reason", "task_time_s", "steps", "peak_grasp_force_n", "real_time_factor")
    print(json.dumps({"scenario": "fetch", **{k: getattr(result, k) for k in keys}}))
    return 0 if result.success and clean else 1


def run_stand(args, environment) -> int:
    """The stand scenario: the robot stands for --duration wall seconds."""
    import importlib

    import numpy as np
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry

    from harness.processes import NodeGroup
    from harness.ros import TestNode, reliable_qos
    from harness.wiring import node_specs

    report = pathlib.Path(args.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    from harness.wiring import load_stack_file

    stack = "simulator" if "simulator" in load_stack_file().stacks else "sim"
    specs = node_specs(stack, {"sim_mode": "paced", "seed": str(args.seed)})
    print(
        f"[demo] ROS_DOMAIN_ID={environment.domain_id}; starting "
        f"{', '.join(s.name for s in specs)} (logs in {report})"
    )
    counts = dict.fromkeys(TOPICS, 0)
    latest: dict = {}
    ok = False
    group = NodeGroup(specs, report)
    group.start()
    try:
        with TestNode("demo_monitor") as monitor:
            node = monitor.node
            for label, (topic, module, type_name, sensor) in TOPICS.items():
                msg_type = getattr(importlib.import_module(module), type_name)

                def on_message(msg, label=label):
                    counts[label] += 1
                    if label == "joint_states":
                        stamp = msg.header.stamp
                        latest["clock"] = stamp.sec + stamp.nanosec * 1e-9
                    else:
                        latest[label] = msg

                node.create_subscription(
                    msg_type, topic, on_message, reliable_qos(2) if sensor else reliable_qos(10)
                )
            node.create_subscription(
                Odometry, "/sim/base", lambda m: latest.__setitem__("base", m), reliable_qos(10)
            )
            node.create_subscription(
                DiagnosticArray,
                "/diagnostics",
                lambda m: latest.__setitem__("diag", m),
                reliable_qos(10),
            )
            deadline = time.monotonic() + 90.0
            while "clock" not in latest or "base" not in latest:
                group.assert_running()
                if time.monotonic() > deadline:
                    raise TimeoutError("the simulator published no /clock within 90 s")
                time.sleep(0.1)
            start_position = latest["base"].pose.pose.position
            start_xy = np.array([start_position.x, start_position.y])
            wall0, sim0 = time.monotonic(), latest["clock"]
            previous = (wall0, sim0, dict(counts))
            rtf_history, min_height = [], np.inf
            live = sys.stdout.isatty()
            while time.monotonic() - wall0 < args.duration:
                time.sleep(1.0)
                group.assert_running()
                now, sim_now = time.monotonic(), latest["clock"]
                elapsed = now - previous[0]
                rates = {k: (counts[k] - previous[2][k]) / elapsed for k in counts}
                rtf = (sim_now - previous[1]) / elapsed
                rtf_history.append(rtf)
                previous = (now, sim_now, dict(counts))
                height = latest["base"].pose.pose.position.z
                min_height = min(min_height, height)
                published = sim_rates(latest)
                line = (
                    f"[demo] phase STAND  sim {sim_now:6.1f} s  RTF {rtf:4.2f}  pelvis "
                    f"{height:.3f} m | received: joint_states {rates['joint_states']:4.0f} Hz, "
                    f"rgb {rates['color']:4.1f}, depth {rates['depth']:4.1f} | published: "
                    f"imu+wrenches {published.get('state', 0):4.0f} Hz, tactile "
                    f"{published.get('tactile', 0):4.0f}, camera {published.get('camera', 0):4.1f}"
                )
                print(("\r" + line) if live else line, end="" if live else "\n", flush=True)
            if live:
                print()
            end = latest["base"].pose.pose.position
            drift = float(np.linalg.norm(np.array([end.x, end.y]) - start_xy))
            sim_span = latest["clock"] - sim0
            wall_span = time.monotonic() - wall0
            images = save_images(latest, report)
            diag = latest.get("diag")
            values = {kv.key: kv.value for kv in diag.status[0].values} if diag else {}
            standing = bool(min_height > 0.6 and drift < 0.02)
            summary = {
                "scenario": "stand",
                "success": standing,
                "sim_time_s": round(sim_span, 2),
                "wall_time_s": round(wall_span, 2),
                "real_time_factor": round(sim_span / wall_span, 3),
                "pelvis_drift_m": round(drift, 4),
                "pelvis_min_height_m": round(float(min_height), 3),
                "mean_received_rates_hz": {k: round(v / wall_span, 1) for k, v in counts.items()},
                "published_rates_hz": sim_rates(latest),
                "commands_rejected": int(values.get("commands_rejected", 0)),
                "diagnostics": diag.status[0].message if diag else "none received",
                "images": images,
            }
            ok = standing
    finally:
        codes = group.stop()
    clean = all(code == 0 for code in codes.values())
    summary["node_exit_codes"] = codes
    (report / "summary.json").write_text(json.dumps(summary, indent=2))
    print("\n[demo] summary")
    print(
        f"  robot stood {summary['sim_time_s']:.1f} s of sim time: "
        f"{'yes' if summary['success'] else 'NO'} (pelvis drift "
        f"{summary['pelvis_drift_m'] * 100:.2f} cm, lowest pelvis height "
        f"{summary['pelvis_min_height_m']:.3f} m)"
    )
    print(
        f"  real-time factor {summary['real_time_factor']:.2f} "
        f"(paced: 1.0 means the simulator kept up with the wall clock)"
    )
    rates = ", ".join(f"{k} {v:.1f} Hz" for k, v in summary["mean_received_rates_hz"].items())
    print(f"  mean received rates: {rates}")
    rates = ", ".join(f"{k} {v:.1f} Hz" for k, v in summary["published_rates_hz"].items())
    print(f"  published (last second, simulator's /diagnostics): {rates}")
    print(
        f"  diagnostics: {summary['diagnostics']}; commands rejected {summary['commands_rejected']}"
    )
    print(f"  nodes exited with {codes} ({'clean' if clean else 'NOT clean'})")
    print(f"  report: {report}/summary.json, {', '.join(summary['images'])}")
    print(
        json.dumps(
            {
                k: summary[k]
                for k in ("scenario", "success", "sim_time_s", "real_time_factor", "pelvis_drift_m")
            }
        )
    )
    return 0 if ok and clean else 1


def sim_rates(latest: dict) -> dict[str, float]:
    """Publish rates the simulator reports on /diagnostics (stream -> Hz)."""
    diag = latest.get("diag")
    if diag is None:
        return {}
    values = {kv.key: kv.value for kv in diag.status[0].values}
    return {k[: -len("_rate_hz")]: float(v) for k, v in values.items() if k.endswith("_rate_hz")}


def save_images(latest: dict, report: pathlib.Path) -> list[str]:
    """Write the last colour and depth frames as PNG; return the file names."""
    import cv2
    import numpy as np

    names = []
    if "color" in latest:
        msg = latest["color"]
        rgb = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
        cv2.imwrite(str(report / "camera_color.png"), rgb[:, :, ::-1])
        names.append("camera_color.png")
    if "depth" in latest:
        msg = latest["depth"]
        depth = np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width)
        scaled = np.nan_to_num(np.clip(depth / 2.0, 0.0, 1.0)) * 255
        cv2.imwrite(
            str(report / "camera_depth.png"),
            cv2.applyColorMap(scaled.astype(np.uint8), cv2.COLORMAP_VIRIDIS),
        )
        names.append("camera_depth.png")
    return names


if __name__ == "__main__":
    sys.exit(main())
