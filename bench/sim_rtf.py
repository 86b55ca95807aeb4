#!/usr/bin/env python3
"""Real-time factor of the simulated G1 (humanoid_sim), printed as a table and a final JSON line.

Cases, each over the same span of simulated time, robot standing in its scene:
  physics          mj_step only (control period 2 ms)
  sensors          + every sensor read each period: joints, IMU, ankle wrenches, tactile skins
                   (500 Hz) and ground truth (100 Hz)  <- goal >= 10x
  sensors+camera   + RGB-D 640x480 rendering at 15 Hz of sim time            <- goal >= 2x
  node             the ROS 2 node in lockstep free-run (no sources), publishing everything
                   but the camera, RTF taken from sim time over wall time
  node+camera      the same with the camera at 15 Hz

Ratios to the physics-only case are measured in the same run; the load average is printed,
because these machines are shared.

Usage: bench/sim_rtf.py [--sim-seconds 10] [--skip-node]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src" / "humanoid_sim"))

from humanoid_sim.core.robot_description import load_robot_description  # noqa: E402
from humanoid_sim.core.scene import load_scene  # noqa: E402
from humanoid_sim.core.simulation import Simulation  # noqa: E402


def core_case(sim: Simulation, sim_seconds: float, sensors: bool, camera=None) -> float:
    steps = int(round(sim_seconds / sim.control_period))
    camera_every = int(round(1.0 / (15.0 * sim.control_period)))
    start = time.perf_counter()
    for step in range(steps):
        sim.step()
        if sensors:
            sim.joint_state()
            sim.imu()
            sim.foot_wrench("left")
            sim.foot_wrench("right")
            sim.tactile_readings()
            if step % 5 == 0:
                sim.base_state()
                sim.object_states()
        if camera is not None and step % camera_every == 0:
            camera.render(sim.model, sim.data)
    return sim_seconds / (time.perf_counter() - start)


def node_case(sim_seconds: float, camera_hz: float) -> float:
    """Run sim_node in lockstep free-run and read its sim time from /clock."""
    env = dict(os.environ)
    env.setdefault("ROS_DOMAIN_ID", str(90 + os.getpid() % 10))
    env["FASTDDS_BUILTIN_TRANSPORTS"] = "LARGE_DATA"
    probe = ROOT / "bench" / "_clock_probe.py"
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "humanoid_sim.node",
            "--ros-args",
            "--params-file",
            str(ROOT / "config" / "humanoid_sim.yaml"),
            "-p",
            "mode:=lockstep",
            "-p",
            f"camera_rate_hz:={camera_hz}",
            "-p",
            "diagnostics_rate_hz:=1.0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out = subprocess.run(
            [sys.executable, str(probe), str(sim_seconds)],
            env=env,
            capture_output=True,
            text=True,
            timeout=sim_seconds * 20 + 60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"clock probe failed: {out.stderr[-2000:]}")
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        node.send_signal(2)
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-seconds", type=float, default=10.0)
    parser.add_argument("--skip-node", action="store_true", help="only the in-process cases")
    args = parser.parse_args()
    robot = load_robot_description(ROOT / "config/robots/g1_dex3.yaml")
    scene = load_scene(ROOT / "config/scenes/table_objects.yaml")
    results = {}
    load_before = os.getloadavg()
    sim = Simulation(robot, scene, seed=0)
    results["physics"] = core_case(sim, args.sim_seconds, sensors=False)
    sim.reset(0)
    results["sensors"] = core_case(sim, args.sim_seconds, sensors=True)
    sim.reset(0)
    try:
        from humanoid_sim.core.camera import RgbdCamera

        camera = RgbdCamera(sim.model, sim.built.camera_id, robot.camera)
        results["sensors+camera"] = core_case(sim, args.sim_seconds, sensors=True, camera=camera)
        camera.close()
    except Exception as error:  # noqa: BLE001 - report and go on
        print(f"camera case skipped: {error}", file=sys.stderr)
    if not args.skip_node:
        results["node"] = node_case(args.sim_seconds, 0.0)
        results["node+camera"] = node_case(args.sim_seconds, 15.0)
    load_after = os.getloadavg()
    goals = {"sensors": 10.0, "sensors+camera": 2.0}
    print(
        f"\nhumanoid_sim real-time factor over {args.sim_seconds:.0f} s of sim time "
        f"(load average {load_before[0]:.2f} -> {load_after[0]:.2f}, {os.cpu_count()} cores)"
    )
    print(f"{'case':<16}{'RTF':>8}{'vs physics':>12}{'goal':>8}")
    for case, rtf in results.items():
        goal = goals.get(case)
        print(
            f"{case:<16}{rtf:>7.1f}x{rtf / results['physics']:>11.2f}x"
            f"{(f'>={goal:.0f}x' if goal else ''):>8}"
        )
    summary = {
        "bench": "sim_rtf",
        "sim_seconds": args.sim_seconds,
        "rtf": {k: round(v, 2) for k, v in results.items()},
        "goals_met": {k: results.get(k, 0.0) >= g for k, g in goals.items()},
        "loadavg": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
