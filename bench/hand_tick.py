#!/usr/bin/env python3
"""Cost of one control step of the hand controller (dexterous_hand_ctrl): thread CPU per tick,
per grasp phase, as a table and a final JSON line.

The core :class:`GraspController` (no ROS) grasps the bench cube with the right Dex3 hand on the
kinematic stand-in of the package's tests (``src/dexterous_hand_ctrl/test/hand_plant.py``):
preshape, reach, close, squeeze, lift, hold, then a release. The plant's own step is not timed.
The tick that accepts the goal (grasp planning: IK of the grasp and pre-grasp poses) is reported
separately, as ``start``. The load average is printed.

Usage: bench/hand_tick.py [--dt 0.01] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src" / "dexterous_hand_ctrl" / "test"))

from hand_plant import HandPlant  # noqa: E402

from dexterous_hand_ctrl.core.goal import make_goal  # noqa: E402
from dexterous_hand_ctrl.core.grasp_controller import GraspController  # noqa: E402
from dexterous_hand_ctrl.core.hand_description import load_hand_description  # noqa: E402

ROBOT = ROOT / "config" / "robots" / "g1_dex3.yaml"
OBJECT = (0.29, -0.14, 0.019)  # the bench cube in the pelvis frame [m]


def run_once(hand, stand, dt: float, ticks: dict[str, list[float]]) -> None:
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
    args = parser.parse_args()
    hand = load_hand_description(ROBOT, "right_hand")
    stand = yaml.safe_load(ROBOT.read_text())["stand_posture"]
    ticks: dict[str, list[float]] = {}
    load_before = os.getloadavg()
    for _ in range(args.repeat):
        run_once(hand, stand, args.dt, ticks)
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


if __name__ == "__main__":
    sys.exit(main())
