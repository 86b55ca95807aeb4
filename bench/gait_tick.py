#!/usr/bin/env python3
"""Cost of one control step of the walking controller (biped_gait), as ratios of the 2 ms period:
a table and a final JSON line.

The step measured is what the node runs per state: estimator, state machine, footstep planner,
pattern (preview control), stabilizer, whole-body IK, feed-forward torques, and the
humanoid_interfaces/JointCommand message built from the result. It is timed while the core
controller walks the ROS-free simulated G1 (stand, then forward 0.3 m/s, turning, side-stepping),
with wall-clock time (perf_counter, what the 2 ms budget is about) and thread CPU time (what the
step costs when the machine is not shared). The simulator's own step is not counted. A reference
workload (MuJoCo's mj_step of the same model) is timed in the same run, so that runs on machines
under different loads can be compared; the load average is printed.

Goals: median <= 10 % and p99 <= 30 % of the 2 ms period.

``--compare REF`` also runs the biped_gait package as it is at git revision REF (extracted to a
temporary directory with ``git archive``, run in a child process that imports it first), and
prints both codes' thread CPU per step (runs alternated, ``--rounds`` of each) and the largest
difference between their joint commands (0 when the optimised code computes the same ones).

Usage: bench/gait_tick.py [--seconds 12] [--compare REF [--rounds 3]]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import time

import mujoco
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _gait_sim import apply, make_controller, make_sim, readings  # noqa: E402
from _revision import alternate_runs  # noqa: E402

from biped_gait import conversions  # noqa: E402

PERIOD = 0.002


def phase_of(t: float):
    """Command schedule [s] -> (vx, vy, wz)."""
    if t < 1.5:
        return None
    if t < 6.0:
        return (0.3, 0.0, 0.0)
    if t < 9.0:
        return (0.2, 0.0, 0.3)
    return (0.0, 0.1, 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="simulated time [s]")
    parser.add_argument("--compare", metavar="REF", help="also run biped_gait as at git REF")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: runs of each")
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # commands to .npy (for --compare)
    args = parser.parse_args()
    if args.compare:
        return compare(args.compare, args.seconds, args.rounds)
    sim = make_sim()
    controller, index = make_controller(sim, arms=False)
    controller.request_stand()
    writer = conversions.CommandWriter("biped_gait")  # the node's serialized command
    wall, cpu, reference = [], [], []
    scratch = mujoco.MjData(sim.model)
    load_before = os.getloadavg()
    fallen = False
    commands = []
    for k in range(int(round(args.seconds / PERIOD))):
        now = sim.time
        command = phase_of(now)
        if command is not None:
            if controller.state == "stand":
                controller.request_walk()
            controller.commands.set_target(command, now)
        state = readings(sim, index)
        w0, c0 = time.perf_counter(), time.thread_time()
        out = controller.step(state, now, PERIOD)
        if out is not None:
            writer.write(out, int(round(now * 1e9)))
        c1, w1 = time.thread_time(), time.perf_counter()
        if args.dump and out is not None:
            commands.append(
                np.concatenate([out.position, out.velocity, out.effort, out.kp, out.kd])
            )
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
        if k % 10 == 0:  # reference workload, interleaved: one mj_step of the same model
            scratch.qpos[:] = sim.data.qpos
            r0 = time.perf_counter()
            mujoco.mj_step(sim.model, scratch)
            reference.append(time.perf_counter() - r0)
        apply(sim, out)
        sim.step()
        fallen = fallen or sim.has_fallen()
    load_after = os.getloadavg()
    if args.dump:
        np.save(args.dump, np.array(commands))
    skip = int(0.5 / PERIOD)  # start-up (first IK solves, caches)
    wall_ms, cpu_ms = np.array(wall[skip:]) * 1e3, np.array(cpu[skip:]) * 1e3
    ref_ms = np.array(reference) * 1e3
    rows = []
    for name, values in (("wall-clock", wall_ms), ("thread CPU", cpu_ms)):
        median, p99 = float(np.median(values)), float(np.percentile(values, 99))
        rows.append(
            {
                "clock": name,
                "median_ms": median,
                "p99_ms": p99,
                "median_ratio": median / (PERIOD * 1e3),
                "p99_ratio": p99 / (PERIOD * 1e3),
            }
        )
    print(f"{'clock':12s} {'median ms':>10s} {'p99 ms':>8s} {'median/2ms':>11s} {'p99/2ms':>8s}")
    for row in rows:
        print(
            f"{row['clock']:12s} {row['median_ms']:10.3f} {row['p99_ms']:8.3f} "
            f"{100 * row['median_ratio']:10.1f}% {100 * row['p99_ratio']:7.1f}%"
        )
    ref_median = float(np.median(ref_ms))
    print(
        f"reference mj_step median {ref_median:.3f} ms; control step / mj_step = "
        f"{rows[0]['median_ms'] / ref_median:.1f}; steps {len(wall_ms)}, fell: {fallen}; "
        f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}"
    )
    goals = {"median_ratio": 0.10, "p99_ratio": 0.30}
    summary = {
        "bench": "gait_tick",
        "period_ms": PERIOD * 1e3,
        "wall": rows[0],
        "cpu": rows[1],
        "mj_step_median_ms": ref_median,
        "step_over_mj_step": rows[0]["median_ms"] / ref_median,
        "goals": goals,
        "pass_wall": rows[0]["median_ratio"] <= goals["median_ratio"]
        and rows[0]["p99_ratio"] <= goals["p99_ratio"],
        "pass_cpu": rows[1]["median_ratio"] <= goals["median_ratio"]
        and rows[1]["p99_ratio"] <= goals["p99_ratio"],
        "fell": fallen,
        "loadavg": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(summary))
    return 0


def compare(ref: str, seconds: float, rounds: int) -> int:
    """Run this bench on biped_gait at ``ref`` and on the working tree; compare."""
    results = alternate_runs(ref, "biped_gait", __file__, ["--seconds", str(seconds)], rounds)
    print(
        f"{'code':24s} {'round':>5s} {'cpu median ms':>14s} {'cpu p99 ms':>11s} "
        f"{'median/mj_step':>15s} {'load':>12s}"
    )
    for name, label in (("ref", f"biped_gait at {ref}"), ("new", "working tree")):
        for k, (summary, _) in enumerate(results[name]):
            cpu = summary["cpu"]
            print(
                f"{label:24s} {k:5d} {cpu['median_ms']:14.3f} {cpu['p99_ms']:11.3f} "
                f"{cpu['median_ms'] / summary['mj_step_median_ms']:15.2f} "
                f"{summary['loadavg'][0]:5.2f}->{summary['loadavg'][1]:5.2f}"
            )
    medians = {
        name: {
            key: float(np.median([summary["cpu"][key] for summary, _ in results[name]]))
            for key in ("median_ms", "p99_ms")
        }
        | {
            "median_over_mj_step": float(
                np.median(
                    [s["cpu"]["median_ms"] / s["mj_step_median_ms"] for s, _ in results[name]]
                )
            )
        }
        for name in results
    }
    print(
        f"median over rounds: {ref} {medians['ref']['median_ms']:.3f} ms "
        f"(p99 {medians['ref']['p99_ms']:.3f}), working tree {medians['new']['median_ms']:.3f} "
        f"ms (p99 {medians['new']['p99_ms']:.3f}); in mj_steps of the same run: "
        f"{medians['ref']['median_over_mj_step']:.2f} -> "
        f"{medians['new']['median_over_mj_step']:.2f}"
    )
    ref_summary, ref_commands = results["ref"][0]
    new_summary, new_commands = results["new"][0]
    same_shape = ref_commands.shape == new_commands.shape
    difference = float(np.max(np.abs(ref_commands - new_commands))) if same_shape else math.inf
    print(f"commands: {new_commands.shape[0]} steps, largest difference {difference:.3g}")
    print(
        json.dumps(
            {
                "bench": "gait_tick_compare",
                "ref": ref,
                "rounds": rounds,
                "ref_cpu": medians["ref"],
                "new_cpu": medians["new"],
                "max_command_difference": difference,
                "loadavg": [ref_summary["loadavg"][0], new_summary["loadavg"][1]],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
