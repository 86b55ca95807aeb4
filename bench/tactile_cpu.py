#!/usr/bin/env python3
"""CPU per frame of the tactile path, this tree against ``main``: a table and a JSON line.

The simulated G1 (seed 0) stands while the scene's sphere is pressed onto the right index
fingertip with a force that swells and fades (contacts come and go; the other pads stay idle).
Every 5 control steps (100 Hz, as in the whole-robot runs) the bench records the state, then
measures, in thread CPU time (``time.thread_time_ns``, median over all frames):

  sim_read      the simulator's skin model, ``TactileSkinSim.read`` (both hands)
  sim_write     the right hand's TactileFrame written to CDR (``TactileFrameWriter.write``;
                the simulator writes one per hand)
  backend       the driver's sim backend on those bytes (``SimBackend._on_raw`` + ``read``)
  process       ``SkinProcessor.process`` (calibration, baseline, contacts, slip)
  messages      ``SkinMessages.patch`` (the published frame and contact array)
  driver        backend + process + messages

The reference is ``main``: its ``humanoid_sim/core/tactile.py`` is loaded into a temporary module
here, as is its ``humanoid_common/cdr.py`` for the writer (same MuJoCo data, outputs compared
bit for bit), and the driver path runs in a subprocess on
``main``'s ``tactile_driver`` and ``humanoid_common`` sources (``git archive`` into a temporary
directory) on the same recorded frames; its outputs are compared with this tree's (bytes of
both messages, decoded). Needs the built workspace (``. tools/env.sh``).

Driver medians are over ``--rounds`` runs per side, alternating reference and new, each in a
fresh process.

Usage: bench/tactile_cpu.py [--frames 600] [--rounds 3] [--ref main]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE_YAML = ROOT / "config" / "scenes" / "table_objects.yaml"
SKIN = "right_hand"
PATHS = ("backend", "process", "messages", "driver")


# ------------------------------------------------------------------------------ simulation
def _load_module(name: str, source: str):
    path = pathlib.Path(tempfile.mkdtemp(prefix="tactile_cpu_")) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def record(frames: int, ref: str):
    """Run the sim; time old and new skin reads on each frame; return the right hand's bytes."""
    import mujoco
    from humanoid_common.cdr import TactileFrameWriter

    from humanoid_sim import ros_conversions as conv
    from humanoid_sim.core import tactile as new_tactile
    from humanoid_sim.core.robot_description import load_robot_description
    from humanoid_sim.core.scene import load_scene
    from humanoid_sim.core.simulation import Simulation

    old_source = subprocess.run(
        ["git", "show", f"{ref}:src/humanoid_sim/humanoid_sim/core/tactile.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    old_tactile = _load_module("_reference_sim_tactile", old_source)
    old_cdr = _load_module(
        "_reference_cdr",
        subprocess.run(
            ["git", "show", f"{ref}:src/humanoid_common/humanoid_common/cdr.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout,
    )
    robot = load_robot_description(ROBOT_YAML)
    sim = Simulation(robot, load_scene(SCENE_YAML), seed=0)
    model, data = sim.model, sim.data
    old = old_tactile.TactileSkinSim(model, data, robot.skins)
    new = new_tactile.TactileSkinSim(model, data, robot.skins)
    layouts = new.layouts[SKIN]
    layout = next(lay for lay in layouts if lay.spec.name == "right_index_tip")
    base_link = robot.skins[[s.name for s in robot.skins].index(SKIN)].base_link
    pad_layouts = [conv.pad_layout(lay) for lay in layouts]
    writer = TactileFrameWriter(base_link, SKIN, pad_layouts, shear=True)
    old_writer = old_cdr.TactileFrameWriter(
        base_link, SKIN, [old_cdr.PadLayout(*vars(lay).values()) for lay in pad_layouts], True
    )
    sphere = sim.built.object_bodies["sphere"]
    radius = 0.03

    def pad_frame():
        rotation = data.xmat[layout.body_id].reshape(3, 3)
        return data.xpos[layout.body_id] + rotation @ layout.origin_link, (
            rotation @ layout.rotation_link_pad
        )

    origin, axes = pad_frame()
    adr = sim.built.object_qpos["sphere"]
    data.qpos[adr : adr + 7] = [*(origin + axes[:, 2] * (radius + 0.001)), 1, 0, 0, 0]
    mujoco.mj_forward(model, data)
    weight = np.array([0.0, 0.0, model.body_mass[sphere] * 9.81])
    times = {"sim_read_old": [], "sim_read": [], "sim_write_old": [], "sim_write": []}
    blobs, contacts, mismatches = [], [], 0
    step = 0
    while len(blobs) < frames:
        origin, _ = pad_frame()
        toward = origin - data.xpos[sphere]
        toward /= np.linalg.norm(toward)
        push = 1.5 + 1.5 * np.sin(2 * np.pi * step * sim.control_period / 1.5)
        sim.apply_wrench("sphere", push * toward + weight, [0, 0, 0], sim.control_period)
        sim.step()
        step += 1
        if step % 5:
            continue
        # Alternate which model reads first (caches warmed by the first read).
        if len(blobs) % 2:
            t0 = time.thread_time_ns()
            reference = old.read(model, data)
            t1 = time.thread_time_ns()
            readings = new.read(model, data)
            t2 = time.thread_time_ns()
            old_ns, new_ns = t1 - t0, t2 - t1
        else:
            t0 = time.thread_time_ns()
            readings = new.read(model, data)
            t1 = time.thread_time_ns()
            reference = old.read(model, data)
            t2 = time.thread_time_ns()
            old_ns, new_ns = t2 - t1, t1 - t0
        pads = readings[SKIN]
        arrays = (
            int(round(data.time * 1e9)),
            len(blobs),
            [r.pressure_kpa for r in pads],
            [r.shear_x_kpa for r in pads],
            [r.shear_y_kpa for r in pads],
        )
        if len(blobs) % 2:
            t0 = time.thread_time_ns()
            reference_blob = old_writer.write(*arrays)
            t1 = time.thread_time_ns()
            blob = writer.write(*arrays)
            t2 = time.thread_time_ns()
            old_write_ns, new_write_ns = t1 - t0, t2 - t1
        else:
            t0 = time.thread_time_ns()
            blob = writer.write(*arrays)
            t1 = time.thread_time_ns()
            reference_blob = old_writer.write(*arrays)
            t2 = time.thread_time_ns()
            old_write_ns, new_write_ns = t2 - t1, t1 - t0
        mismatches += blob != reference_blob
        times["sim_read_old"].append(old_ns)
        times["sim_read"].append(new_ns)
        times["sim_write"].append(new_write_ns)
        times["sim_write_old"].append(old_write_ns)
        for skin, new_pads in readings.items():
            for a, b in zip(reference[skin], new_pads, strict=True):
                for x, y in zip(
                    (a.pressure_kpa, a.shear_x_kpa, a.shear_y_kpa),
                    (b.pressure_kpa, b.shear_x_kpa, b.shear_y_kpa),
                    strict=True,
                ):
                    if x.shape != y.shape or not np.array_equal(x, y):  # bit for bit
                        mismatches += 1
        contacts.append(data.ncon)
        blobs.append(bytes(blob))
    return blobs, times, mismatches, float(np.mean(contacts))


# ---------------------------------------------------------------------------------- driver
def run_driver(blobs: list[bytes]) -> tuple[dict[str, list[int]], list[tuple[bytes, bytes]]]:
    """The driver's per-frame path on recorded frames (the tactile_driver importable now)."""
    from tactile_driver.backends.base import BackendContext, PadShape
    from tactile_driver.backends.sim_backend import SimBackend
    from tactile_driver.core.calibration_file import default_skin_calibration
    from tactile_driver.core.pad_geometry import load_skin_geometry
    from tactile_driver.core.pipeline import ProcessorParams, SkinProcessor
    from tactile_driver.node import TactileDriverNode
    from tactile_driver.skin_messages import SkinMessages

    geometry = load_skin_geometry(ROBOT_YAML, SKIN)
    processor = SkinProcessor(geometry, default_skin_calibration(geometry), ProcessorParams())
    context = BackendContext(
        skin=SKIN,
        board_id=2,
        pads=tuple(PadShape(p.name, p.rows, p.cols) for p in geometry.pads),
        node=object(),
    )
    backend = SimBackend({}, context)
    templates = [TactileDriverNode._pad_template(None, p) for p in geometry.pads]
    messages = SkinMessages(SKIN, geometry.base_link, templates, [True] * len(geometry.pads))
    assert messages.fast, messages.fast_error
    times = {path: [] for path in PATHS}
    outputs = []
    for blob in blobs:
        t0 = time.thread_time_ns()
        backend._on_raw(blob)
        (frame,) = backend.read(0.0)
        t1 = time.thread_time_ns()
        output = processor.process(frame, frame.stamp_ns * 1e-9)
        t2 = time.thread_time_ns()
        out = messages.patch(output, frame.stamp_ns, frame.sequence)
        t3 = time.thread_time_ns()
        times["backend"].append(t1 - t0)
        times["process"].append(t2 - t1)
        times["messages"].append(t3 - t2)
        times["driver"].append(t3 - t0)
        outputs.append(out)
    return times, outputs


def _reference_driver(blobs: list[bytes], ref: str, workdir: pathlib.Path):
    tree = workdir / "ref"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref, "src/tactile_driver", "src/humanoid_common"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    (workdir / "frames.pkl").write_bytes(pickle.dumps(blobs))
    return tree


def _driver_process(workdir: pathlib.Path, tree: pathlib.Path | None):
    """run_driver in a fresh process, on ``tree``'s sources (None: this tree's)."""
    env = dict(os.environ)
    base = (ROOT if tree is None else tree).resolve()
    roots = [str(base / "src" / "tactile_driver"), str(base / "src" / "humanoid_common")]
    expect = str(base / "src")
    env["PYTHONPATH"] = os.pathsep.join(
        roots + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    subprocess.run(
        [sys.executable, __file__, "--driver-only", str(workdir), "--expect-root", expect],
        env=env,
        check=True,
    )
    return pickle.loads((workdir / "result.pkl").read_bytes())


def _same_messages(a: tuple[bytes, bytes], b: tuple[bytes, bytes]) -> bool:
    if a == b:
        return True
    # The serializer's alignment padding is not deterministic: compare decoded messages.
    from rclpy.serialization import deserialize_message

    from humanoid_interfaces.msg import ContactArray, TactileFrame

    return all(
        deserialize_message(x, kind) == deserialize_message(y, kind)
        for x, y, kind in zip(a, b, (TactileFrame, ContactArray), strict=True)
    )


def _median_us(values) -> float:
    return float(np.median(values)) * 1e-3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--ref", default="main", help="git revision of the reference")
    parser.add_argument("--rounds", type=int, default=3, help="driver runs per side")
    parser.add_argument("--driver-only", help=argparse.SUPPRESS)
    parser.add_argument("--expect-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver_only:  # the reference subprocess
        import humanoid_common
        import tactile_driver

        for module in (tactile_driver, humanoid_common):
            assert str(pathlib.Path(module.__file__).resolve()).startswith(args.expect_root)
        workdir = pathlib.Path(args.driver_only)
        blobs = pickle.loads((workdir / "frames.pkl").read_bytes())
        result = run_driver(blobs)
        (workdir / "result.pkl").write_bytes(pickle.dumps(result))
        return 0

    blobs, sim_times, sim_mismatches, mean_contacts = record(args.frames, args.ref)
    old_times = {path: [] for path in PATHS}
    new_times = {path: [] for path in PATHS}
    with tempfile.TemporaryDirectory(prefix="tactile_cpu_") as tmp:
        tree = _reference_driver(blobs, args.ref, pathlib.Path(tmp))
        # Rounds alternate between the reference and this tree, each in a fresh process.
        for _ in range(args.rounds):
            for source, times in ((tree, old_times), (None, new_times)):
                round_times, outputs = _driver_process(pathlib.Path(tmp), source)
                for path in PATHS:
                    times[path] += round_times[path]
                if source is None:
                    new_outputs = outputs
                else:
                    old_outputs = outputs
    driver_mismatches = sum(
        not _same_messages(a, b) for a, b in zip(old_outputs, new_outputs, strict=True)
    )
    rows = [("sim_read", sim_times["sim_read_old"], sim_times["sim_read"])]
    rows += [("sim_write", sim_times["sim_write_old"], sim_times["sim_write"])]
    rows += [(path, old_times[path], new_times[path]) for path in PATHS]
    load = os.getloadavg()
    print(f"{len(blobs)} frames at 100 Hz, {mean_contacts:.1f} MuJoCo contacts on average")
    print(f"{'path':<10} {'ref us':>9} {'new us':>9} {'new/ref':>8}   (thread CPU, median)")
    result = {"frames": len(blobs), "load_avg": [round(v, 2) for v in load]}
    for name, old, new in rows:
        o, n = _median_us(old), _median_us(new)
        print(f"{name:<10} {o:9.1f} {n:9.1f} {n / o:8.2f}")
        result[name] = {"ref_us": round(o, 1), "new_us": round(n, 1), "ratio": round(n / o, 3)}
    result["sim_read_mismatches"] = sim_mismatches
    result["driver_output_mismatches"] = driver_mismatches
    print(f"outputs differing from {args.ref}: sim {sim_mismatches}, driver {driver_mismatches}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(json.dumps(result))
    return 0 if sim_mismatches == 0 and driver_mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
