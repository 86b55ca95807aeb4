#!/usr/bin/env python3
"""Vision node speed: per-frame cost on one core, and a 30 fps camera sustained without backlog.

Part 1, in this process pinned to one core: serialized 640x480 RGB + 32FC1 depth messages (as
they arrive from DDS) go through decode (CDR -> message -> numpy), detect (letterbox, raw
onnxruntime on one thread, decoding), 3D localisation and publish (DetectionArray and target to
a subscriber process, pinned to another core: its receiving is not the node's work;
``--sink-anywhere`` leaves it unpinned, as before 2026-11-22). Reported per stage: median,
p95, p99 [ms], with the raw onnxruntime inference time (both networks' runs) measured in the
same run, ``total_cpu``: the same span's CPU time of this thread (onnxruntime on one thread
runs in it), which a machine shared with other work inflates much less than the wall-clock
time, and ``non_network``: each frame's total less its inference time (decode, the detector's
own work, 3D, publish).

Part 2, two processes: the vision node (started from launch/stack.yaml's ``vision`` entry,
pinned to one core) subscribes to a 30 fps RGB-D stream that this process publishes (pinned to
another core). Reported: frames in and processed, frames the node dropped as stale (its queue
keeps the newest two), output rate, end-to-end latency (publish of the image -> arrival of its
detections, one clock) in the first and last third of the run (equal: no backlog), and the
node's own stage times from /diagnostics.

Both parts print the load average (machines are shared). Target (issue): decode -> detect ->
3D -> publish <= 15 ms per frame on one core; 30 fps sustained without backlog.

``--compare REF`` runs part 1 only, for the vision_node package as it is at git revision REF
(extracted with ``git archive``, imported first by a child process) and for the working tree,
alternating ``--rounds`` runs of each, and prints both codes' stage medians, the per-round
ratios new / ref, the load average and whether the two codes' detections (class, score, box,
3D position, size, variance of every frame) are identical.

Usage: bench/vision_fps.py [--frames 300] [--seconds 20] [--rate-hz 30] [--models DIR]
                           [--compare REF [--rounds 3]]
(``--models``: a folder holding ``scene_objects.onnx`` and ``scene_objects.yaml`` for part 1.)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test"))

from _revision import alternate_runs  # noqa: E402

from harness.domain import configure_environment  # noqa: E402

ROBOT = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE = ROOT / "config" / "scenes" / "table_objects.yaml"
SINK = """
import sys, rclpy, rclpy.executors
from humanoid_interfaces.msg import DetectionArray
from geometry_msgs.msg import PoseStamped
rclpy.init()
node = rclpy.create_node('vision_bench_sink')
node.create_subscription(DetectionArray, '/bench/detections', lambda m: None, 10)
node.create_subscription(PoseStamped, '/bench/target', lambda m: None, 10)
try:
    rclpy.spin(node)
except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
    pass  # stopped by the bench (SIGTERM / SIGINT): a clean exit
"""


def percentiles(values) -> dict[str, float]:
    import numpy as np

    array = 1e3 * np.asarray(values)
    return {
        "median": round(float(np.median(array)), 3),
        "p95": round(float(np.percentile(array, 95)), 3),
        "p99": round(float(np.percentile(array, 99)), 3),
    }


def render_messages(count: int):
    """Serialized colour and depth Image messages of ``count`` different rendered scenes."""
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image

    from vision_node.synthetic.scene_generator import SceneGenerator

    messages = []
    with SceneGenerator(ROBOT, SCENE, seed=6000) as generator:
        for index in range(count):
            frame = generator.render(index)
            pair = []
            for array, encoding in ((frame.rgb, "rgb8"), (frame.depth, "32FC1")):
                msg = Image(height=480, width=640, encoding=encoding, step=array.strides[0])
                msg.header.frame_id = "camera_color_optical_frame"
                msg.data = array.tobytes()
                pair.append(msg)
            messages.append(
                (pair[0], pair[1], serialize_message(pair[0]), serialize_message(pair[1]))
            )
    return messages


def detection_rows(index: int, detections) -> list[list[float]]:
    """One row per detection: frame, class, score, box, 3D position, size, variance (NaN
    where not localised), to compare two codes' outputs."""
    rows = []
    for d in detections:
        position = d.position if d.position is not None else (float("nan"),) * 3
        size = d.size if d.size is not None else (float("nan"),) * 3
        box = (d.box.center_x, d.box.center_y, d.box.width, d.box.height)
        rows.append([index, d.class_id, d.score, *box, *position, *size, d.position_variance])
    return rows


def part_one(
    messages,
    frames: int,
    core: int,
    models: str | None = None,
    outputs: list | None = None,
    sink_core: int | None = None,
) -> dict:
    """Per-stage cost in this process, pinned to ``core``; the detections of the measured
    frames are appended to ``outputs`` (see :func:`detection_rows`) when given. The
    subscriber process is pinned to ``sink_core`` (None: wherever the scheduler puts it)."""
    import rclpy
    from geometry_msgs.msg import PoseStamped
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from humanoid_interfaces.msg import DetectionArray
    from vision_node import ros_conversions as conv
    from vision_node.core.detections import select_target
    from vision_node.core.projection import CameraIntrinsics
    from vision_node.detectors.base import DetectorConfig
    from vision_node.detectors.heatmap_detector import HeatmapDetector
    from vision_node.pipeline import Frame, VisionPipeline

    os.sched_setaffinity(0, {core})
    intrinsics = CameraIntrinsics(606.0, 606.0, 320.0, 240.0, 640, 480)
    # A candidate model folder (part 1 only; part 2 runs the node as configured).
    config = DetectorConfig.from_folder(models, threads=1)
    pipeline = VisionPipeline(HeatmapDetector(config))
    rclpy.init()
    node = rclpy.create_node("vision_bench")
    detections_pub = node.create_publisher(DetectionArray, "/bench/detections", 10)
    target_pub = node.create_publisher(PoseStamped, "/bench/target", 10)
    sink = subprocess.Popen([sys.executable, "-c", SINK], start_new_session=True)
    if sink_core is not None:
        os.sched_setaffinity(sink.pid, {sink_core})
    deadline = time.monotonic() + 30
    while detections_pub.get_subscription_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    stages = {
        k: []
        for k in (
            "decode",
            "detect",
            "inference",
            "localize",
            "publish",
            "total",
            "total_cpu",
            "non_network",
        )
    }
    for index in range(frames + 10):
        _, _, colour_bytes, depth_bytes = messages[index % len(messages)]
        start = time.perf_counter()
        start_cpu = time.thread_time()
        colour = deserialize_message(colour_bytes, Image)
        depth_msg = deserialize_message(depth_bytes, Image)
        rgb = conv.colour_image(colour)
        depth, scale = conv.depth_image(depth_msg)
        decoded = time.perf_counter()
        result = pipeline.process(Frame(rgb, depth, intrinsics, 0, colour.header.frame_id, scale))
        processed = time.perf_counter()
        header = Header(stamp=colour.header.stamp, frame_id=colour.header.frame_id)
        detections_pub.publish(conv.detection_array(result.detections, header))
        target = select_target(result.detections, "")
        if target is not None:
            target_pub.publish(conv.target_pose(target, header))
        published = time.perf_counter()
        published_cpu = time.thread_time()
        if index < 10:  # warm-up
            continue
        if outputs is not None:
            outputs.extend(detection_rows(index, result.detections))
        for stage, value in (
            ("decode", decoded - start),
            ("detect", result.detect_s),
            ("inference", result.inference_s),
            ("localize", result.localize_s),
            ("publish", published - processed),
            ("total", published - start),
            ("total_cpu", published_cpu - start_cpu),
            ("non_network", published - start - result.inference_s),
        ):
            stages[stage].append(value)
    sink.terminate()
    sink.wait(timeout=10)
    node.destroy_node()
    rclpy.try_shutdown()
    return {stage: percentiles(values) for stage, values in stages.items()}


def part_two(messages, seconds: float, rate_hz: float, cores: tuple[int, int]) -> dict:
    """The node under a ``rate_hz`` RGB-D stream."""
    import numpy as np
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import CameraInfo, Image

    from harness.processes import NodeGroup
    from harness.ros import TestNode, reliable_qos
    from harness.wiring import node_specs
    from humanoid_interfaces.msg import DetectionArray

    os.sched_setaffinity(0, {cores[1]})
    spec = node_specs("vision", {"camera_source": "topic", "use_sim_time": "false"})[0]
    spec = dataclasses.replace(spec, overrides={**spec.overrides, "diagnostics_rate_hz": 1.0})
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    diagnostics: list[dict[str, str]] = []
    work = pathlib.Path(tempfile.mkdtemp(prefix="vision_fps_"))
    with TestNode("vision_fps_bench") as bench, NodeGroup([spec], work) as group:
        os.sched_setaffinity(group.processes[0].pid, {cores[0]})
        qos = reliable_qos(2)
        colour_pub = bench.publisher("/camera/color/image_raw", Image, qos, 1, 60.0)
        depth_pub = bench.publisher("/camera/depth/image_raw", Image, qos, 1, 60.0)
        info_pub = bench.publisher("/camera/color/camera_info", CameraInfo, qos)
        bench.node.create_subscription(
            DetectionArray,
            "/vision/detections",
            lambda m: arrived.setdefault(m.header.stamp.nanosec, time.monotonic()),
            reliable_qos(50),
        )
        bench.node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda m: (
                diagnostics.append({kv.key: kv.value for kv in m.status[0].values})
                if m.status and "vision" in m.status[0].name
                else None
            ),
            reliable_qos(10),
        )
        info = CameraInfo(width=640, height=480)
        info.k = [606.0, 0.0, 320.0, 0.0, 606.0, 240.0, 0.0, 0.0, 1.0]
        period = 1.0 / rate_hz
        warm_up = 2.0
        start = time.monotonic()
        next_time = start
        index = 0
        while time.monotonic() - start < seconds + warm_up:
            colour, depth, _, _ = messages[index % len(messages)]
            stamp_ns = index + 1  # unique, in nanoseconds: sec 0
            for msg in (colour, depth, info):
                msg.header.stamp.sec, msg.header.stamp.nanosec = 0, stamp_ns
            info_pub.publish(info)
            colour_pub.publish(colour)
            depth_pub.publish(depth)
            sent[stamp_ns] = time.monotonic()
            index += 1
            next_time += period
            time.sleep(max(0.0, next_time - time.monotonic()))
        time.sleep(1.0)
        group.assert_running()
    measured = [s for s, t in sent.items() if t - start >= warm_up]
    span = sent[measured[-1]] - sent[measured[0]]
    done = [s for s in measured if s in arrived]
    latency = [arrived[s] - sent[s] for s in done]
    third = max(1, len(latency) // 3)
    last = diagnostics[-1] if diagnostics else {}
    return {
        "input_rate_hz": round((len(measured) - 1) / span, 2),
        "frames_sent": len(measured),
        "frames_processed": len(done),
        "processed_fraction": round(len(done) / max(len(measured), 1), 4),
        "output_rate_hz": round(len(done) / span, 2),
        "node_frames_dropped_stale": int(last.get("frames_dropped_stale", -1)),
        "node_queue_high_water": int(last.get("queue_high_water", -1)),
        "latency_ms": percentiles(latency) if latency else None,
        "latency_first_third_ms_median": round(1e3 * float(np.median(latency[:third])), 2),
        "latency_last_third_ms_median": round(1e3 * float(np.median(latency[-third:])), 2),
        "node_stage_ms_median": {
            k.removesuffix("_ms_median"): float(v)
            for k, v in last.items()
            if k.endswith("_ms_median")
        },
        "node_total_ms_p99": float(last.get("total_ms_p99", "nan")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate-hz", type=float, default=30.0)
    parser.add_argument(
        "--models", default=None, help="model folder for part 1 (default: the shipped one)"
    )
    parser.add_argument("--compare", metavar="REF", help="part 1 of vision_node at git REF too")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: runs of each")
    parser.add_argument(
        "--sink-anywhere",
        action="store_true",
        help="part 1: leave the subscriber process unpinned (before 2026-11-22: it could run "
        "on the node's core and its receiving counted in 'publish')",
    )
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # part 1 only, detections to .npy
    args = parser.parse_args()
    if args.compare:
        return compare(args)
    configure_environment()
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    cores = sorted(os.sched_getaffinity(0))
    node_core, bench_core = cores[0], cores[-1]
    # The subscriber (a stand-in for the node's consumers) is not part of the node's work.
    sink_core = None if args.sink_anywhere else bench_core
    load_before = os.getloadavg()
    messages = render_messages(args.scenes)
    if args.dump:
        outputs: list = []
        one = part_one(messages, args.frames, node_core, args.models, outputs, sink_core)
        import numpy as np

        np.save(args.dump, np.array(outputs, dtype=np.float64).reshape(-1, 14))
        loads = [round(v, 2) for v in (*load_before, *os.getloadavg())]
        print(json.dumps({"bench": "vision_fps_part_one", "one_core": one, "loadavg": loads}))
        return 0
    one = part_one(messages, args.frames, node_core, args.models, sink_core=sink_core)
    load_middle = os.getloadavg()
    two = part_two(messages, args.seconds, args.rate_hz, (node_core, bench_core))
    print(
        f"part 1: one core (cpu {node_core}), {args.frames} frames of {args.scenes} scenes, "
        "640x480 RGB + 32FC1 depth"
    )
    print(f"{'stage':<12}{'median ms':>11}{'p95 ms':>9}{'p99 ms':>9}")
    for stage, values in one.items():
        print(f"{stage:<12}{values['median']:>11.2f}{values['p95']:>9.2f}{values['p99']:>9.2f}")
    ratio = one["total"]["median"] / one["inference"]["median"]
    print(
        f"decode -> detect -> 3D -> publish median {one['total']['median']:.2f} ms = "
        f"{ratio:.2f} x raw onnxruntime inference ({one['inference']['median']:.2f} ms); CPU "
        f"time {one['total_cpu']['median']:.2f} ms"
    )
    print(
        f"part 2: {two['input_rate_hz']} fps in for {args.seconds:.0f} s -> "
        f"{two['output_rate_hz']} fps out ({two['processed_fraction']:.1%} of frames, "
        f"{two['node_frames_dropped_stale']} dropped as stale, queue high water "
        f"{two['node_queue_high_water']}); latency median {two['latency_ms']['median']} ms, "
        f"p99 {two['latency_ms']['p99']} ms; first third {two['latency_first_third_ms_median']}"
        f" ms, last third {two['latency_last_third_ms_median']} ms"
    )
    print("node stage medians [ms]:", two["node_stage_ms_median"])
    result = {
        "bench": "vision_fps",
        "one_core": one,
        "total_over_inference": round(ratio, 3),
        "target_total_ms": 15.0,
        "target_met": one["total"]["median"] <= 15.0,
        "stream": two,
        "no_backlog": two["latency_last_third_ms_median"]
        <= 2.0 * two["latency_first_third_ms_median"] + 10.0,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_middle": [round(v, 2) for v in load_middle],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(result))
    return 0


def compare(args) -> int:
    """Part 1 with vision_node at ``args.compare`` and with the working tree, alternated."""
    import numpy as np

    arguments = ["--frames", str(args.frames), "--scenes", str(args.scenes)]
    if args.sink_anywhere:
        arguments.append("--sink-anywhere")
    if args.models:
        arguments += ["--models", args.models]
    results = alternate_runs(args.compare, "vision_node", __file__, arguments, args.rounds)
    stages = list(results["new"][0][0]["one_core"])
    labels = {"ref": f"at {args.compare}", "new": "working tree"}
    print(f"part 1 medians [ms], {args.rounds} alternated runs each ({args.frames} frames)")
    print(f"{'stage':<12}" + "".join(f"{labels[n]:>16}" for n in labels) + "  new / ref by round")
    summary = {}
    for stage in stages:
        values = {n: [s["one_core"][stage]["median"] for s, _ in results[n]] for n in labels}
        ratios = [b / a for a, b in zip(values["ref"], values["new"], strict=True) if a > 0]
        summary[stage] = {
            **{n: float(np.median(v)) for n, v in values.items()},
            "ratios": [round(r, 3) for r in ratios],
        }
        print(
            f"{stage:<12}"
            + "".join(f"{float(np.median(values[n])):>16.3f}" for n in labels)
            + "  "
            + " ".join(f"{r:.2f}" for r in ratios)
        )
    ref_rows, new_rows = results["ref"][0][1], results["new"][0][1]
    same_shape = ref_rows.shape == new_rows.shape
    identical = same_shape and bool(np.array_equal(ref_rows, new_rows, equal_nan=True))
    difference = (
        float(np.nanmax(np.abs(ref_rows - new_rows), initial=0.0)) if same_shape else math.inf
    )
    loads = [s["loadavg"] for n in labels for s, _ in results[n]]
    low = min(min(v) for v in loads)
    high = max(max(v) for v in loads)
    print(
        f"detections: {new_rows.shape[0]} (ref {ref_rows.shape[0]}), "
        f"{'identical' if identical else f'largest difference {difference:.3g}'}; "
        f"load average {low:.2f}-{high:.2f} (1, 5, 15 min, before and after each run)"
    )
    print(
        json.dumps(
            {
                "bench": "vision_fps_compare",
                "ref": args.compare,
                "rounds": args.rounds,
                "stages_ms_median": summary,
                "detections": int(new_rows.shape[0]),
                "identical": identical,
                "max_difference": difference,
                "loadavg_range": [low, high],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
