#!/usr/bin/env python3
"""Train, export, calibrate and evaluate the scene-object detector shipped with vision_node.

    .venv/bin/pip install torch==2.13.0 onnx      # training-time only, not in requirements.lock
    . tools/env.sh && python src/vision_node/training/train_detector.py

Steps (each prints its progress):
1. Render randomised scenes with MuJoCo (``vision_node.synthetic``; seed 1000 for training),
   cached as .npz under ``--cache`` so a second run skips rendering.
2. Train :class:`detector_net.HeatmapNet` with the CenterNet focal loss on the heatmap and L1 on
   log box size and offset, AdamW with a cosine learning rate, on random 256x192 crops.
3. Export ``scene_objects.onnx`` (heatmap layout) and ``scene_objects_yolo.onnx`` (the same
   weights in the YOLOv8 layout for a 320x320 letterboxed input), and check that onnxruntime
   reproduces PyTorch's outputs.
4. Calibrate each class's surface-to-centre offset (``centre_offset`` in the class file) with
   the exported model on other frames (seed 2000): the median, over matched detections, of the
   distance from the visible surface's centre to the true centre along the ray, in object widths.
5. Evaluate the shipped pipeline (onnxruntime + depth localisation) on held-out frames
   (seed 3000) and write ``scene_objects_report.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np
import onnxruntime
import torch
import yaml
from torch.nn import functional

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataset import INPUT_SIZE, Augmenter, load_or_render  # noqa: E402
from detector_net import ExportHeatmap, ExportYolo, HeatmapNet  # noqa: E402

from vision_node.core.localize import LocalizerParams, localize  # noqa: E402
from vision_node.detectors.base import DetectorConfig  # noqa: E402
from vision_node.detectors.heatmap_detector import HeatmapDetector  # noqa: E402
from vision_node.pipeline import Frame, VisionPipeline  # noqa: E402
from vision_node.resources import stack_root  # noqa: E402
from vision_node.synthetic.evaluation import evaluate, match_frame  # noqa: E402
from vision_node.synthetic.scene_generator import SceneGenerator  # noqa: E402
from vision_node.synthetic.scene_model import CLASS_NAMES  # noqa: E402

TRAIN_SEED, CALIBRATION_SEED, MONITOR_SEED, EVALUATION_SEED = 1000, 2000, 2500, 3000
MARKER_SHAPES = {"cube": "cube", "cylinder": "cylinder", "sphere": "sphere"}


def focal_loss(logits, heat, weight):
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), averaged over object centres."""
    probability = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = heat.eq(1.0).float()
    negative_weight = torch.pow(1 - heat, 4) * (1 - positive)
    weight = weight.unsqueeze(1)
    positive_loss = torch.log(probability) * torch.pow(1 - probability, 2) * positive * weight
    negative_loss = torch.log(1 - probability) * torch.pow(probability, 2) * negative_weight
    negative_loss = negative_loss * weight
    count = positive.sum().clamp(min=1.0)
    return -(positive_loss.sum() + negative_loss.sum()) / count


def train(images, depths, labels, args, monitor) -> HeatmapNet:
    """Train, saving a checkpoint (and printing the monitor's figures) every
    ``--checkpoint-every`` iterations; ``--resume`` continues from the last checkpoint."""
    torch.manual_seed(args.seed)
    net = HeatmapNet(len(CLASS_NAMES), args.width)
    if args.init:
        net.load_state_dict(torch.load(args.init))
        print(f"  fine-tuning the weights of {args.init}")
    parameters = sum(p.numel() for p in net.parameters())
    print(f"training HeatmapNet ({parameters} parameters) for {args.iterations} iterations")
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.learning_rate, total_steps=args.iterations, pct_start=0.1
    )
    augmenter = Augmenter(images, depths, labels, seed=args.seed)
    checkpoint = pathlib.Path(args.cache) / "scene_objects_checkpoint.pt" if args.cache else None
    first = 0
    if args.resume and checkpoint is not None and checkpoint.is_file():
        state = torch.load(checkpoint)
        net.load_state_dict(state["net"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        augmenter.rng = np.random.default_rng([args.seed, state["iteration"]])
        first = state["iteration"]
        print(f"  resumed at iteration {first} from {checkpoint}")
    start = time.perf_counter()
    net.train()
    running = []
    for iteration in range(first, args.iterations):
        batch, depth, (heat, weight, size, offset, centre) = augmenter.batch(
            args.batch, len(CLASS_NAMES)
        )
        heat, weight = torch.from_numpy(heat), torch.from_numpy(weight)
        size, offset = torch.from_numpy(size), torch.from_numpy(offset)
        centre = torch.from_numpy(centre).unsqueeze(1)
        logits, log_size, offset_logits = net(torch.from_numpy(batch), torch.from_numpy(depth))
        count = centre.sum().clamp(min=1.0)
        size_loss = (
            functional.l1_loss(log_size, torch.log(size.clamp(min=1.0)), reduction="none") * centre
        ).sum() / count
        offset_loss = (
            functional.l1_loss(torch.sigmoid(offset_logits), offset, reduction="none") * centre
        ).sum() / count
        loss = focal_loss(logits, heat, weight) + 0.5 * size_loss + offset_loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running.append(float(loss))
        if (iteration + 1) % 50 == 0 or iteration + 1 == args.iterations:
            elapsed = time.perf_counter() - start
            print(
                f"  iteration {iteration + 1}/{args.iterations} loss {np.mean(running):.3f} "
                f"({elapsed:.0f} s)",
                flush=True,
            )
            running = []
        done = iteration + 1
        if checkpoint is not None and (
            done % args.checkpoint_every == 0 or done == args.iterations
        ):
            torch.save(
                {
                    "net": net.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(),
                    "iteration": done,
                },
                checkpoint,
            )
            if monitor is not None and done < args.iterations:
                net.eval()
                print(f"  monitor at iteration {done}: {monitor(net)}", flush=True)
                net.train()
    net.eval()
    return net


def export_heatmap(net: HeatmapNet, path: pathlib.Path, sample=None) -> None:
    """Export the heatmap layout (inputs images and depth) to ``path``."""
    width, height = INPUT_SIZE
    sample = sample or (torch.rand(1, 3, height, width), 0.5 + torch.rand(1, 1, height, width))
    torch.onnx.export(
        ExportHeatmap(net).eval(),
        sample,
        str(path),
        input_names=["images", "depth"],
        output_names=["peaks", "size", "offset"],
        opset_version=17,
        dynamo=False,
    )


def export(net: HeatmapNet, out: pathlib.Path) -> dict:
    """Export both ONNX layouts and check them against PyTorch."""
    width, height = INPUT_SIZE
    heatmap_path, yolo_path = out / "scene_objects.onnx", out / "scene_objects_yolo.onnx"
    graph = ExportHeatmap(net).eval()
    sample = torch.rand(1, 3, height, width)
    depth = 0.5 + torch.rand(1, 1, height, width)
    depth[..., :20, :30] = 0.0  # some pixels without depth
    export_heatmap(net, heatmap_path, (sample, depth))
    square = torch.rand(1, 3, width, width)
    torch.onnx.export(
        ExportYolo(net).eval(),
        (square,),
        str(yolo_path),
        input_names=["images"],
        output_names=["output0"],
        opset_version=17,
        dynamo=False,
    )
    with torch.no_grad():
        expected = [t.numpy() for t in graph(sample, depth)]
    session = onnxruntime.InferenceSession(str(heatmap_path), providers=["CPUExecutionProvider"])
    got = session.run(
        ["peaks", "size", "offset"], {"images": sample.numpy(), "depth": depth.numpy()}
    )
    # size and offset must agree; a peak may differ only where two heatmap values tie within
    # rounding (the max-pool equality), which matters only for weak, flat responses.
    difference = max(
        float(np.max(np.abs(a - b))) for a, b in zip(expected[1:], got[1:], strict=True)
    )
    strong = np.maximum(expected[0], got[0]) > 0.3
    strong_mismatch = int(np.sum((np.abs(expected[0] - got[0]) > 1e-3) & strong))
    print(
        f"exported {heatmap_path.name} ({heatmap_path.stat().st_size / 1e3:.0f} kB) and "
        f"{yolo_path.name}; max |onnxruntime - torch| = {difference:.2e} (size, offset), "
        f"{strong_mismatch} strong peaks differ"
    )
    if difference > 1e-3 or strong_mismatch:
        raise SystemExit(f"onnxruntime disagrees with torch: {difference}, {strong_mismatch}")
    return {
        "heatmap_kb": heatmap_path.stat().st_size / 1e3,
        "yolo_kb": yolo_path.stat().st_size / 1e3,
        "onnx_max_difference": difference,
    }


def monitor_figures(net: HeatmapNet, frames) -> str:
    """Recall and false-positive rate of the current weights at three thresholds."""
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        export_heatmap(net, folder / "scene_objects.onnx")
        write_class_file(folder / "scene_objects.yaml", {c: 0.35 for c in CLASS_NAMES})
        figures = []
        for threshold in (0.3, 0.4, 0.5):
            pipeline = pipeline_for(folder, threshold)
            summary = evaluate(frames, lambda f, p=pipeline: run_pipeline(p, f)).summary()
            recall, false_positives = summary["recall"], summary["false_positive_rate"]
            figures.append(f"@{threshold} recall {recall:.3f} fp {false_positives:.3f}")
    return ", ".join(figures)


#: Classes whose surface-to-centre offset depends on their pose: calibrated as a linear model of
#: the box's smaller extent and the depth spread of the object's pixels (class file key
#: ``centre_offset_model``, see ``vision_node.core.localize``).
POSE_DEPENDENT = ("cylinder",)


def write_class_file(
    path: pathlib.Path, offsets: dict[str, float], stage_two=None, models=None
) -> None:
    data = {
        "names": list(CLASS_NAMES),
        "centre_offset": {k: round(float(v), 3) for k, v in offsets.items()},
        **(
            {"centre_offset_model": {k: [round(float(x), 4) for x in v] for k, v in models.items()}}
            if models
            else {}
        ),
        "marker_shape": MARKER_SHAPES,
        "input_size": list(INPUT_SIZE),
        "layout": "heatmap (peaks, size, offset) at stride 4",
        **(stage_two or {}),
    }
    header = (
        "# Classes of the shipped scene-object detector (scene_objects.onnx, its second stage\n"
        "# scene_objects_classifier.onnx, and scene_objects_yolo.onnx). Written by the scripts\n"
        "# in src/vision_node/training/. centre_offset: distance from the visible surface to\n"
        "# the object centre in object widths, calibrated on rendered scenes; marker_shape: RViz\n"
        "# marker per class; classifier: second stage, run on candidates whose heatmap peak\n"
        "# is at least proposal_threshold; centre_offset_model: [a, b, c] for a class whose\n"
        "# offset depends on its pose: offset [m] = a x box's smaller extent + b x depth\n"
        "# spread + c. Decision rules of the two stages (peak_weight, mirror, containment,\n"
        "# score_thresholds, ...; see vision_node.detectors.heatmap_detector.DecisionRules)\n"
        "# are tuned per classifier on a validation seed by training/tune_decision.py.\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False))


def pipeline_for(out: pathlib.Path, threshold: float = 0.5) -> VisionPipeline:
    detector = HeatmapDetector(
        DetectorConfig(
            model=str(out / "scene_objects.onnx"),
            class_names=str(out / "scene_objects.yaml"),
            score_threshold=threshold,
        )
    )
    return VisionPipeline(detector, LocalizerParams())


def run_pipeline(pipeline: VisionPipeline, frame):
    return pipeline.process(Frame(frame.rgb, frame.depth, frame.intrinsics))


def calibrate_offsets(out: pathlib.Path, make_generator, count: int, stage_two=None):
    """Per-class surface-to-centre offsets [object widths] (see the module docstring), with
    the detector the class file describes (one or two stages); written into the class file."""
    write_class_file(out / "scene_objects.yaml", {c: 0.0 for c in CLASS_NAMES}, stage_two)
    pipeline = pipeline_for(out)
    ratios: dict[str, list[float]] = {c: [] for c in CLASS_NAMES}
    samples: dict[str, list[tuple[float, float, float]]] = {c: [] for c in POSE_DEPENDENT}
    with make_generator(CALIBRATION_SEED) as generator:
        for index in range(count):
            frame = generator.render(index)
            result = run_pipeline(pipeline, frame)
            for detection in result.detections:
                if not detection.localised:
                    continue
                single = match_frame([detection], frame.objects)
                if not single.true_positives:
                    continue
                truth = min(
                    (t for t in frame.objects if t.class_name == detection.class_name),
                    key=lambda t: np.linalg.norm(t.position - detection.position),
                )
                ray = detection.position / np.linalg.norm(detection.position)
                along = float(np.dot(truth.position - detection.position, ray))
                ratios[detection.class_name].append(along / detection.size[0])
                if detection.class_name in samples:
                    where = localize(frame.depth, detection.box, frame.intrinsics, 0.0)
                    smaller = min(detection.size[0], detection.size[1])
                    samples[detection.class_name].append((smaller, where.spread, along))
    offsets = {c: float(np.median(r)) if r else 0.35 for c, r in ratios.items()}
    print(
        "centre offsets [object widths]:",
        {c: round(v, 3) for c, v in offsets.items()},
        "from",
        {c: len(r) for c, r in ratios.items()},
        "detections",
    )
    models = {}
    for name, rows in samples.items():
        if len(rows) >= 20:
            table = np.array(rows)
            features = np.column_stack([table[:, 0], table[:, 1], np.ones(len(table))])
            models[name] = np.linalg.lstsq(features, table[:, 2], rcond=None)[0].tolist()
    print("pose-dependent centre offsets [a, b, c]:", models)
    write_class_file(out / "scene_objects.yaml", offsets, stage_two, models)
    return offsets


PROVENANCE = "scene_objects_training.yaml"


def record_stage(out: pathlib.Path, stage: str, text: str) -> dict:
    """Keep a line on how a stage was trained in the models' provenance file."""
    path = out / PROVENANCE
    record = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    record[stage] = text
    path.write_text(
        "# How the shipped scene-object models were trained (written by the training scripts).\n"
        + yaml.safe_dump(record, sort_keys=True, width=100)
    )
    return record


def evaluate_and_report(out, make_generator, frames: int, offsets, stage_two_text=None) -> dict:
    """Evaluate the detector the class file describes on held-out frames; write the report."""
    record = record_stage(out, "stage_two", stage_two_text) if stage_two_text else {}
    if not record and (out / PROVENANCE).is_file():
        record = yaml.safe_load((out / PROVENANCE).read_text()) or {}
    print(f"evaluating on {frames} held-out frames")
    pipeline = pipeline_for(out)
    with make_generator(EVALUATION_SEED) as generator:
        rendered = (generator.render(i) for i in range(frames))
        evaluation = evaluate(rendered, lambda f: run_pipeline(pipeline, f))
    summary = evaluation.summary()
    files = {p.name: p.stat().st_size / 1e3 for p in sorted(out.glob("scene_objects*.onnx"))}
    two_stage = pipeline.detector.classifier is not None
    lines = [
        "# Scene-object detector: evaluation report",
        "",
        f"Written by `src/vision_node/training/` on {datetime.date.today().isoformat()} "
        f"({platform.machine()}, torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}).",
        "",
        "## Model",
        "- `scene_objects.onnx`: inputs 320x240 RGB and aligned depth, centre heatmap + size + "
        "offset at stride 4 (CenterNet-style)"
        + (
            ": the candidates (peaks of any class above the proposal threshold)."
            if two_stage
            else "."
        ),
        *(
            [
                "- `scene_objects_classifier.onnx`: class or background of each candidate from a "
                "32x32 full-resolution crop (colour, relative depth, validity); its probability is "
                "the detection's score."
            ]
            if two_stage
            else []
        ),
        "- `scene_objects_yolo.onnx`: the heatmap in the YOLOv8 layout `[1, 7, 6400]` for a "
        "320x320 letterboxed colour input (no depth; one stage), for the generic `yolo` "
        "detector.",
        "- Sizes: " + ", ".join(f"`{k}` {v:.0f} kB" for k, v in files.items()) + ".",
        f"- Classes {list(CLASS_NAMES)}; centre offsets (object widths) "
        + ", ".join(f"{k} {v:.3f}" for k, v in offsets.items())
        + "".join(
            f"; {k}: offset [m] = {a:.3f} x smaller box extent + {b:.3f} x depth spread + {c:.4f} m"
            for k, (a, b, c) in pipeline.detector.class_file.centre_offset_model.items()
        ),
        "",
        "## Training",
        *[f"- {record[k]}" for k in ("stage_one", "stage_two") if k in record],
        "",
        f"## Held-out evaluation ({evaluation.frames} frames, seed {EVALUATION_SEED})",
        "",
        "Pipeline as the node runs it: onnxruntime (1 thread) on the 640x480 frame and its "
        "depth, then depth localisation. Matching and metrics: "
        "`vision_node/synthetic/evaluation.py` (required: at least half visible, centre in the "
        "image).",
        "",
        f"- Recall {summary['recall']:.2%} ({summary['true_positives']} of "
        f"{summary['required_objects']} required objects), false positives "
        f"{summary['false_positive_rate']:.2%} ({summary['false_positives']}); "
        f"recall at IoU >= 0.5: {summary['iou50_recall']:.2%}.",
        f"- 3D error at 0.4-1.2 m: median {100 * (summary['error_median_m'] or 0):.2f} cm, "
        f"p95 {100 * (summary['error_p95_m'] or 0):.2f} cm ({summary['error_count']} objects).",
        f"- Detection time median {summary['detect_ms_median']} ms per frame, of which "
        f"onnxruntime {summary['inference_ms_median']} ms (load average "
        + " ".join(f"{v:.1f}" for v in os.getloadavg())
        + ").",
        "",
        "| subset | required | found | recall | 3D error median [cm] | p95 [cm] |",
        "|---|---|---|---|---|---|",
    ]
    for label, required, found, recall, median, p95 in evaluation.table(CLASS_NAMES):
        lines.append(
            f"| {label} | {required} | {found} | {recall:.1%} | {median:.2f} | {p95:.2f} |"
        )
    lines += [
        "",
        "False positives by class: "
        + json.dumps({c: evaluation.false_positive_classes.count(c) for c in CLASS_NAMES}),
        "",
        "Figures on a different held-out seed and with timing: `python bench/vision_accuracy.py`.",
        "",
    ]
    text = "\n".join(lines)
    (out / "scene_objects_report.md").write_text(text)
    print(text)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = stack_root()
    parser.add_argument("--robot", default=str(root / "config/robots/g1_dex3.yaml"))
    parser.add_argument("--scene", default=str(root / "config/scenes/table_objects.yaml"))
    parser.add_argument("--out", default=str(HERE.parent / "models"))
    parser.add_argument("--cache", default="/tmp/vision_node_training")
    parser.add_argument("--train-frames", type=int, default=2400)
    parser.add_argument("--calibration-frames", type=int, default=150)
    parser.add_argument("--eval-frames", type=int, default=300)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--checkpoint-every", type=int, default=300)
    parser.add_argument("--monitor-frames", type=int, default=60)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    parser.add_argument(
        "--init", default="", help="start from these weights (.pt state dict): fine-tuning"
    )
    parser.add_argument("--history", default="", help="a line on earlier phases, for the report")
    parser.add_argument(
        "--evaluate-only",
        default="",
        help="skip training: export, calibrate and evaluate these weights (.pt state dict)",
    )
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=4e-3)
    parser.add_argument("--width", type=int, default=16)
    # One thread: on a shared machine two synchronising threads wait for each other (measured:
    # 3-7 s per iteration at load 10 with two, against ~0.3 s on a quiet machine).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = pathlib.Path(args.cache) if args.cache else None

    def make_generator(seed):
        return SceneGenerator(args.robot, args.scene, seed=seed)

    if args.evaluate_only:
        net = HeatmapNet(len(CLASS_NAMES), args.width)
        net.load_state_dict(torch.load(args.evaluate_only))
        net.eval()
        return finish(net, args, out, make_generator, {"render_s": 0.0, "train_s": 0.0})
    start = time.perf_counter()
    print(f"rendering {args.train_frames} training frames")
    images, depths, labels = load_or_render(
        make_generator,
        TRAIN_SEED,
        args.train_frames,
        cache / f"train_{TRAIN_SEED}_{args.train_frames}.npz" if cache else None,
    )
    timings = {"render_s": time.perf_counter() - start}
    monitor = None
    if args.monitor_frames:
        with make_generator(MONITOR_SEED) as generator:
            monitor_frames = [generator.render(i) for i in range(args.monitor_frames)]
        monitor = lambda net: monitor_figures(net, monitor_frames)  # noqa: E731
    start = time.perf_counter()
    net = train(images, depths, labels, args, monitor)
    timings["train_s"] = time.perf_counter() - start
    if cache is not None:  # the weights, for fine-tuning; not shipped
        torch.save(net.state_dict(), cache / "scene_objects.pt")
    return finish(net, args, out, make_generator, timings)


def finish(net, args, out: pathlib.Path, make_generator, timings: dict) -> int:
    """Export, calibrate, evaluate and write the report (stage 1 alone)."""
    export(net, out)
    crop = "x".join(str(v) for v in Augmenter.__init__.__defaults__[0])
    record_stage(
        out,
        "stage_one",
        f"Stage 1 (`train_detector.py`): {sum(p.numel() for p in net.parameters())} parameters, "
        f"{args.train_frames} rendered frames (seed {TRAIN_SEED}), {args.iterations} iterations "
        f"of batch {args.batch} on {crop} crops (colour and depth), AdamW + one-cycle lr "
        f"{args.learning_rate}; rendering {timings['render_s']:.0f} s, training "
        f"{timings['train_s']:.0f} s on {torch.get_num_threads()} CPU thread(s) (load average "
        + " ".join(f"{v:.1f}" for v in os.getloadavg())
        + ")"
        + (f"; {args.history}" if args.history else "")
        + ".",
    )
    offsets = calibrate_offsets(out, make_generator, args.calibration_frames)
    print(json.dumps(evaluate_and_report(out, make_generator, args.eval_frames, offsets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
