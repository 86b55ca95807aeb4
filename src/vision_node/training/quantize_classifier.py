#!/usr/bin/env python3
"""Quantise the scene-object crop classifier to int8 (onnxruntime static quantisation).

    . tools/env.sh && OMP_NUM_THREADS=1 python src/vision_node/training/quantize_classifier.py \
        --models DIR --out DIR2

The classifier is most of the detector's per-frame cost (three averaged networks on each
candidate's crop). Its convolutions and the final Gemm are quantised to int8 (per-channel
weights, uint8 activations, ``reduce_range``: 7-bit weights, which avoid the int16 overflow of
the u8 x s8 products on CPUs without VNNI; QOperator format: QLinearConv), the activation ranges
calibrated (min / max) on the crops the node itself would classify: stage-1 candidates (heatmap
peaks >= the class file's ``proposal_threshold``) of ``--frames`` frames rendered with
``--seed`` (a training seed: never the bench's 5000 nor the validation seed 7000). The heatmap
network stays float: quantised it was slower on the same machine (Q/DQ around its Resize and
pooling layers) and its peaks moved by up to 0.08-0.28.

The float classifier is read from ``--float`` (default: the model folder's
``scene_objects_classifier_float.onnx``, shipped beside the int8 one because
``train_classifier.py``'s ``--average-with``, ``--hard-negatives`` and ``--distill`` rebuild
torch classifiers from a float export; else the classifier the class file names). Writes the
int8 ``scene_objects_classifier.onnx`` and a copy of the float one into ``--out`` (with the
other model files copied from ``--models``, so the folder can be passed to the benches'
``--models``) and prints the agreement with the float classifier and both classifiers' times on
one thread. The decision rules do not change with it (see ``scene_objects_report.md``:
validation and bench figures of both).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from vision_node.core.decode import decode_heatmap
from vision_node.detectors.base import DetectorConfig
from vision_node.detectors.crops import crop_batch
from vision_node.detectors.heatmap_detector import HeatmapDetector
from vision_node.detectors.onnx_detector import load_session
from vision_node.synthetic.scene_generator import SceneGenerator

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROBOT = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE = ROOT / "config" / "scenes" / "table_objects.yaml"
FORBIDDEN_SEEDS = {5000, 7000}  # the bench's held-out seed, the rules' validation seed
MODEL_FILES = ("scene_objects.onnx", "scene_objects.yaml", "scene_objects_yolo.onnx")
FLOAT_NAME = "scene_objects_classifier_float.onnx"


def candidate_crops(detector: HeatmapDetector, frame) -> np.ndarray:
    """The crops the node classifies in ``frame`` (its candidates, as ``detect`` finds them)."""
    rgb, depth = frame.rgb, frame.depth
    peaks, size, offset, box = detector.run_heatmap(rgb, depth)
    raw = decode_heatmap(
        peaks,
        size,
        offset,
        detector.stride,
        detector.rules.proposal_threshold,
        detector.config.max_detections,
        detector.rules.proposal_iou,
    )
    candidates = detector.to_detections(raw, box, rgb.shape[1], rgb.shape[0])
    return crop_batch(
        rgb, depth, [c.box for c in candidates], detector.crop_size, detector.crop_context
    )


class Batches(CalibrationDataReader):
    """Calibration feeds: the crops in batches, as the node runs them (one frame's worth)."""

    def __init__(self, name: str, crops: np.ndarray, batch: int = 12):
        self._feeds = iter([{name: crops[i : i + batch]} for i in range(0, len(crops), batch)])

    def get_next(self):
        return next(self._feeds, None)


def median_ms(session, feeds, repeats: int = 100) -> float:
    for _ in range(5):
        session.run(None, feeds)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--out", required=True, help="folder for the quantised model set")
    parser.add_argument("--float", default=None, help="the float classifier (see above)")
    parser.add_argument("--seed", type=int, default=2100, help="calibration scenes")
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args(argv)
    if args.seed in FORBIDDEN_SEEDS:
        raise SystemExit(f"seed {args.seed} is a held-out or validation seed: use another")
    detector = HeatmapDetector(DetectorConfig.from_folder(args.models, threads=1))
    if detector.classifier is None:
        raise SystemExit(f"{detector.class_path} names no classifier")
    folder = detector.class_path.parent
    source = pathlib.Path(args.float) if args.float else folder / FLOAT_NAME
    if not args.float and not source.is_file():
        source = detector.classifier_path
    float_session = load_session(source, 1)
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out == folder.resolve():
        raise SystemExit("--out must differ from the model folder (its files are read)")
    for name in MODEL_FILES:
        if (folder / name).is_file():
            shutil.copy2(folder / name, out / name)
    shutil.copy2(source, out / FLOAT_NAME)

    start = time.perf_counter()
    crops = []
    with SceneGenerator(ROBOT, SCENE, seed=args.seed) as generator:
        for index in range(args.frames):
            crops.append(candidate_crops(detector, generator.render(index)))
    crops = np.concatenate(crops)
    print(
        f"{len(crops)} calibration crops from {args.frames} frames (seed {args.seed}), "
        f"{time.perf_counter() - start:.0f} s"
    )

    target = out / detector.classifier_path.name
    with tempfile.TemporaryDirectory() as work:
        prepared = pathlib.Path(work) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(target),
            Batches(detector.classifier_input, crops),
            quant_format=QuantFormat.QOperator,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )

    quantised = load_session(target, 1)
    name = detector.classifier_input
    (before,) = float_session.run(None, {name: crops})
    (after,) = quantised.run(None, {name: crops})
    agree = float(np.mean(before.argmax(1) == after.argmax(1)))
    change = np.abs(after - before).max(axis=1)
    feeds = {name: crops[:9]}
    print(
        f"{target} ({target.stat().st_size / 1e3:.0f} kB, float {source.stat().st_size / 1e3:.0f}"
        f" kB): same class on {100 * agree:.2f} % of the calibration crops, largest probability "
        f"change median {np.median(change):.4f}, p99 {np.percentile(change, 99):.4f}; 9 crops on "
        f"one thread {median_ms(float_session, feeds):.2f} ms float, "
        f"{median_ms(quantised, feeds):.2f} ms int8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
