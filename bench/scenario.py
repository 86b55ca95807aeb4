#!/usr/bin/env python3
"""The fetch scenario N times on randomized scenes: success rate and whole-stack real time.

Each trial is one run of tools/fetch_run.py, the code path of `make demo`: the `sim` stack of
launch/stack.yaml as it is configured (the simulator in lockstep with the leg and hand
controllers, camera at 15 Hz of sim time) with the simulator seeded ``--seed + trial`` (object
poses drawn from the scene's ranges), the run recorded, /brain/start, watched to DONE / ABORTED
/ timeout, everything stopped. Goals: success >= 80 %, median whole-stack real-time factor
>= 1.0. In lockstep the simulator steps as fast as the closed loop answers, so the real-time
factor is the whole stack's speed; with ``--arg sim_mode:=paced`` the simulator never runs
ahead of ``--target-rtf`` (default 1) and 1.0 means the stack kept the wall clock.

Prints one row per trial (success, reason, task time, steps, peak grasp force, real-time
factor, load average) and a final JSON line; the load average is printed because these
machines are shared. The JSON line also gives each node's CPU seconds per simulated second
(the cores it needs to run in real time, which depends little on the other tenants' load) and
their sum, to compare with the machine's cores.

Usage: bench/scenario.py [--trials 20] [--seed 0] [--timeout 180] [--out DIR] [--keep-bags]
       [--stacks sim] [--arg NAME:=VALUE ...] [--set NODE.PARAM:=VALUE ...] [--target-rtf R]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "test"))

import fetch_run  # noqa: E402

from harness.domain import configure_environment  # noqa: E402

COLUMNS = "{:>5} {:>6} {:>7} {:>8} {:>6} {:>8} {:>6} {:>6}  {}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first trial")
    parser.add_argument("--timeout", type=float, default=180.0, help="per trial [s of sim time]")
    parser.add_argument("--out", default=str(ROOT / "reports" / "bench_scenario"))
    parser.add_argument("--keep-bags", action="store_true", help="keep each trial's recording")
    parser.add_argument("--stacks", default="sim", help="comma-separated stacks to start")
    parser.add_argument(
        "--arg", action="append", default=[], metavar="NAME:=VALUE", help="launch argument"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NODE.PARAM:=VALUE",
        help="override a node's parameter (diagnosis only: the goals are for the stack as is)",
    )
    parser.add_argument(
        "--target-rtf",
        type=float,
        help="paced mode (--arg sim_mode:=paced): the simulator's real_time_factor",
    )
    args = parser.parse_args()
    if args.trials < 1:
        parser.error("--trials must be >= 1")
    try:
        args.arguments = fetch_run.parse_launch_arguments(args.arg)
        args.overrides = fetch_run.parse_parameter_overrides(args.set)
    except ValueError as error:
        parser.error(str(error))
    if args.target_rtf is not None:
        args.overrides.setdefault("humanoid_sim", {})["real_time_factor"] = args.target_rtf
    args.stacks = tuple(s for s in args.stacks.split(",") if s)
    return args


def main() -> int:
    args = parse_args()
    if not any(fetch_run.stack_has_brain(stack) for stack in args.stacks):
        print(
            f"scenario: no stack of {list(args.stacks)} in launch/stack.yaml starts the brain: "
            "the fetch scenario cannot run yet",
            file=sys.stderr,
        )
        return 2
    fetch_run.interrupt_on_sigterm()
    environment = configure_environment()
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"fetch scenario: {args.trials} trials, seeds {args.seed}..{args.seed + args.trials - 1}, "
        f"stacks {list(args.stacks)} {args.arguments or ''}, {os.cpu_count()} cores, "
        f"ROS_DOMAIN_ID {environment.domain_id}"
    )
    print(COLUMNS.format("trial", "seed", "success", "time_s", "steps", "force_n", "rtf",
                         "load", "reason"))  # fmt: skip
    results = []
    for trial in range(args.trials):
        seed = args.seed + trial
        work = out / f"trial_{trial:02d}"
        shutil.rmtree(work, ignore_errors=True)
        options = fetch_run.FetchOptions(
            work_dir=work,
            seed=seed,
            timeout_s=args.timeout,
            stacks=args.stacks,
            stack_arguments=args.arguments,
            node_overrides=args.overrides,
        )
        started = time.monotonic()
        result = fetch_run.run_fetch(options)
        results.append(result)
        interrupted = result.reason == "interrupted"
        if result.bag and not args.keep_bags:
            shutil.rmtree(result.bag, ignore_errors=True)
        (work / "result.json").write_text(json.dumps(result.row(), indent=2))
        force = "-" if result.peak_grasp_force_n is None else f"{result.peak_grasp_force_n:.2f}"
        print(
            COLUMNS.format(
                trial,
                seed,
                "yes" if result.success else "NO",
                f"{result.task_time_s:.1f}",
                "-" if result.steps is None else result.steps,
                force,
                f"{result.real_time_factor:.3f}",
                f"{result.load_average:.1f}",
                f"{result.reason[:70]} ({time.monotonic() - started:.0f} s wall)",
            ),
            flush=True,
        )
        if interrupted:
            break
    successes = sum(r.success for r in results)
    measured = [r.real_time_factor for r in results if r.wall_time_s > 0]
    per_node = _mean_cpu(results)
    summary = {
        "bench": "scenario",
        "trials": len(results),
        "successes": successes,
        "success_rate": round(successes / len(results), 3),
        "median_real_time_factor": round(statistics.median(measured), 3) if measured else None,
        "min_real_time_factor": round(min(measured), 3) if measured else None,
        "median_task_time_s": round(statistics.median(r.task_time_s for r in results), 2),
        "stack_arguments": args.arguments,
        "parameter_overrides": args.overrides,
        "load_average": round(statistics.mean(r.load_average for r in results), 2),
        "cpu_count": os.cpu_count(),
        "cpu_s_per_sim_s": per_node,
        "cores_for_real_time": round(sum(per_node.values()), 2),
        "lockstep_ms": _median_lockstep(results),
        "clean_exits": sum(all(c == 0 for c in r.node_exit_codes.values()) for r in results),
        "goals": {"success_rate": 0.8, "median_real_time_factor": 1.0},
    }
    print(json.dumps(summary))
    return 0


def _median_lockstep(results) -> dict[str, float]:
    """Median over the trials of each trial's median lockstep figure [ms]: where a period's
    wall time goes (period_read/publish/wait/step_ms) and each source's answer latency."""
    keys = sorted({key for r in results for key in r.lockstep_ms})
    return {
        key: round(
            statistics.median(r.lockstep_ms[key] for r in results if key in r.lockstep_ms), 2
        )
        for key in keys
    }


def _mean_cpu(results) -> dict[str, float]:
    """Mean CPU seconds per sim second of each node over the trials that measured it."""
    names = sorted({name for r in results for name in r.cpu_per_sim_second})
    return {
        name: round(
            statistics.mean(
                r.cpu_per_sim_second[name] for r in results if name in r.cpu_per_sim_second
            ),
            3,
        )
        for name in names
    }


if __name__ == "__main__":
    sys.exit(main())
