#!/usr/bin/env python3
"""Grasp competence of dexterous_hand_ctrl: randomized grasp-lift-hold trials in simulation.

Each trial: one object (cube 4-6 cm, cylinder 4-6 cm diameter and 8-12 cm tall, or sphere 5-7
cm; 50-300 g; friction 0.5-1.0) stands on the bench table at a random spot (+/-1 cm) and yaw;
the controller gets a goal whose object pose is the truth plus perception noise (+/-1 cm,
+/-15 deg yaw) and grasps, lifts (12 cm commanded: the object settles up to 2 cm in the grip as
it takes up its weight) and holds. Success: the object stayed >= 10 cm above its rest height
for the whole 5 s hold. Then the slip test
doubles the object's mass and holds 2 s more: no drop. Also measured: the holding force against
the (possibly slip-raised) target, the peak finger and total force against their maxima (both
from the tactile driver's processing and from the simulator's true contact forces).

Runs the grasp controller core in lockstep with the ROS-free simulator (``humanoid_sim``'s
``Simulation``, fixed base, no-slip friction iterations) and the tactile driver's own processing
(``SkinProcessor``): the node's data path without DDS (``dexterous_hand_ctrl.sim_loop``). The
same controller runs end to end through real nodes in ``test/test_hand_controller.py``.

The grasp: by default the goal names none and carries the object's class (``cube``,
``cylinder``, ``sphere``: the vision detector's names), so the hand description's
``grasp_for_class`` chooses, as for the stack's goals; ``--grasps sphere:tripod,box:pinch``
forces grasp types per shape (shapes not listed keep the class choice).

Usage: ``python bench/grasp_trials.py [--trials 50] [--seed 0] [--shapes box,cylinder,sphere]
[--grasps SHAPE:GRASP,...] [--rows-out rows.jsonl] [--summarize rows.jsonl ...]``
Prints a per-trial table and a final single-line JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import mujoco
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TABLE_HEIGHT = 0.76  # config/scenes/grasp_bench.yaml
NOMINAL_XY = (0.29, -0.14)
OBJECT_OF_SHAPE = {"box": "cube", "cylinder": "cylinder", "sphere": "sphere"}
PARKED = {"cube": (0.58, -0.3), "cylinder": (0.58, 0.3), "sphere": (0.58, 0.1)}


def sample_trial(rng: np.random.Generator, shape: str, args) -> dict:
    from dexterous_hand_ctrl.sim_loop import ObjectSetup

    if shape == "box":
        size = (rng.uniform(0.04, 0.06),)
    elif shape == "cylinder":
        size = (rng.uniform(0.02, 0.03), rng.uniform(0.04, 0.06))
    else:
        size = (rng.uniform(0.025, 0.035),)
    xy = (NOMINAL_XY[0] + rng.uniform(-0.01, 0.01), NOMINAL_XY[1] + rng.uniform(-0.01, 0.01))
    setup = ObjectSetup(
        shape,
        tuple(float(s) for s in size),
        float(rng.uniform(0.05, 0.3)),
        float(rng.uniform(0.5, 1.0)),
        xy,
        float(rng.uniform(-math.pi, math.pi)),
    )
    noise_xy = rng.uniform(-args.pose_noise_m, args.pose_noise_m, size=2)
    noise_yaw = math.radians(rng.uniform(-args.yaw_noise_deg, args.yaw_noise_deg))
    return {"setup": setup, "noise_xy": noise_xy, "noise_yaw": noise_yaw}


def true_contact_forces(loop, body: int) -> float:
    """Sum of the normal forces between the hand and the object (simulator truth) [N]."""
    model, data = loop.sim.model, loop.sim.data
    total = 0.0
    force = np.zeros(6)
    for i in range(data.ncon):
        contact = data.contact[i]
        b1, b2 = model.geom_bodyid[contact.geom1], model.geom_bodyid[contact.geom2]
        other = b2 if b1 == body else b1 if b2 == body else None
        if other is None or not model.body(other).name.startswith(loop.description.name[:5]):
            continue
        mujoco.mj_contactForce(model, data, i, force)
        total += abs(force[0])
    return total


def run_trial(loop, index: int, trial: dict, args) -> dict:
    from dexterous_hand_ctrl.core.goal import GoalRejected, make_goal
    from dexterous_hand_ctrl.core.grasp_controller import Phase

    setup = trial["setup"]
    name = OBJECT_OF_SHAPE[setup.shape]
    loop.reset()
    for other, xy in PARKED.items():
        if other != name:
            loop.park_object(other, xy, TABLE_HEIGHT)
    loop.setup_object(name, setup, TABLE_HEIGHT)
    loop.settle()
    loop.run(0.2)
    body = loop.sim.model.body(name).id
    z_rest = float(loop.sim.object_states()[name].position[2])
    position, quat = loop.object_in_base(name)
    position = position + np.array([*trial["noise_xy"], 0.0])
    half = trial["noise_yaw"] / 2.0
    noisy = np.zeros(4)
    mujoco.mju_mulQuat(noisy, np.array([math.cos(half), 0, 0, math.sin(half)]), quat)
    row = {
        "trial": index,
        "shape": setup.shape,
        "size_mm": [round(s * 1000, 1) for s in setup.size],
        "mass_g": round(setup.mass * 1000),
        "friction": round(setup.friction, 2),
        "grasp": args.grasp.get(setup.shape, ""),
        "success": False,
        "slip_ok": False,
        "reason": "",
    }
    try:
        goal = make_goal(
            loop.description,
            row["grasp"],
            args.target_force,
            args.max_force,
            position,
            noisy,
            setup.extents,
            args.lift_m,
            False,
            object_class=name,
        )
        row["grasp"] = goal.grasp_type
        loop.controller.start(goal, loop.sim.time)
    except GoalRejected as error:
        row["reason"] = f"rejected: {error}"
        return row
    outcome = None
    start = loop.sim.time
    while loop.sim.time - start < args.grasp_timeout_s:
        output = loop.step()
        if output.outcome is not None:
            outcome = output.outcome
            break
    row["time_to_lift_s"] = round(loop.sim.time - start, 2)
    if outcome is None or not outcome.success:
        row["reason"] = outcome.reason if outcome else "no outcome (bench timeout)"
        return row
    finger_max = {f.name: f.max_force_n for f in loop.description.fingers}
    peak_finger_ratio, peak_total, peak_true, errors = 0.0, 0.0, 0.0, []
    lowest = math.inf

    def hold(seconds: float) -> bool:
        nonlocal peak_finger_ratio, peak_total, peak_true, lowest
        for _ in range(int(round(seconds / loop.sim.control_period))):
            output = loop.step()
            if output.phase is not Phase.HOLD:
                row["reason"] = f"left HOLD: {loop.controller.last_fault}"
                return False
            forces = output.finger_force_n
            total = sum(forces.values())
            peak_total = max(peak_total, total)
            peak_finger_ratio = max(
                peak_finger_ratio, max(v / finger_max[f] for f, v in forces.items())
            )
            peak_true = max(peak_true, true_contact_forces(loop, body))
            target = loop.controller._grip.command_n
            if not loop.controller._grip.ramping:
                errors.append((total - target) / target)
            lowest = min(lowest, float(loop.sim.object_states()[name].position[2]) - z_rest)
        return True

    held = hold(args.hold_s)
    rise = float(loop.sim.object_states()[name].position[2]) - z_rest
    row["rise_cm"] = round(rise * 100, 1)
    row["lowest_rise_cm"] = round(lowest * 100, 1) if math.isfinite(lowest) else None
    row["success"] = held and lowest >= args.rise_m
    if held and not row["success"]:
        row["reason"] = f"object only {lowest * 100:.1f} cm up"
    if row["success"]:
        row["reason"] = "ok"
        loop.sim.set_object_mass(name, 2.0 * setup.mass)
        before = float(loop.sim.object_states()[name].position[2])
        ok = hold(args.slip_hold_s)
        drop = before - float(loop.sim.object_states()[name].position[2])
        row["slip_drop_mm"] = round(drop * 1000, 1)
        row["slip_ok"] = ok and drop < args.drop_m
        if not row["slip_ok"]:
            row["reason"] = f"slip test: {row.get('reason') or f'dropped {drop * 1000:.0f} mm'}"
    grip = loop.controller._grip
    row["target_n"] = round(grip.target_n, 1)
    row["slip_events"] = grip.events
    row["reflex_raises"] = grip.raises
    row["force_error_p95"] = round(float(np.percentile(np.abs(errors), 95)), 3) if errors else None
    row["force_error_mean"] = round(float(np.mean(errors)), 3) if errors else None
    row["peak_finger_ratio"] = round(peak_finger_ratio, 3)
    row["peak_total_n"] = round(peak_total, 2)
    row["peak_true_contact_n"] = round(peak_true, 2)
    row["max_total_n"] = grip.limit_n
    return row


HEADER = (
    f"{'#':>3} {'shape':8} {'size mm':>12} {'g':>4} {'mu':>4} {'grasp':12} {'ok':>3} "
    f"{'rise':>5} {'slip':>5} {'drop':>5} {'target':>6} {'err95':>6} {'peakF':>6} "
    f"{'events':>6}  reason"
)


def print_row(row: dict) -> None:
    print(
        f"{row['trial']:3d} {row['shape']:8} {str(row['size_mm']):>12} {row['mass_g']:4d} "
        f"{row['friction']:4.2f} {row['grasp']:12} {'Y' if row['success'] else 'n':>3} "
        f"{row.get('rise_cm', '-')!s:>5} {'Y' if row['slip_ok'] else 'n':>5} "
        f"{row.get('slip_drop_mm', '-')!s:>5} {row.get('target_n', '-')!s:>6} "
        f"{row.get('force_error_p95', '-')!s:>6} {row.get('peak_finger_ratio', '-')!s:>6} "
        f"{row.get('slip_events', '-')!s:>6}  {row['reason']}",
        flush=True,
    )


def summarize(rows: list[dict], args, wall_s: float) -> dict:
    shapes = sorted({r["shape"] for r in rows})
    succeeded = [r for r in rows if r["success"]]
    errors = [r["force_error_p95"] for r in succeeded if r.get("force_error_p95") is not None]
    return {
        "bench": "grasp_trials",
        "mode": "in-process lockstep (Simulation + SkinProcessor + GraspController, no DDS)",
        "trials": len(rows),
        "success_rate": round(len(succeeded) / max(len(rows), 1), 3),
        "slip_test_no_drop_rate": round(
            sum(r["slip_ok"] for r in succeeded) / max(len(succeeded), 1), 3
        ),
        "force_within_20pct_rate": round(sum(e <= 0.2 for e in errors) / max(len(errors), 1), 3),
        "force_error_p95_median": round(float(np.median(errors)), 3) if errors else None,
        "peak_finger_force_ratio_max": max(
            (r["peak_finger_ratio"] for r in succeeded), default=None
        ),
        "peak_total_force_ratio_max": max(
            (round(r["peak_total_n"] / r["max_total_n"], 3) for r in succeeded), default=None
        ),
        "peak_true_contact_n_max": max((r["peak_true_contact_n"] for r in succeeded), default=None),
        "by_shape": {
            s: round(
                sum(r["success"] for r in rows if r["shape"] == s)
                / max(sum(r["shape"] == s for r in rows), 1),
                3,
            )
            for s in shapes
        },
        "grasp_by_shape": {
            s: sorted({r["grasp"] for r in rows if r["shape"] == s}) for s in shapes
        },
        "slip_test_no_drop_by_shape": {
            s: f"{sum(r['slip_ok'] for r in succeeded if r['shape'] == s)}/"
            f"{sum(r['shape'] == s for r in succeeded)}"
            for s in shapes
        },
        "failures": [f"{r['trial']}: {r['reason']}" for r in rows if not r["success"]],
        "seed": args.seed,
        "target_force_n": args.target_force,
        "max_force_n": args.max_force,
        "lift_commanded_m": args.lift_m,
        "rise_required_m": args.rise_m,
        "wall_s": round(wall_s, 1),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--start", type=int, default=0, help="first trial index (shards)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shapes", default="box,cylinder,sphere")
    parser.add_argument("--target-force", type=float, default=10.0)
    parser.add_argument("--max-force", type=float, default=20.0)
    parser.add_argument("--lift-m", type=float, default=0.12, help="commanded lift [m]")
    parser.add_argument("--rise-m", type=float, default=0.10, help="object rise for success")
    parser.add_argument("--hold-s", type=float, default=5.0)
    parser.add_argument("--slip-hold-s", type=float, default=2.0)
    parser.add_argument("--drop-m", type=float, default=0.02)
    parser.add_argument("--pose-noise-m", type=float, default=0.01)
    parser.add_argument("--yaw-noise-deg", type=float, default=15.0)
    parser.add_argument("--grasp-timeout-s", type=float, default=20.0)
    parser.add_argument("--noslip-iterations", type=int, default=3)
    parser.add_argument(
        "--grasps",
        default="",
        help="SHAPE:GRASP,... forced grasp types (default: the hand's grasp_for_class)",
    )
    parser.add_argument("--rows-out", help="append each trial's row as a JSON line here")
    parser.add_argument(
        "--summarize", nargs="+", help="print the table and summary of rows files; no trials"
    )
    args = parser.parse_args(argv)
    args.grasp = dict(item.split(":") for item in args.grasps.split(",") if item)
    print(
        "in-process lockstep: humanoid_sim Simulation (fixed base) + tactile_driver "
        "SkinProcessor + dexterous_hand_ctrl GraspController, no DDS"
    )
    print(HEADER)
    wall = time.monotonic()
    if args.summarize:
        rows = [json.loads(line) for path in args.summarize for line in open(path) if line.strip()]
        rows.sort(key=lambda r: r["trial"])
        for row in rows:
            print_row(row)
        print(json.dumps(summarize(rows, args, sum(r.get("wall_s", 0.0) for r in rows))))
        return 0
    from dexterous_hand_ctrl.sim_loop import SimGraspLoop

    loop = SimGraspLoop(
        ROOT / "config/robots/g1_dex3.yaml",
        ROOT / "config/scenes/grasp_bench.yaml",
        noslip_iterations=args.noslip_iterations,
    )
    rng = np.random.default_rng(args.seed)
    shapes = args.shapes.split(",")
    rows = []
    for index in range(args.start + args.trials):
        trial = sample_trial(rng, shapes[index % len(shapes)], args)
        if index < args.start:
            continue  # the same random sequence for every shard
        began = time.monotonic()
        row = run_trial(loop, index, trial, args)
        row["wall_s"] = round(time.monotonic() - began, 1)
        rows.append(row)
        print_row(row)
        if args.rows_out:
            with open(args.rows_out, "a") as stream:
                stream.write(json.dumps(row, default=float) + "\n")
    print(json.dumps(summarize(rows, args, time.monotonic() - wall)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
