#!/usr/bin/env python3
"""Competence of the vision node's shipped detector and 3D localisation on held-out scenes.

Renders randomised table-top scenes (``vision_node.synthetic``, a seed that neither training,
calibration nor the training report used) and frames of the simulator itself (its scene with
other object seeds), runs the pipeline exactly as the node does (onnxruntime on one thread on
the 640x480 frame, then depth localisation) and prints, as a table and a final JSON line:
  - detection recall over required objects (at least 40 % visible, centre in the image) and the
    false-positive rate (false detections over all detections), overall and per class;
  - the 3D position error (estimated vs true object centre) median and p95, per range bin and
    over the target range 0.4-1.2 m;
  - the pipeline and raw onnxruntime times per frame measured in the same run, and the load
    average (machines are shared).
Targets (issue): recall >= 98 %, false positives <= 2 %, 3D error median <= 1 cm and p95 <=
2.5 cm at 0.4-1.2 m. Matching rules: ``vision_node/synthetic/evaluation.py``.

Usage: bench/vision_accuracy.py [--frames 400] [--sim-frames 20] [--seed 5000] [--models DIR]
(``--models``: a folder holding ``scene_objects.onnx`` and ``scene_objects.yaml``, e.g. a candidate
being evaluated; by default the installed ``package://vision_node/models``.)
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROBOT = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE = ROOT / "config" / "scenes" / "table_objects.yaml"
TARGETS = {
    "recall": 0.98,
    "false_positive_rate": 0.02,
    "error_median_m": 0.01,
    "error_p95_m": 0.025,
}


def simulator_frames(count: int, first_seed: int):
    """Frames of the simulator's head camera (robot standing, objects from the scene's seed)."""
    import numpy as np

    from humanoid_sim.core.camera import RgbdCamera
    from humanoid_sim.core.robot_description import load_robot_description
    from humanoid_sim.core.scene import load_scene
    from humanoid_sim.core.simulation import Simulation
    from vision_node.core.projection import CameraIntrinsics
    from vision_node.synthetic.scene_generator import ObjectTruth, RenderedScene
    from vision_node.synthetic.scene_model import CLASS_NAMES

    robot = load_robot_description(ROBOT)
    scene = load_scene(SCENE)
    sim = Simulation(robot, scene, seed=first_seed)
    camera = RgbdCamera(sim.model, sim.built.camera_id, robot.camera)
    spec = robot.camera
    intrinsics = CameraIntrinsics(spec.fx, spec.fy, spec.cx, spec.cy, spec.width, spec.height)
    shapes = {o.name: o for o in scene.objects}
    class_of = {"box": "cube", "cylinder": "cylinder", "sphere": "sphere"}
    try:
        for seed in range(first_seed, first_seed + count):
            sim.reset(seed)
            rgb, depth = camera.render(sim.model, sim.data)
            cam = sim.built.camera_id
            rotation = sim.data.cam_xmat[cam].reshape(3, 3) @ np.diag([1.0, -1.0, -1.0])
            truths = []
            for name, state in sim.object_states().items():
                position = rotation.T @ (state.position - sim.data.cam_xpos[cam])
                u = spec.fx * position[0] / position[2] + spec.cx
                v = spec.fy * position[1] / position[2] + spec.cy
                # The visible box: the object's pixels in a rough square around its centre.
                size = spec.fx * 0.07 / position[2]
                class_name = class_of[shapes[name].shape]
                truths.append(
                    ObjectTruth(
                        CLASS_NAMES.index(class_name),
                        class_name,
                        position,
                        rotation.T,
                        np.asarray(shapes[name].extents),
                        (u, v, size, 1.6 * size),
                        1.0,
                        True,
                    )
                )
            yield RenderedScene(rgb, depth, intrinsics, truths, None, seed)
    finally:
        camera.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--sim-frames", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument("--range", type=float, nargs=2, default=(0.4, 1.2))
    parser.add_argument("--models", default=None, help="model folder (default: the shipped one)")
    args = parser.parse_args()
    import numpy as np

    from vision_node.core.localize import LocalizerParams
    from vision_node.detectors.base import DetectorConfig
    from vision_node.detectors.heatmap_detector import HeatmapDetector
    from vision_node.pipeline import Frame, VisionPipeline
    from vision_node.synthetic.evaluation import evaluate
    from vision_node.synthetic.scene_generator import SceneGenerator
    from vision_node.synthetic.scene_model import CLASS_NAMES

    load_before = os.getloadavg()
    config = DetectorConfig.from_folder(args.models, threads=1)
    detector = HeatmapDetector(config)
    pipeline = VisionPipeline(detector, LocalizerParams())

    def process(frame):
        return pipeline.process(Frame(frame.rgb, frame.depth, frame.intrinsics))

    start = time.perf_counter()
    with SceneGenerator(ROBOT, SCENE, seed=args.seed) as generator:
        rendered = (generator.render(index) for index in range(args.frames))
        randomised = evaluate(rendered, process)
    simulated = evaluate(simulator_frames(args.sim_frames, args.seed), process)
    elapsed = time.perf_counter() - start
    summary = randomised.summary(tuple(args.range))
    sim_summary = simulated.summary(tuple(args.range))

    print(
        f"held-out randomised scenes: {randomised.frames} frames (seed {args.seed}), "
        f"simulator frames: {simulated.frames}; model {detector.model_path}"
    )
    print(
        f"{'subset':<14}{'required':>9}{'found':>7}{'recall':>9}{'err med cm':>12}"
        f"{'err p95 cm':>12}"
    )
    for label, required, found, recall, median, p95 in randomised.table(CLASS_NAMES):
        print(f"{label:<14}{required:>9}{found:>7}{recall:>9.2%}{median:>12.2f}{p95:>12.2f}")
    for label, required, found, recall, median, p95 in simulated.table(CLASS_NAMES, bins=()):
        print(
            f"{'sim ' + label:<14}{required:>9}{found:>7}{recall:>9.2%}{median:>12.2f}{p95:>12.2f}"
        )
    fp_classes = {c: randomised.false_positive_classes.count(c) for c in CLASS_NAMES}
    print(
        f"false positives: {randomised.false_positives} of "
        f"{len(randomised.true_positives) + randomised.false_positives} detections "
        f"({summary['false_positive_rate']:.2%}) by class {fp_classes}; simulator frames: "
        f"{simulated.false_positives}"
    )
    low, high = args.range
    nan = float("nan")
    print(
        f"3D error at {low}-{high} m: median "
        f"{100 * (summary['error_median_m'] or nan):.2f} cm, p95 "
        f"{100 * (summary['error_p95_m'] or nan):.2f} cm over {summary['error_count']} objects"
    )
    print(
        f"pipeline {summary['detect_ms_median']} ms/frame median, raw onnxruntime "
        f"{summary['inference_ms_median']} ms (same run)"
    )
    passed = {
        "recall": summary["recall"] >= TARGETS["recall"],
        "false_positive_rate": summary["false_positive_rate"] <= TARGETS["false_positive_rate"],
        "error_median_m": (summary["error_median_m"] or 1.0) <= TARGETS["error_median_m"],
        "error_p95_m": (summary["error_p95_m"] or 1.0) <= TARGETS["error_p95_m"],
    }
    vectors = [tp.error_vector for tp in randomised.true_positives if tp.error_vector is not None]
    mean_error = np.mean(vectors, axis=0) if vectors else [nan] * 3
    print("targets:", ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in passed.items()))
    result = {
        "bench": "vision_accuracy",
        **summary,
        "sim_frames": sim_summary["frames"],
        "sim_recall": sim_summary["recall"],
        "sim_false_positives": sim_summary["false_positives"],
        "sim_error_median_m": sim_summary["error_median_m"],
        "targets": TARGETS,
        "targets_met": passed,
        "mean_3d_error_vector_m": [round(float(v), 4) for v in mean_error],
        "wall_s": round(elapsed, 1),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
