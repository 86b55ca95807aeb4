#!/usr/bin/env python3
"""Report of a fetch run from its rosbag2 recording: PNG figures and ``summary.json``.

    python tools/demo_report.py BAG_DIR OUT_DIR

Figures (each skipped, with a note in the summary, when its topics are missing):

- ``gait.png``: CoM, planned and measured ZMP and DCM over time (x, y), and a top view with the
  footsteps (from ``/gait/status``, ``/sim/base``, ``/odom``, ``/joint_states``).
- ``grasp_forces.png``: normal force per pad of the right hand over time, the brain's phases
  shaded (``/right_hand/tactile/contacts``, ``/brain/status``).
- ``detections.png``: per class, the vision node's 3D position estimates against the
  simulator's ground truth (``/vision/detections``, ``/sim/objects``, ``/sim/base``).
- ``odometry.png``: the odometry path against the ground-truth path, and its error.

The data and figures of merit come from ``tools/report_data.py``; ``summary.json`` merges them
with whatever the caller (``tools/demo.py``) measured live.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import report_data as rd  # noqa: E402
import report_metrics as rm  # noqa: E402

# Drawn footprint of a G1 sole, for the top view only [m] (length, width).
FOOT_OUTLINE_M = (0.20, 0.08)
PHASE_COLOURS = {
    "WAIT_TARGET": "#dddddd",
    "APPROACH": "#cce5ff",
    "SETTLE": "#e5ccff",
    "GRASP": "#ffe0b3",
    "LIFT": "#fff3b3",
    "HOLD": "#c8f0c8",
    "RECOVER": "#ffcccc",
    "DONE": "#99dd99",
    "ABORTED": "#ff9999",
}
FIGURES = ("gait.png", "grasp_forces.png", "detections.png", "odometry.png")


class Skipped(Exception):
    """A figure cannot be drawn from this recording (the message says why)."""


# ------------------------------------------------------------------------------------- figures
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def shade_phases(axis, intervals: list[dict], label: bool = True) -> None:
    """Shade the brain's phases on a time axis (the last one to the axis' end); the phase names
    at the top."""
    axis_end = axis.get_xlim()[1]
    for number, interval in enumerate(intervals):
        start, end = interval["start_s"], max(interval["end_s"], interval["start_s"] + 1e-3)
        if number == len(intervals) - 1:
            end = max(end, axis_end)
        colour = PHASE_COLOURS.get(interval["state"], "#eeeeee")
        axis.axvspan(start, end, color=colour, alpha=0.6, lw=0, zorder=0)
        if label and end - start > 0.02 * max(axis_end, 1e-3):
            axis.text(
                (start + end) / 2,
                0.98,
                interval["state"],
                transform=axis.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=7,
                rotation=90,
            )


def plot_gait(recording, kinematics, out: pathlib.Path, plt) -> str:
    gait = recording.gait
    if gait is None:
        raise Skipped("no /gait/status")
    figure = plt.figure(figsize=(15, 8))
    grid = figure.add_gridspec(2, 2, width_ratios=(1.6, 1))
    t = gait["t"]
    for row, (k, axis_name) in enumerate(((0, "x"), (1, "y"))):
        axis = figure.add_subplot(grid[row, 0])
        axis.plot(t, gait["com"][:, k], "k", lw=1.5, label="CoM")
        axis.plot(t, gait["zmp_planned"][:, k], "C0--", lw=1.2, label="ZMP planned")
        axis.plot(t, gait["zmp_measured"][:, k], "C0", lw=0.6, alpha=0.6, label="ZMP measured")
        axis.plot(t, gait["dcm_planned"][:, k], "C3--", lw=1.2, label="DCM planned")
        axis.plot(t, gait["dcm_measured"][:, k], "C3", lw=0.8, alpha=0.8, label="DCM measured")
        for side, start, end, _ in rd.single_support_phases(gait):
            colour = "#e8f0ff" if side == rd.SUPPORT_LEFT else "#fff0e0"
            axis.axvspan(start, end, color=colour, lw=0, zorder=0)
        axis.set_ylabel(f"{axis_name} in odom [m]")
        axis.grid(alpha=0.3)
        if row == 0:
            axis.set_title("CoM, ZMP, DCM (shaded: left / right single support)")
            axis.legend(fontsize=8, ncol=5, loc="lower left")
    axis.set_xlabel("sim time [s]")
    top = figure.add_subplot(grid[:, 1])
    steps, how = rm.footsteps(recording, kinematics)
    _draw_footsteps(top, steps, recording, plt)
    top.plot(gait["com"][:, 0], gait["com"][:, 1], "k", lw=1.2, label="CoM")
    top.plot(
        gait["zmp_measured"][:, 0],
        gait["zmp_measured"][:, 1],
        "C0.",
        ms=1,
        alpha=0.3,
        label="ZMP measured",
    )
    align = rd.planar_alignment(recording)
    if align is not None:
        pelvis = rd.apply_planar(np.linalg.inv(align), recording.base_truth["xyz"][:, :2])
        top.plot(pelvis[:, 0], pelvis[:, 1], "C2", lw=0.8, label="pelvis (ground truth)")
    top.set_aspect("equal", adjustable="datalim")
    top.set_xlabel("x in odom [m]")
    top.set_ylabel("y in odom [m]")
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="best")
    top.set_title(f"top view, {len(steps)} single supports\n{how}", fontsize=9)
    steps_done = int(gait["step_count"].max())
    figure.suptitle(f"gait: {steps_done} steps ({recording.path.name})")
    figure.tight_layout()
    figure.savefig(out / "gait.png", dpi=90)
    plt.close(figure)
    return "gait.png"


def _draw_footsteps(axis, steps: list[dict], recording, plt) -> None:
    odom = recording.odom
    for number, step in enumerate(steps):
        colour = "C0" if step["side"] == "left" else "C1"
        x, y = step["planned_xy"]
        yaw = 0.0
        if odom is not None:
            middle = (step["start_s"] + step["end_s"]) / 2
            yaw = float(
                odom["yaw"][int(np.clip(np.searchsorted(odom["t"], middle), 0, len(odom["t"]) - 1))]
            )
        length, width = FOOT_OUTLINE_M
        corner = np.array([x, y]) + _rotate([-length / 2, -width / 2], yaw)
        axis.add_patch(
            plt.Rectangle(
                corner, length, width, angle=math.degrees(yaw), fill=False, ec=colour, lw=1.2
            )
        )
        axis.annotate(str(number + 1), (x, y), fontsize=6, ha="center", va="center")
        if "measured_xy" in step:
            axis.plot(*step["measured_xy"], "x", color=colour, ms=6)
    for side, colour in (("left", "C0"), ("right", "C1")):
        axis.plot([], [], "s", mfc="none", color=colour, label=f"{side} foot")


def _rotate(vector, yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]])


def plot_grasp(recording, out: pathlib.Path, plt) -> str:
    contacts = recording.contacts
    if contacts is None:
        raise Skipped("no /right_hand/tactile/contacts")
    figure, axis = plt.subplots(figsize=(13, 5))
    t, force = contacts["t"], contacts["force"]
    for k, pad in enumerate(contacts["pads"]):
        axis.plot(t, force[:, k], lw=1.0, label=pad)
    total = force.sum(axis=1)
    axis.plot(t, total, "k", lw=1.6, label="total")
    axis.set_xlim(min(t[0], 0.0), max(t[-1], _last_time(recording), 1e-3))
    shade_phases(axis, rd.phases(recording))
    axis.set_xlabel("sim time [s]")
    axis.set_ylabel("normal force [N]")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="upper left")
    note = "" if recording.brain else " (no /brain/status: phases not shaded)"
    axis.set_title(f"right hand: normal force per pad, peak total {total.max():.2f} N{note}")
    figure.tight_layout()
    figure.savefig(out / "grasp_forces.png", dpi=90)
    plt.close(figure)
    return "grasp_forces.png"


def _last_time(recording) -> float:
    return recording.brain[-1][0] if recording.brain else 0.0


def plot_detections(recording, kinematics, out: pathlib.Path, plt) -> str:
    if not recording.detections:
        messages = recording.counts.get("/vision/detections", 0)
        raise Skipped(f"no detections in {messages} /vision/detections messages")
    placed, why = rm.detections_in_world(recording, kinematics)
    objects = recording.objects or {}
    detected = {d["class_name"] for d in placed}
    # One row per detected class, plus one per object never detected (named by its id).
    classes = sorted(detected) + sorted(
        o["name"] for o in objects.values() if not ({o["name"], o["class_name"]} & detected)
    )
    figure, axes = plt.subplots(
        len(classes), 3, figsize=(14, 2.8 * len(classes) + 0.6), squeeze=False, sharex=True
    )
    for row, name in enumerate(classes):
        mine = [d for d in placed if d["class_name"] == name and "world" in d]
        truth = rd.truth_for(recording, name)
        for k, axis in enumerate(axes[row]):
            for o in truth:
                axis.plot(o["t"], o["xyz"][:, k], "k", lw=1.2, label="ground truth")
            if mine:
                axis.plot(
                    [d["t"] for d in mine],
                    [d["world"][k] for d in mine],
                    "C3.",
                    ms=3,
                    label="vision estimate",
                )
            axis.set_ylabel(f"{name} {'xyz'[k]} [m]")
            axis.grid(alpha=0.3)
            axis.ticklabel_format(axis="y", useOffset=False)
            low, high = axis.get_ylim()  # at least 10 cm of range: noise must not look large
            if high - low < 0.1:
                middle = (low + high) / 2
                axis.set_ylim(middle - 0.05, middle + 0.05)
        errors = rm.detection_errors(mine, truth)
        text = f"{name}: {len(mine)} estimates"
        if errors.size:
            text += f", median error {np.median(errors) * 100:.1f} cm"
        axes[row][0].set_title(text, fontsize=9, loc="left")
    axes[0][2].legend(fontsize=8, loc="best")
    for axis in axes[-1]:
        axis.set_xlabel("sim time [s]")
    figure.suptitle(
        "detections in the world frame (camera chain + true pelvis pose) vs ground "
        f"truth /sim/objects{'; ' + why if why else ''}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(out / "detections.png", dpi=90)
    plt.close(figure)
    return "detections.png"


def plot_odometry(recording, out: pathlib.Path, plt) -> str:
    truth, odom, align = recording.base_truth, recording.odom, rd.planar_alignment(recording)
    if align is None:
        raise Skipped("needs /odom and /sim/base")
    aligned = rd.apply_planar(align, odom["xyz"][:, :2])
    error = rm.odometry_error(recording)
    figure, (top, over_time) = plt.subplots(1, 2, figsize=(13, 5.5))
    top.plot(truth["xyz"][:, 0], truth["xyz"][:, 1], "k", lw=1.5, label="ground truth /sim/base")
    top.plot(aligned[:, 0], aligned[:, 1], "C1--", lw=1.2, label="odometry /odom")
    top.set_aspect("equal", adjustable="datalim")
    top.set_xlabel("x in world [m]")
    top.set_ylabel("y in world [m]")
    top.grid(alpha=0.3)
    top.legend(fontsize=8)
    top.set_title("pelvis path (odom aligned to the truth at its first sample)", fontsize=9)
    over_time.plot(odom["t"], error * 100, "C1")
    over_time.set_xlabel("sim time [s]")
    over_time.set_ylabel("position error [cm]")
    over_time.grid(alpha=0.3)
    over_time.set_title(
        f"odometry drift: final {error[-1] * 100:.2f} cm, max {error.max() * 100:.2f} cm",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(out / "odometry.png", dpi=90)
    plt.close(figure)
    return "odometry.png"


# -------------------------------------------------------------------------------------- report
def make_report(
    bag: str | pathlib.Path,
    out: str | pathlib.Path,
    extra: dict | None = None,
    recording: rd.Recording | None = None,
) -> dict:
    """Write the figures and ``summary.json`` of the recording ``bag`` into ``out``.

    Args:
        bag: rosbag2 directory.
        out: Report directory (created).
        extra: Values measured by the caller, merged into the summary under ``run``.
        recording: ``bag`` already read (:func:`report_data.read_recording`), if it was.

    Returns:
        The summary (as written).
    """
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recording = recording if recording is not None else rd.read_recording(bag)
    kinematics, kinematics_note = rm.load_kinematics()
    plt = _pyplot()
    figures, skipped = [], {}
    drawers = (
        ("gait.png", lambda: plot_gait(recording, kinematics, out, plt)),
        ("grasp_forces.png", lambda: plot_grasp(recording, out, plt)),
        ("detections.png", lambda: plot_detections(recording, kinematics, out, plt)),
        ("odometry.png", lambda: plot_odometry(recording, out, plt)),
    )
    for name, draw in drawers:
        try:
            figures.append(draw())
        except Skipped as reason:
            skipped[name] = str(reason)
        except Exception as error:  # noqa: BLE001 - one broken figure must not lose the rest
            skipped[name] = f"failed: {type(error).__name__}: {error}"
            plt.close("all")
    summary = rm.summarize(recording, kinematics)
    summary.update(bag=str(bag), figures=figures, skipped=skipped, notes=recording.notes)
    if kinematics_note:
        summary["notes"]["kinematics"] = kinematics_note
    if extra:
        summary["run"] = extra
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    return summary


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bag", help="rosbag2 directory of the run")
    parser.add_argument("out", help="report directory to write")
    args = parser.parse_args(argv)
    from humanoid_bag.storage import BagError

    try:
        summary = make_report(args.bag, args.out)
    except BagError as error:
        print(f"demo_report: {error}", file=sys.stderr)
        return 2
    for name, why in summary["skipped"].items():
        print(f"[report] skipped {name}: {why}")
    print(f"[report] wrote {', '.join(summary['figures'])} and summary.json to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
