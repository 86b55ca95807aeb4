"""Slip detection on real MuJoCo contacts: the driver's pipeline flags a sliding object in time.

The simulated G1 stands; the scene's sphere is held against the right index fingertip pad by a
2 N push (its weight cancelled), the same press as humanoid_sim's force-conservation test. After
a steady hold, a tangential force larger than friction can resist drags it across the pad. Every
control period the simulator's taxel pressures and shears go through the conversion of the
driver's ``sim`` backend (ideal kPa -> board counts) and the driver's ``SkinProcessor``
(calibration, tare, contacts, slip), exactly what the ROS node runs per frame.

Asserted: no slip event during the steady hold (no false alarm), the sphere really slides
(ground-truth contact point moves on the pad), and the first slip event comes at most 10 ms
after the tangential force starts (an upper bound on the delay from the physical onset, which
can only be later).
"""

from __future__ import annotations

import pathlib

import mujoco
import numpy as np
import pytest

from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.core.scene import load_scene
from humanoid_sim.core.simulation import Simulation
from tactile_driver.backends.sim_backend import pressures_to_counts, shear_to_counts
from tactile_driver.core.calibration_file import default_skin_calibration
from tactile_driver.core.frames import RawFrame, RawPad
from tactile_driver.core.pad_geometry import load_skin_geometry
from tactile_driver.core.pipeline import ProcessorParams, SkinProcessor

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE_YAML = ROOT / "config" / "scenes" / "table_objects.yaml"
PAD = "right_index_tip"
COUNTS_PER_KPA = 30.0  # the sim backend's default sensitivity (gain 1/30 kPa per count)


class Rig:
    """The sim, the right hand's skin processor and the sphere pressed on the index tip."""

    def __init__(self, with_shear: bool):
        self.with_shear = with_shear
        self.sim = Simulation(load_robot_description(ROBOT_YAML), load_scene(SCENE_YAML), seed=0)
        geometry = load_skin_geometry(ROBOT_YAML, "right_hand")
        self.processor = SkinProcessor(
            geometry, default_skin_calibration(geometry), ProcessorParams()
        )
        self.layout = next(
            layout for layout in self.sim.tactile.layouts["right_hand"] if layout.spec.name == PAD
        )
        self.pad_index = [p.name for p in geometry.pads].index(PAD)
        self.sphere = self.sim.built.object_bodies["sphere"]
        self.sequence = 0
        self.events: list[tuple[float, str]] = []

    def pad_frame(self):
        data = self.sim.data
        rotation = data.xmat[self.layout.body_id].reshape(3, 3)
        origin = data.xpos[self.layout.body_id] + rotation @ self.layout.origin_link
        return origin, rotation @ self.layout.rotation_link_pad

    def place_sphere_on_pad(self, radius: float = 0.03) -> None:
        origin, axes = self.pad_frame()
        adr = self.sim.built.object_qpos["sphere"]
        self.sim.data.qpos[adr : adr + 7] = [*(origin + axes[:, 2] * (radius + 0.001)), 1, 0, 0, 0]
        dof = self.sim.model.jnt_dofadr[self.sim.model.body_jntadr[self.sphere]]
        self.sim.data.qvel[dof : dof + 6] = 0.0
        mujoco.mj_forward(self.sim.model, self.sim.data)

    def step(self, push_n: float, drag_n: float = 0.0):
        """One control period with the press (and the drag along the pad's x axis).

        While pressed, the sphere's velocity and spin are damped, standing in for the other
        fingers of a grasp: a lone push on a rounded fingertip lets the sphere rock from side
        to side, which is real rolling (and detected as slip), not a steady hold.
        """
        sim = self.sim
        if push_n or drag_n:
            origin, axes = self.pad_frame()
            toward = origin - sim.data.xpos[self.sphere]
            toward /= np.linalg.norm(toward)
            weight = np.array([0.0, 0.0, sim.model.body_mass[self.sphere] * 9.81])
            velocity = np.zeros(6)  # (angular, linear) in the world frame
            mujoco.mj_objectVelocity(
                sim.model, sim.data, mujoco.mjtObj.mjOBJ_BODY, self.sphere, velocity, 0
            )
            force = push_n * toward + weight + drag_n * axes[:, 0] - 2.0 * velocity[3:]
            torque = -2e-3 * velocity[:3]
            sim.apply_wrench("sphere", force, torque, sim.control_period)
        sim.step()
        pads = []
        for index, reading in enumerate(sim.tactile_readings()["right_hand"]):
            spec = sim.tactile.layouts["right_hand"][index].spec
            pads.append(
                RawPad(
                    index,
                    spec.rows,
                    spec.cols,
                    pressures_to_counts(reading.pressure_kpa, 1000.0, COUNTS_PER_KPA),
                    shear_to_counts(reading.shear_x_kpa, reading.shear_y_kpa, COUNTS_PER_KPA)
                    if self.with_shear
                    else None,
                )
            )
        self.sequence += 1
        frame = RawFrame(2, self.sequence, self.sequence * 2000, pads)
        output = self.processor.process(frame, sim.time)
        for pad in output.pads:
            if pad.slip:
                self.events.append((sim.time, pad.name))
        return output

    def contact_point_on_pad(self) -> np.ndarray | None:
        """Mean sphere-pad contact position in the pad frame [m] (ground truth)."""
        model, data = self.sim.model, self.sim.data
        origin, axes = self.pad_frame()
        points = [
            (data.contact[i].pos - origin) @ axes
            for i in range(data.ncon)
            if {model.geom_bodyid[data.contact[i].geom1], model.geom_bodyid[data.contact[i].geom2]}
            == {self.sphere, self.layout.body_id}
        ]
        return np.mean(points, axis=0) if points else None


@pytest.fixture(scope="module", params=[True, False], ids=["shear", "pressure_only"])
def slid(request):
    """Run the scenario once per skin kind: tare, press and hold, then drag.

    ``shear``: the simulated skin's shear stresses reach the driver (friction-cone cue);
    ``pressure_only``: pressures only, as most e-skins (centre-of-pressure and vibration cues).
    """
    rig = Rig(with_shear=request.param)
    for _ in range(ProcessorParams().tare_frames + 10):  # unloaded skin: the start-up tare
        rig.step(push_n=0.0)
    assert rig.processor.ready
    rig.place_sphere_on_pad()
    for _ in range(200):  # 0.4 s steady press
        output = rig.step(push_n=2.0)
    hold_events = list(rig.events)
    hold_contact = output.pads[rig.pad_index].contact
    before = rig.contact_point_on_pad()
    onset = rig.sim.time
    points = []
    for _ in range(40):  # 80 ms of drag, 2.5 x what friction (mu 0.8 x 2 N) can hold
        rig.step(push_n=2.0, drag_n=4.0)
        points.append(rig.contact_point_on_pad())
    return rig, hold_events, hold_contact, before, onset, points


def test_steady_press_is_a_contact_without_slip(slid):
    rig, hold_events, hold_contact, _before, _onset, _points = slid
    assert hold_contact.in_contact
    assert hold_contact.force_n == pytest.approx(2.0, rel=0.25)
    assert hold_events == []


def test_the_sphere_really_slides(slid):
    _rig, _hold, _contact, before, _onset, points = slid
    assert before is not None
    moved = [np.linalg.norm((p - before)[:2]) for p in points if p is not None]
    assert max(moved) > 0.003  # 3 mm across the pad


def test_slip_event_within_10_ms_of_onset(slid):
    rig, _hold, _contact, _before, onset, _points = slid
    events = [(t, pad) for t, pad in rig.events if t > onset]
    assert events, "no slip event while the sphere slid"
    first_time, first_pad = events[0]
    assert first_pad == PAD
    delay = first_time - onset
    print(f"slip event {delay * 1e3:.1f} ms after the drag started")
    assert delay <= 0.010 + 1e-9
