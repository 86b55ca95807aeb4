#!/usr/bin/env python3
"""Second stage of the scene-object detector: train the crop classifier, then evaluate both.

    . tools/env.sh && python src/vision_node/training/train_detector.py      # stage 1
    . tools/env.sh && python src/vision_node/training/train_classifier.py    # stage 2 + report

The shipped heatmap (stage 1, ``scene_objects.onnx``) finds objects reliably at a low threshold
but at 320x240 confuses the classes of small ones and fires on distractors. This script:
1. renders other randomised scenes (seeds 1500, 1600), runs stage 1 on them exactly as the node does
   (peaks above the proposal threshold, any class), and labels each candidate with the class of
   the object it lies on, or background; it adds jittered boxes of every visible object;
2. cuts each candidate's full-resolution crop (``vision_node.detectors.crops``: colour,
   relative depth, validity) and trains :class:`detector_net.CropClassifier` on them (cross
   entropy, flips, colour jitter, depth noise and dropout);
3. exports ``scene_objects_classifier.onnx`` (softmax over classes + background), names it in
   ``scene_objects.yaml``, re-calibrates the centre offsets and evaluates the two-stage
   pipeline on held-out scenes (seed 3000), writing ``scene_objects_report.md``.

``--hard-negatives OLD.onnx`` weights background crops that a previous classifier scored < 0.5
(``--hard-weight``; with ``--hard-positives`` also the object crops it gave < 0.5 of their
class); ``--average-with OLD.onnx`` exports the mean of the log-probabilities of
that classifier and the new one (round 3: the round-2 classifier, with ``--crop-seeds 1500 1600
1700 --hard-negatives``; see ``models/scene_objects_training.yaml``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np
import onnxruntime
import torch
import yaml
from torch.nn import functional

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from detector_net import CropClassifier, ExportClassifier  # noqa: E402
from train_detector import (  # noqa: E402
    CLASS_NAMES,
    calibrate_offsets,
    evaluate_and_report,
    write_class_file,
)

from vision_node.core.detections import Box2D  # noqa: E402
from vision_node.detectors.base import DetectorConfig  # noqa: E402
from vision_node.detectors.crops import crop_batch, depth_in_metres  # noqa: E402
from vision_node.detectors.heatmap_detector import HeatmapDetector  # noqa: E402
from vision_node.resources import stack_root  # noqa: E402
from vision_node.synthetic.evaluation import _contains  # noqa: E402
from vision_node.synthetic.scene_generator import SceneGenerator  # noqa: E402

CROP_SEEDS = (1500, 1600)
BACKGROUND = len(CLASS_NAMES)
CROP_SIZE, CONTEXT, PROPOSAL_THRESHOLD = 32, 1.3, 0.1


def label_of(box: Box2D, truths) -> int | None:
    """Class id of the object the candidate lies on, BACKGROUND, or None (too hidden to say)."""
    inside = [
        t
        for t in truths
        if t.visible_box[2] > 0 and _contains(t.visible_box, box.center_x, box.center_y)
    ]
    if not inside:
        return BACKGROUND
    nearest = min(
        inside,
        key=lambda t: np.hypot(t.visible_box[0] - box.center_x, t.visible_box[1] - box.center_y),
    )
    return nearest.class_id if nearest.visible_fraction >= 0.2 else None


def collect_crops(stage_one: HeatmapDetector, generator: SceneGenerator, frames: int, rng):
    """Crops and labels of stage-1 candidates and jittered true boxes of rendered frames."""
    crops, labels = [], []
    start = time.perf_counter()
    for index in range(frames):
        frame = generator.render(index)
        boxes, classes = [], []
        for candidate in stage_one.detect(frame.rgb, frame.intrinsics, frame.depth):
            label = label_of(candidate.box, frame.objects)
            if label is not None:
                boxes.append(candidate.box)
                classes.append(label)
        for truth in frame.objects:
            if truth.visible_fraction < 0.3 or truth.visible_box[2] <= 0:
                continue
            cx, cy, w, h = truth.visible_box
            for _ in range(2):
                boxes.append(
                    Box2D(
                        cx + rng.uniform(-0.15, 0.15) * w,
                        cy + rng.uniform(-0.15, 0.15) * h,
                        w * rng.uniform(0.8, 1.25),
                        h * rng.uniform(0.8, 1.25),
                    )
                )
                classes.append(truth.class_id)
        if boxes:
            depth = depth_in_metres(frame.depth, 1.0)
            crops.append(crop_batch(frame.rgb, depth, boxes, CROP_SIZE, CONTEXT).astype(np.float16))
            labels += classes
        if (index + 1) % 200 == 0:
            rate = (index + 1) / (time.perf_counter() - start)
            print(f"  {index + 1} frames, {len(labels)} crops ({rate:.1f} frames/s)", flush=True)
    return np.concatenate(crops), np.asarray(labels, dtype=np.int64)


def augment(batch: np.ndarray, rng) -> np.ndarray:
    batch = batch.astype(np.float32)
    flip = rng.random(len(batch)) < 0.5
    batch[flip] = batch[flip][..., ::-1]
    gain = rng.uniform(0.75, 1.25, size=(len(batch), 3, 1, 1)).astype(np.float32)
    batch[:, :3] = np.clip(
        batch[:, :3] * gain + rng.uniform(-0.06, 0.06, (len(batch), 1, 1, 1)), 0.0, 1.0
    )
    batch[:, 3] += rng.normal(0.0, 0.05, batch[:, 3].shape).astype(np.float32) * batch[:, 4]
    drop = rng.random(len(batch)) < 0.1  # no depth camera
    batch[drop, 3:] = 0.0
    return batch


def hard_examples(crops, labels, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Crops a previous classifier (flip-averaged) gets wrong: background crops it scores
    < 0.5 background (hard negatives) and object crops it gives < 0.5 of their class (hard
    positives).

    Returns:
        Two boolean masks over the crops: hard negatives, hard positives.
    """
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    own = np.zeros(len(labels), dtype=np.float32)
    for first in range(0, len(labels), 1024):
        batch = crops[first : first + 1024].astype(np.float32)
        flipped = np.ascontiguousarray(batch[..., ::-1])
        scores = session.run(None, {"crops": batch})[0] + session.run(None, {"crops": flipped})[0]
        part = labels[first : first + 1024]
        own[first : first + 1024] = 0.5 * scores[np.arange(len(part)), part]
    background = labels == BACKGROUND
    return background & (own < 0.5), ~background & (own < 0.5)


def teacher_probabilities(crops, model: str) -> np.ndarray:
    """Class + background probabilities of each crop by a previous classifier (one thread)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    parts = [
        session.run(None, {"crops": crops[first : first + 1024].astype(np.float32)})[0]
        for first in range(0, len(crops), 1024)
    ]
    return np.concatenate(parts).astype(np.float32)


def train(crops, labels, args, sample_weight=None, soft=None) -> CropClassifier:
    """Train a crop classifier (cross entropy; with ``soft``, (N, classes + 1) probabilities of
    a teacher, mixed with the cross entropy to the teacher by ``args.distill_weight``)."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    net = CropClassifier(len(CLASS_NAMES) + 1, args.width)
    counts = np.bincount(labels, minlength=len(CLASS_NAMES) + 1)
    weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(counts), dtype=torch.float32)
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.learning_rate, weight_decay=1e-4)
    steps = args.epochs * (len(labels) // args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.learning_rate, total_steps=steps, pct_start=0.1
    )
    per_class = dict(zip([*CLASS_NAMES, "background"], counts.tolist(), strict=True))
    print(
        f"training CropClassifier ({sum(p.numel() for p in net.parameters())} parameters) on "
        f"{len(labels)} crops {per_class} for {args.epochs} epochs"
    )
    net.train()
    step, start = 0, time.perf_counter()
    for epoch in range(args.epochs):
        order = rng.permutation(len(labels))
        losses, correct = [], 0
        for first in range(0, len(order) - args.batch + 1, args.batch):
            index = order[first : first + args.batch]
            batch = torch.from_numpy(augment(crops[index], rng))
            target = torch.from_numpy(labels[index])
            logits = net(batch)
            if sample_weight is None:
                loss = functional.cross_entropy(
                    logits, target, weight=weights, label_smoothing=0.05
                )
            else:  # weighted mean, as cross_entropy's own with class weights
                extra = torch.from_numpy(sample_weight[index])
                loss = (
                    functional.cross_entropy(
                        logits, target, weight=weights, label_smoothing=0.05, reduction="none"
                    )
                    * extra
                ).sum() / (weights[target] * extra).sum()
            if soft is not None:
                teacher = torch.from_numpy(soft[index])
                distill = -(teacher * functional.log_softmax(logits, dim=1)).sum(1).mean()
                loss = (1.0 - args.distill_weight) * loss + args.distill_weight * distill
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            losses.append(float(loss.detach()))
            correct += int((logits.argmax(1) == target).sum())
        print(
            f"  epoch {epoch + 1}/{args.epochs} loss {np.mean(losses):.3f} train accuracy "
            f"{correct / (len(losses) * args.batch):.3f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    net.eval()
    return net


def from_onnx(path: str) -> list[CropClassifier]:
    """The classifier(s) rebuilt from an export (batch norm folded: identity statistics); an
    export of :class:`Average` gives each of its classifiers."""
    import onnx
    from onnx import numpy_helper

    values = {i.name: numpy_helper.to_array(i).copy() for i in onnx.load(path).graph.initializer}
    convs = sorted((k for k in values if k.startswith("onnx::Conv_")), key=lambda k: int(k[11:]))
    heads = sorted(k[: -len("classify.weight")] for k in values if k.endswith("classify.weight"))
    per_net = len(convs) // len(heads)
    nets = []
    for number, head in enumerate(heads):
        mine = convs[number * per_net : (number + 1) * per_net]
        net = CropClassifier(len(CLASS_NAMES) + 1, values[mine[0]].shape[0])
        with torch.no_grad():
            for block, weight, bias in zip(net.features, mine[0::2], mine[1::2], strict=True):
                block[0].weight.copy_(torch.from_numpy(values[weight]))
                block[1].weight.fill_(1.0)
                block[1].bias.copy_(torch.from_numpy(values[bias]))
                block[1].running_mean.zero_()
                block[1].running_var.fill_(1.0 - block[1].eps)
            net.classify.weight.copy_(torch.from_numpy(values[head + "classify.weight"]))
            net.classify.bias.copy_(torch.from_numpy(values[head + "classify.bias"]))
        nets.append(net.eval())
    return nets


class Average(torch.nn.Module):
    """Classifiers averaged: the mean of their log-probabilities (as logits)."""

    def __init__(self, nets):
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return torch.stack([functional.log_softmax(n(crops), dim=1) for n in self.nets]).mean(0)


def export(net: CropClassifier, path: pathlib.Path) -> float:
    sample = torch.rand(3, 5, CROP_SIZE, CROP_SIZE)
    torch.onnx.export(
        ExportClassifier(net).eval(),
        (sample,),
        str(path),
        input_names=["crops"],
        output_names=["probabilities"],
        dynamic_axes={"crops": {0: "candidates"}, "probabilities": {0: "candidates"}},
        opset_version=17,
        dynamo=False,
    )
    with torch.no_grad():
        expected = ExportClassifier(net)(sample).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    difference = float(np.max(np.abs(session.run(None, {"crops": sample.numpy()})[0] - expected)))
    print(
        f"exported {path.name} ({path.stat().st_size / 1e3:.0f} kB); max |onnxruntime - torch| "
        f"= {difference:.1e}"
    )
    if difference > 1e-4:
        raise SystemExit(f"onnxruntime disagrees with torch by {difference}")
    return path.stat().st_size / 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = stack_root()
    parser.add_argument("--robot", default=str(root / "config/robots/g1_dex3.yaml"))
    parser.add_argument("--scene", default=str(root / "config/scenes/table_objects.yaml"))
    parser.add_argument("--out", default=str(HERE.parent / "models"))
    parser.add_argument("--cache", default="/tmp/vision_node_training")
    parser.add_argument("--frames", type=int, default=1200, help="frames per crop seed")
    parser.add_argument("--crop-seeds", type=int, nargs="+", default=list(CROP_SEEDS))
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hard-negatives",
        default=None,
        help="a previous classifier (.onnx): background crops it scores < 0.5 get --hard-weight",
    )
    parser.add_argument("--hard-weight", type=float, default=2.0)
    parser.add_argument(
        "--distill",
        default=None,
        help="a previous classifier (.onnx, e.g. an average): its probabilities of each crop "
        "are soft targets (--distill-weight) for one new classifier that replaces it",
    )
    parser.add_argument("--distill-weight", type=float, default=0.7)
    parser.add_argument(
        "--hard-positives",
        action="store_true",
        help="with --hard-negatives: also weight object crops the previous classifier gives "
        "< 0.5 of their class (x --hard-weight)",
    )
    parser.add_argument(
        "--candidate-threshold",
        type=float,
        default=PROPOSAL_THRESHOLD,
        help="stage-1 peaks at least this are candidate crops of newly rendered seeds",
    )
    parser.add_argument(
        "--average-with",
        default=None,
        help="a previous classifier (.onnx) to average with the new one in the export",
    )
    parser.add_argument("--calibration-frames", type=int, default=150)
    parser.add_argument("--eval-frames", type=int, default=300)
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="keep the shipped classifier: re-calibrate the centre offsets, re-write the report",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    class_file = out / "scene_objects.yaml"
    stage_one_file = yaml.safe_load(class_file.read_text())
    offsets = stage_one_file.get("centre_offset", {c: 0.35 for c in CLASS_NAMES})
    write_class_file(class_file, offsets)  # stage 1 alone, for the candidates
    stage_two = {
        "classifier": "scene_objects_classifier.onnx",
        "classifier_context": CONTEXT,
        "proposal_threshold": PROPOSAL_THRESHOLD,
    }
    make_generator = lambda seed: SceneGenerator(args.robot, args.scene, seed=seed)  # noqa: E731
    if args.evaluate_only:
        offsets = calibrate_offsets(out, make_generator, args.calibration_frames, stage_two)
        summary = evaluate_and_report(out, make_generator, args.eval_frames, offsets)
        print(json.dumps(summary))
        return 0
    stage_one = HeatmapDetector(
        DetectorConfig(
            model=str(out / "scene_objects.onnx"),
            class_names=str(class_file),
            score_threshold=args.candidate_threshold,
            iou_threshold=0.3,
        )
    )
    start = time.perf_counter()
    all_crops, all_labels = [], []
    for seed in args.crop_seeds:
        cache = pathlib.Path(args.cache) / f"crops_{seed}_{args.frames}.npz"
        if args.candidate_threshold != PROPOSAL_THRESHOLD:
            other = cache.with_name(f"{cache.stem}_p{args.candidate_threshold}.npz")
            if other.is_file() or not cache.is_file():
                cache = other
            else:
                print(f"seed {seed}: candidates >= {PROPOSAL_THRESHOLD} (cached), not lower")
        if cache.is_file():
            data = np.load(cache)
            crops, labels = data["crops"], data["labels"]
            print(f"{len(labels)} crops from {cache}")
        else:
            print(f"rendering {args.frames} frames (seed {seed}) for stage-2 crops")
            with SceneGenerator(args.robot, args.scene, seed=seed) as generator:
                crops, labels = collect_crops(
                    stage_one, generator, args.frames, np.random.default_rng(seed)
                )
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, crops=crops, labels=labels)
        all_crops.append(crops)
        all_labels.append(labels)
    crops, labels = np.concatenate(all_crops), np.concatenate(all_labels)
    render_s = time.perf_counter() - start
    start = time.perf_counter()
    sample_weight, hard_text = None, ""
    if args.hard_negatives:
        hard, positives = hard_examples(crops, labels, args.hard_negatives)
        name = pathlib.Path(args.hard_negatives).name
        hard_text = f" {int(hard.sum())} hard negatives (background crops that {name} scored < 0.5)"
        if args.hard_positives:
            hard = hard | positives
            hard_text += (
                f" and {int(positives.sum())} hard positives (object crops it gave < 0.5 of "
                "their class)"
            )
        sample_weight = np.where(hard, args.hard_weight, 1.0).astype(np.float32)
        hard_text += f" weighted x{args.hard_weight};"
        print(hard_text.strip())
    soft = None
    if args.distill:
        soft = teacher_probabilities(crops, args.distill)
        agree = float(np.mean(soft.argmax(1) == labels))
        hard_text += (
            f" distilled from {pathlib.Path(args.distill).name} (soft targets, weight "
            f"{args.distill_weight}; it agrees with {agree:.1%} of the labels);"
        )
        print(hard_text.strip())
    net = train(crops, labels, args, sample_weight, soft)
    train_s = time.perf_counter() - start
    parameters = sum(p.numel() for p in net.parameters())
    torch.save(net.state_dict(), pathlib.Path(args.cache) / f"classifier_seed{args.seed}.pt")
    if args.average_with:
        net = Average([*from_onnx(args.average_with), net]).eval()
    classifier_kb = export(net, out / "scene_objects_classifier.onnx")
    write_class_file(class_file, offsets, stage_two)
    offsets = calibrate_offsets(out, make_generator, args.calibration_frames, stage_two)
    counts = np.bincount(labels, minlength=len(CLASS_NAMES) + 1).tolist()
    stage = (
        f"Stage 2 (`train_classifier.py`): {len(labels)} crops ({CROP_SIZE}x{CROP_SIZE}, context "
        f"{CONTEXT}) of stage-1 candidates (peaks >= {PROPOSAL_THRESHOLD}) and jittered true "
        f"boxes in {args.frames} frames per seed (seeds {args.crop_seeds}), per class + "
        f"background {counts}; "
        f"{args.epochs} epochs of batch {args.batch}, AdamW + one-cycle lr {args.learning_rate};"
        f"{hard_text}"
        f" `scene_objects_classifier.onnx` {classifier_kb:.0f} kB, "
        f"{parameters} parameters"
        f"{f' (averaged with {args.average_with})' if args.average_with else ''}; "
        "rendering and stage 1 "
        f"{render_s:.0f} s, training {train_s:.0f} s."
    )
    summary = evaluate_and_report(out, make_generator, args.eval_frames, offsets, stage)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
