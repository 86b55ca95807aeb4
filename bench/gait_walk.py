#!/usr/bin/env python3
"""Competence of the walking controller (biped_gait) on the simulated G1: a table and a final
JSON line.

The core controller (biped_gait.core, the code the node runs) drives the ROS-free simulator
(humanoid_sim.core.Simulation) in lockstep, one control step per 2 ms state, on an open floor.
The controller sees only the joint encoders, the IMU and the ankle force/torque sensors; the
ground truth (pelvis pose, fall) is read here for evaluation only. With ``--node`` one walk also
goes through the real gait node and simulator node over DDS (lockstep).

Scenarios (the issue's figures):
  stand       60 s standing: pelvis drift < 2 cm
  forward     10 m at >= 0.4 m/s, no fall; /odom drift after 10 m < 5 %
  backward    0.2 m/s;  sideways  0.15 m/s (left and right);  turn  0.5 rad/s in place
  stop        zero command while walking: stepping ends within two steps
  push        50 N for 0.2 s on the torso, lateral and sagittal, at random gait phases while
              walking at 0.3 m/s: survival >= 90 % of 20 trials
  friction    floor friction 0.6 and 1.0, walking 0.4 m/s
  payload     +3 kg and -3 kg on the torso (unknown to the controller), walking 0.4 m/s

  stop_and_go random sequences of walks, turns and stops (a coordinator approaching a table):
              walked without a fall >= 90 % of 16

Usage: bench/gait_walk.py [--only stand,forward,...] [--pushes 20] [--stop-and-go 16] [--jobs 2]
       [--control-rate-hz 500] [--first-order-hold] [--set KEY=VALUE] [--node]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import pathlib
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _gait_sim import add_torso_payload, apply, make_controller, make_sim, readings  # noqa: E402

from biped_gait.core.config import GaitConfig  # noqa: E402

FIRST_ORDER_HOLD = False  # --first-order-hold: the simulated drives follow v_ref between commands
DT = 0.002  # control period [s]; --control-rate-hz (the whole chain runs the gait at 100 Hz)
COMMAND_DELAY_STEPS = 0  # --command-delay-steps: periods before a command acts
STAND_S = 1.5  # stand-up ramp before walking


def _yaw(quaternion) -> float:
    w, x, y, z = quaternion
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


OVERRIDES: dict = {}  # --set: controller settings changed for experiments


def gait_config() -> GaitConfig:
    """The default controller settings with the --set overrides ("field" or "group.field")."""
    config = dataclasses.replace(GaitConfig(), dt=DT)
    groups: dict = {}
    top: dict = {}
    for key, value in OVERRIDES.items():
        group, _, field = key.rpartition(".")
        (groups.setdefault(group, {}) if group else top)[field] = value
    for group, fields in groups.items():
        top[group] = dataclasses.replace(getattr(config, group), **fields)
    return dataclasses.replace(config, **top)


class Run:
    """One simulated run: sim + controller, stepped in lockstep."""

    def __init__(self, friction=0.9, payload=0.0, seed=0):
        self.sim = make_sim(friction, seed, DT)
        self.sim.first_order_hold = FIRST_ORDER_HOLD
        if payload:
            add_torso_payload(self.sim, payload)
        self.controller, self.index = make_controller(self.sim, gait_config())
        self.controller.request_stand()
        self.fallen = False
        self.start = self.sim.base_state()
        self.in_flight: collections.deque = collections.deque()

    def tick(self, command=None) -> None:
        sim, controller = self.sim, self.controller
        now = sim.time
        if command is not None:
            controller.commands.set_target(command, now)
        # The command computed from the state at t acts from t + COMMAND_DELAY_STEPS periods
        # on (humanoid_sim's lockstep_command_delay_steps: the pipelined lockstep).
        self.in_flight.append(controller.step(readings(sim, self.index), now, DT))
        while len(self.in_flight) > COMMAND_DELAY_STEPS:
            apply(sim, self.in_flight.popleft())
        sim.step()
        if sim.has_fallen():
            self.fallen = True

    def run(self, seconds: float, command=None, until=None) -> bool:
        """Advance; False once fallen or ``until(self)`` is true."""
        for _ in range(int(round(seconds / DT))):
            self.tick(command)
            if self.fallen or (until is not None and until(self)):
                return not self.fallen
        return not self.fallen

    def walk(self) -> None:
        self.run(STAND_S)
        accepted, reason = self.controller.request_walk()
        assert accepted, reason

    def odom_and_truth(self):
        base = self.sim.base_state()
        est = self.controller.estimator.state
        return est.base_position.copy(), base.position.copy(), _yaw(base.orientation)


def scenario_stand(seconds=60.0) -> dict:
    run = Run()
    run.run(STAND_S)
    p0 = run.sim.base_state().position.copy()
    run.run(seconds)
    drift = float(np.linalg.norm(run.sim.base_state().position[:2] - p0[:2]))
    return {
        "fallen": run.fallen,
        "pelvis_drift_m": drift,
        "pass": (not run.fallen) and drift < 0.02,
    }


def scenario_forward(speed=0.45, distance=10.0) -> dict:
    run = Run()
    run.walk()
    odom0, truth0, _ = run.odom_and_truth()
    started = run.sim.time
    samples = []

    def reached(r):
        p = r.sim.base_state().position
        samples.append((r.sim.time, p[0]))
        return p[0] - truth0[0] >= distance

    run.run(120.0, [speed, 0.0, 0.0], reached)
    odom, truth, _ = run.odom_and_truth()
    elapsed = run.sim.time - started
    travelled = float(truth[0] - truth0[0])
    times, xs = np.array(samples).T
    steady = times > started + 3.0
    speed_steady = float(np.polyfit(times[steady], xs[steady], 1)[0]) if steady.sum() > 10 else 0.0
    odom_error = float(np.linalg.norm((odom - odom0)[:2] - (truth - truth0)[:2]))
    return {
        "fallen": run.fallen,
        "distance_m": travelled,
        "time_s": elapsed,
        "mean_speed_mps": travelled / elapsed,
        "steady_speed_mps": speed_steady,
        "odom_error_m": odom_error,
        "odom_drift_pct": 100.0 * odom_error / max(travelled, 1e-9),
        "lateral_drift_m": float(truth[1] - truth0[1]),
        "pass": (not run.fallen) and travelled >= distance and speed_steady >= 0.4,
    }


def scenario_velocity(name, command, seconds=15.0) -> dict:
    run = Run()
    run.walk()
    odom0, truth0, _ = run.odom_and_truth()
    run.run(2.0, command)  # accelerate
    _, p1, yaw1 = run.odom_and_truth()
    t1 = run.sim.time
    turned = {"total": 0.0, "last": yaw1}

    def track(r):
        yaw = _yaw(r.sim.base_state().orientation)
        turned["total"] += math.remainder(yaw - turned["last"], 2 * math.pi)
        turned["last"] = yaw
        return False

    run.run(seconds, command, track)
    odom, truth, _ = run.odom_and_truth()
    elapsed = run.sim.time - t1
    velocity = (truth[:2] - p1[:2]) / elapsed
    achieved = np.array([velocity[0], velocity[1], turned["total"] / elapsed])
    target = np.array(command)
    nonzero = np.abs(target) > 1e-9
    ratio = float((achieved[nonzero] / target[nonzero]).min())
    result = {
        "fallen": run.fallen,
        "vx_mps": float(achieved[0]),
        "vy_mps": float(achieved[1]),
        "turn_rate_radps": float(achieved[2]),
        "achieved_ratio": ratio,
        "odom_error_m": float(np.linalg.norm((odom - odom0)[:2] - (truth - truth0)[:2])),
        "pass": (not run.fallen) and ratio > 0.75,
    }
    return {name: result}


def scenario_stop(speed=0.4) -> dict:
    run = Run()
    run.walk()
    run.run(5.0, [speed, 0.0, 0.0])
    steps_at_zero = run.controller.pattern.step_count
    run.run(10.0, [0.0, 0.0, 0.0], lambda r: not r.controller.pattern.walking)
    steps = run.controller.pattern.step_count - steps_at_zero
    return {
        "fallen": run.fallen,
        "steps_after_zero_command": steps,
        "pass": (not run.fallen) and steps <= 2,
    }


def push_trial(trial: int, force=50.0, speed=0.3, body="torso_link", seed=0) -> dict:
    rng = np.random.default_rng(seed * 1000 + trial)
    direction = ("left", "right", "forward", "backward")[trial % 4]
    vector = {"left": (0, 1, 0), "right": (0, -1, 0), "forward": (1, 0, 0), "backward": (-1, 0, 0)}
    run = Run()
    run.walk()
    run.run(3.0 + rng.uniform(0.0, 0.45), [speed, 0.0, 0.0])  # a random gait phase
    phase = (run.controller.report.support, round(run.controller.report.phase, 2))
    run.sim.apply_wrench(body, np.array(vector[direction]) * force, [0, 0, 0], 0.2)
    run.run(4.0, [speed, 0.0, 0.0])
    return {"trial": trial, "direction": direction, "phase": phase, "fallen": run.fallen}


def stop_and_go_trial(trial: int) -> dict:
    """One random command sequence: five commands of 0.5-2.5 s, each a forward walk with some
    side-step and turn, a stop, or a straight forward/backward walk, then a stop for 2 s (what
    a coordinator walking to a table and correcting its approach sends)."""
    rng = np.random.default_rng(7000 + trial)
    run = Run()
    run.walk()
    commands = []
    for _ in range(5):
        kind = int(rng.integers(3))
        if kind == 0:
            command = [rng.uniform(0.1, 0.4), rng.uniform(-0.1, 0.1), rng.uniform(-0.4, 0.4)]
        elif kind == 1:
            command = [0.0, 0.0, 0.0]
        else:
            command = [rng.uniform(-0.15, 0.3), 0.0, 0.0]
        commands.append((float(rng.uniform(0.5, 2.5)), command))
    commands.append((2.0, [0.0, 0.0, 0.0]))
    fell_at = None
    for seconds, command in commands:
        if not run.run(seconds, command):
            fell_at = round(run.sim.time, 2)
            break
    return {"trial": trial, "fallen": run.fallen, "fell_at_s": fell_at}


def scenario_condition(name, friction=0.9, payload=0.0, speed=0.4, seconds=12.0) -> dict:
    run = Run(friction=friction, payload=payload)
    run.walk()
    _, truth0, _ = run.odom_and_truth()
    run.run(seconds, [speed, 0.0, 0.0])
    _, truth, _ = run.odom_and_truth()
    return {
        name: {
            "fallen": run.fallen,
            "distance_m": float(truth[0] - truth0[0]),
            "pass": not run.fallen,
        }
    }


def node_walk(seconds=20.0, speed=0.4) -> dict:
    """The same controller as a node, with the simulator node, over DDS in lockstep."""
    from _gait_node_run import run_node_walk

    return run_node_walk(seconds, speed)


JOBS = {
    "stand": lambda a: {"stand": scenario_stand(a.stand_seconds)},
    "forward": lambda a: {"forward": scenario_forward(a.speed)},
    "backward": lambda a: scenario_velocity("backward", (-0.2, 0.0, 0.0)),
    "sideways_left": lambda a: scenario_velocity("sideways_left", (0.0, 0.15, 0.0)),
    "sideways_right": lambda a: scenario_velocity("sideways_right", (0.0, -0.15, 0.0)),
    "turn": lambda a: scenario_velocity("turn", (0.0, 0.0, 0.5)),
    "stop": lambda a: {"stop": scenario_stop()},
    "friction_0.6": lambda a: scenario_condition("friction_0.6", friction=0.6),
    "friction_1.0": lambda a: scenario_condition("friction_1.0", friction=1.0),
    "payload_+3kg": lambda a: scenario_condition("payload_+3kg", payload=3.0),
    "payload_-3kg": lambda a: scenario_condition("payload_-3kg", payload=-3.0),
}


def _job(item):
    global DT, FIRST_ORDER_HOLD, COMMAND_DELAY_STEPS
    name, args = item
    DT = 1.0 / args.control_rate_hz
    FIRST_ORDER_HOLD = args.first_order_hold
    COMMAND_DELAY_STEPS = args.command_delay_steps
    OVERRIDES.update(_parse_overrides(args.set))
    if name.startswith("stopgo_"):
        return {"stopgo": stop_and_go_trial(int(name[7:]))}
    if name.startswith("push_"):
        return {"push": push_trial(int(name[5:]), args.force, body=args.push_body)}
    return JOBS[name](args)


def _parse_overrides(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        value: object = text
        for kind in (int, float):
            try:
                value = kind(text)
                break
            except ValueError:
                continue
        if text in ("true", "false"):
            value = text == "true"
        out[key] = value
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument(
        "--stop-and-go", type=int, default=16, help="random stop-and-go command sequences"
    )
    parser.add_argument("--force", type=float, default=50.0)
    parser.add_argument("--push-body", default="torso_link")
    parser.add_argument("--speed", type=float, default=0.45, help="forward command [m/s]")
    parser.add_argument("--stand-seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--node", action="store_true", help="also walk through the ROS nodes")
    parser.add_argument(
        "--first-order-hold",
        action="store_true",
        help="the simulated joint drives move each target along its commanded velocity "
        "between commands (humanoid_sim's command_hold: first_order)",
    )
    parser.add_argument(
        "--command-delay-steps",
        type=int,
        default=0,
        help="periods between a state and the moment the command computed from it acts "
        "(humanoid_sim's lockstep_command_delay_steps)",
    )
    parser.add_argument(
        "--control-rate-hz",
        type=float,
        default=500.0,
        help="states and commands per second (a multiple of the 2 ms physics step's period; "
        "the whole chain, launch/stack.yaml's sim stack, runs at 100)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a controller setting (GaitConfig field, e.g. stabilizer.dcm_gain=4)",
    )
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(JOBS) + ["push", "stop_and_go"]
    items = [(n, args) for n in names if n in JOBS]
    if "push" in names:
        items += [(f"push_{i}", args) for i in range(args.pushes)]
    if "stop_and_go" in names:
        items += [(f"stopgo_{i}", args) for i in range(args.stop_and_go)]
    load_before = os.getloadavg()
    started = time.perf_counter()
    results, pushes, sequences = {}, [], []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for result in pool.map(_job, items):
            if "push" in result:
                pushes.append(result["push"])
            elif "stopgo" in result:
                sequences.append(result["stopgo"])
            else:
                results.update(result)
    if sequences:
        walked = sum(not q["fallen"] for q in sequences)
        results["stop_and_go"] = {
            "sequences": len(sequences),
            "walked": walked,
            "falls_at_s": {q["trial"]: q["fell_at_s"] for q in sequences if q["fallen"]},
            "pass": walked >= 0.9 * len(sequences),
        }
    if pushes:
        survived = sum(not p["fallen"] for p in pushes)
        by_direction = {}
        for p in pushes:
            by_direction.setdefault(p["direction"], []).append(not p["fallen"])
        results["push"] = {
            "trials": len(pushes),
            "survived": survived,
            "survival_pct": 100.0 * survived / len(pushes),
            "by_direction": {k: f"{sum(v)}/{len(v)}" for k, v in by_direction.items()},
            "force_n": args.force,
            "duration_s": 0.2,
            "body": args.push_body,
            "pass": survived >= 0.9 * len(pushes),
        }
    if args.node:
        results["node_forward"] = node_walk()
    load_after = os.getloadavg()
    print(f"{'scenario':16s} {'pass':5s} figures")
    for name, result in results.items():
        figures = ", ".join(
            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in result.items()
            if k != "pass"
        )
        print(f"{name:16s} {str(result.get('pass', '-')):5s} {figures}")
    summary = {
        "bench": "gait_walk",
        "driver": "core controller + ROS-free simulator (lockstep)"
        + (", plus one walk through the ROS nodes" if args.node else ""),
        "control_rate_hz": args.control_rate_hz,
        "first_order_hold": args.first_order_hold,
        "command_delay_steps": args.command_delay_steps,
        "results": results,
        "wall_s": round(time.perf_counter() - started, 1),
        "settings_changed": _parse_overrides(args.set),
        "loadavg": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(summary, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
