#!/usr/bin/env python3
"""Cost of one control step of the hand controller (dexterous_hand_ctrl): thread CPU per tick,
per grasp phase, as a table and a final JSON line.

The core :class:`GraspController` (no ROS) grasps the bench cube with the right Dex3 hand on the
kinematic stand-in of the package's tests (``src/dexterous_hand_ctrl/test/hand_plant.py``):
preshape, reach, close, squeeze, lift, hold, then a release. The plant's own step is not timed.
The tick that accepts the goal (grasp planning: IK of the grasp and pre-grasp poses) is reported
separately, as ``start``. The load average is printed.

``--compare REF`` also runs the dexterous_hand_ctrl package as it is at git revision REF
(extracted with ``git archive`` to a temporary directory that a child process imports first),
alternating ``--rounds`` runs of each, and prints both codes' per-tick thread CPU and the
largest difference between their commands (0 when the same).

Usage: bench/hand_tick.py [--dt 0.01] [--repeat 1] [--compare REF [--rounds 3]]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import time

import numpy as np
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src" / "dexterous_hand_ctrl" / "test"))

from _revision import alternate_runs  # noqa: E402
from hand_plant import HandPlant  # noqa: E402

from dexterous_hand_ctrl.core.goal import make_goal  # noqa: E402
from dexterous_hand_ctrl.core.grasp_controller import GraspController  # noqa: E402
from dexterous_hand_ctrl.core.hand_description import load_hand_description  # noqa: E402

ROBOT = ROOT / "config" / "robots" / "g1_dex3.yaml"
OBJECT = (0.29, -0.14, 0.019)  # the bench cube in the pelvis frame [m]


def run_once(hand, stand, dt: float, ticks: dict[str, list[float]], commands: list) -> None:
    controller = GraspController(hand)
    plant = HandPlant(controller, ROBOT, stand)

    def timed_step():
        joints, tactile = plant.joints(), plant.tactile()
        c0 = time.thread_time()
        out = controller.step(plant.t, joints, tactile)
        return out, time.thread_time() - c0

    def run(seconds: float, until=None) -> None:
        for _ in range(int(round(seconds / dt))):
            out, cpu = timed_step()
            if out is None:
                plant.t += dt
                continue
            ticks.setdefault(out.phase.name.lower(), []).append(cpu)
            commands.append(np.concatenate([out.hand_positions, out.arm_positions]))
            plant.apply(out, dt)
            if until is not None and until(out):
                break

    run(0.5)  # idle
    for release in (False, True):
        goal = make_goal(
            hand,
            grasp_type="pinch",
            target_force_n=8.0,
            max_force_n=20.0,
            position=OBJECT,
            quaternion_wxyz=(1, 0, 0, 0),
            extents=(0.05, 0.05, 0.05),
            lift_height_m=0.05,
            release=release,
        )
        plant.remove_object()
        c0 = time.thread_time()
        controller.start(goal, plant.t)
        ticks.setdefault("start", []).append(time.thread_time() - c0)
        plant.place_object({"thumb": 0.4, "middle": 0.35})
        run(20.0, until=lambda out: out.outcome is not None)
        run(1.0)  # holding, or back home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dt", type=float, default=0.01, help="control period [s] (100 Hz)")
    parser.add_argument("--repeat", type=int, default=1, help="grasp runs")
    parser.add_argument("--compare", metavar="REF", help="also run the package as at git REF")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: runs of each")
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # commands to .npy (for --compare)
    args = parser.parse_args()
    if args.compare:
        return compare(args)
    hand = load_hand_description(ROBOT, "right_hand")
    stand = yaml.safe_load(ROBOT.read_text())["stand_posture"]
    ticks: dict[str, list[float]] = {}
    commands: list = []
    load_before = os.getloadavg()
    for _ in range(args.repeat):
        run_once(hand, stand, args.dt, ticks, commands)
    if args.dump:
        np.save(args.dump, np.array(commands))
    load_after = os.getloadavg()
    rows = []
    every = [v for k, vs in ticks.items() if k != "start" for v in vs]
    print(f"{'phase':10s} {'ticks':>6s} {'median ms':>10s} {'p99 ms':>8s} {'max ms':>8s}")
    for name, values in [*ticks.items(), ("all ticks", every)]:
        ms = np.array(values) * 1e3
        row = {
            "phase": name,
            "ticks": len(ms),
            "median_ms": float(np.median(ms)),
            "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()),
        }
        rows.append(row)
        print(
            f"{name:10s} {row['ticks']:6d} {row['median_ms']:10.3f} {row['p99_ms']:8.3f} "
            f"{row['max_ms']:8.3f}"
        )
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}")
    summary = {
        "bench": "hand_tick",
        "dt_s": args.dt,
        "phases": rows,
        "loadavg": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(summary))
    return 0


def compare(args) -> int:
    """This bench on dexterous_hand_ctrl at ``args.compare`` and on the working tree."""
    arguments = ["--dt", str(args.dt), "--repeat", str(args.repeat)]
    results = alternate_runs(args.compare, "dexterous_hand_ctrl", __file__, arguments, args.rounds)
    print(f"{'code':28s} {'phase':10s} {'median ms':>10s} {'p99 ms':>8s} {'max ms':>8s}")
    medians = {}
    for name, label in (("ref", f"dexterous_hand_ctrl at {args.compare}"), ("new", "working tree")):
        rows = {}
        for phase in ("all ticks", "start"):
            picked = [
                next(r for r in summary["phases"] if r["phase"] == phase)
                for summary, _ in results[name]
            ]
            rows[phase] = {
                key: float(np.median([r[key] for r in picked]))
                for key in ("median_ms", "p99_ms", "max_ms")
            }
            row = rows[phase]
            print(
                f"{label:28s} {phase:10s} {row['median_ms']:10.3f} {row['p99_ms']:8.3f} "
                f"{row['max_ms']:8.3f}"
            )
        medians[name] = rows
    ref_commands, new_commands = results["ref"][0][1], results["new"][0][1]
    same_shape = ref_commands.shape == new_commands.shape
    difference = float(np.max(np.abs(ref_commands - new_commands))) if same_shape else math.inf
    loads = [s["loadavg"][0] for name in results for s, _ in results[name]]
    print(
        f"(median over {args.rounds} alternated runs each); commands: {new_commands.shape[0]} "
        f"ticks, largest difference {difference:.3g}; load average {min(loads):.2f}-"
        f"{max(loads):.2f}"
    )
    print(
        json.dumps(
            {
                "bench": "hand_tick_compare",
                "ref": args.compare,
                "rounds": args.rounds,
                "ref_cpu": medians["ref"],
                "new_cpu": medians["new"],
                "max_command_difference": difference,
                "loadavg_range": [min(loads), max(loads)],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
