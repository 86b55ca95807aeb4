"""Tests of the simulated G1: standing, determinism, command hold and rejection, effort limits,
pushes, object edits, reset and the tactile skins.

One module-scoped Simulation (seed 0) serves most tests; every test starts with ``reset(0)``.
"""

from __future__ import annotations

import pathlib

import mujoco
import numpy as np
import pytest
from scipy.spatial import ConvexHull

from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.core.scene import load_scene, sample_object_poses
from humanoid_sim.core.simulation import Simulation
from humanoid_sim.core.tactile import TactileSkinSim
from humanoid_sim.errors import CommandRejected, SimError

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE_YAML = ROOT / "config" / "scenes" / "table_objects.yaml"
GRAVITY = 9.81
MUX_FIELDS = ("position", "velocity", "effort", "kp", "kd", "last_update")


@pytest.fixture(scope="module")
def robot():
    return load_robot_description(ROBOT_YAML)


@pytest.fixture(scope="module")
def scene():
    return load_scene(SCENE_YAML)


@pytest.fixture(scope="module")
def sim(robot, scene) -> Simulation:
    return Simulation(robot, scene, seed=0)


@pytest.fixture
def fresh(sim) -> Simulation:
    """The module's simulation, reset to seed 0."""
    sim.reset(0)
    return sim


def _run(sim: Simulation, seconds: float) -> None:
    for _ in range(int(round(seconds / sim.control_period))):
        sim.step()


def _mux_snapshot(sim: Simulation) -> dict[str, np.ndarray]:
    return {field: getattr(sim.mux, field).copy() for field in MUX_FIELDS}


def _joint_index(sim: Simulation, names) -> np.ndarray:
    return np.array([sim.joint_names.index(n) for n in names])


def _upright_cos(sim: Simulation) -> float:
    """z component of the base's z axis in the world (1 = perfectly upright)."""
    return float(sim.data.xmat[sim.built.base_body].reshape(3, 3)[2, 2])


# ------------------------------------------------------------------------------- standing
def test_model_matches_the_description(sim, robot):
    assert sim.joint_names == robot.actuated_joints
    assert sim.model.nu == 43
    assert sim.built.effort_limit.shape == (43,)
    assert np.all(sim.built.effort_limit > 0)
    np.testing.assert_array_equal(sim.model.actuator_forcerange[:, 1], sim.built.effort_limit)
    assert set(sim.built.object_bodies) == {"cube", "cylinder", "sphere"}
    assert sim.model.opt.gravity[2] == pytest.approx(-GRAVITY)


def test_stands_for_a_minute_with_the_default_hold(fresh, robot, scene):
    sim = fresh
    model = sim.model
    start = sim.base_state().position.copy()
    _run(sim, 60.0)
    assert sim.time == pytest.approx(60.0)
    assert not sim.has_fallen()
    end = sim.base_state()
    drift = np.linalg.norm(end.position[:2] - start[:2])
    assert drift < 0.02, f"pelvis drifted {drift * 100:.2f} cm in 60 s"
    assert abs(end.position[2] - start[2]) < 0.02
    assert _upright_cos(sim) > np.cos(np.radians(3.0))
    assert np.linalg.norm(end.linear_velocity) < 0.01

    # The ankle force sensors carry the weight of everything above them.
    mass = float(model.body_subtreemass[sim.built.base_body])
    assert 30.0 < mass < 40.0  # a G1 with Dex3 hands is ~35 kg
    forces = {side: sim.foot_wrench(side).force for side in ("left", "right")}
    total = forces["left"][2] + forces["right"][2]
    assert total == pytest.approx(mass * GRAVITY, rel=0.05)
    below_sensors = sum(model.body_mass[model.body(robot.feet[s][0]).id] for s in forces)
    assert total == pytest.approx((mass - below_sensors) * GRAVITY, rel=0.01)
    for side, force in forces.items():
        # Symmetric stance: each foot carries about half, with little shear.
        assert 0.35 * total < force[2] < 0.65 * total, side
        assert np.linalg.norm(force[:2]) < 0.05 * force[2], side

    # The objects settled on the table top where they were placed.
    poses = sample_object_poses(scene, 0)
    for obj in scene.objects:
        state = sim.body_state(obj.name)
        expected = scene.table.height + obj.half_height
        assert state.position[2] == pytest.approx(expected, abs=0.003), obj.name
        assert np.linalg.norm(state.position[:2] - poses[obj.name][:2]) < 0.005, obj.name
        assert np.linalg.norm(state.linear_velocity) < 1e-3, obj.name


# ---------------------------------------------------------------------------- determinism
RIGHT_ARM = (
    "right_shoulder_pitch_joint",
    "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint",
    "right_elbow_joint",
    "right_wrist_roll_joint",
    "right_wrist_pitch_joint",
    "right_wrist_yaw_joint",
)


def _arm_wave(sim: Simulation, stand: np.ndarray, seconds: float) -> np.ndarray:
    """Command a sinusoid on the right arm every step; return the qpos trajectory."""
    phases = np.linspace(0.0, np.pi, len(RIGHT_ARM))
    trajectory = []
    for _ in range(int(round(seconds / sim.control_period))):
        t = sim.time
        sim.command(
            name=list(RIGHT_ARM),
            position=stand + 0.3 * np.sin(2 * np.pi * t + phases),
            velocity=0.3 * 2 * np.pi * np.cos(2 * np.pi * t + phases),
            effort=np.zeros(len(RIGHT_ARM)),
            kp=np.full(len(RIGHT_ARM), 80.0),
            kd=np.full(len(RIGHT_ARM), 3.0),
        )
        sim.step()
        trajectory.append(sim.data.qpos.copy())
    return np.array(trajectory)


def test_same_seed_and_commands_give_identical_trajectories(robot, scene):
    first = Simulation(robot, scene, seed=0)
    second = Simulation(robot, scene, seed=0)
    np.testing.assert_array_equal(first.data.qpos, second.data.qpos)
    arm = first.built.qpos_index[_joint_index(first, RIGHT_ARM)]
    stand = first.data.qpos[arm].copy()

    a = _arm_wave(first, stand, 1.0)
    b = _arm_wave(second, stand, 1.0)
    assert np.array_equal(a, b), "same seed and command stream diverged"
    assert np.array_equal(first.data.qvel, second.data.qvel)
    # The command did move the arm (else the comparison would be vacuous).
    assert np.abs(a[:, arm] - stand).max() > 0.15
    assert not first.has_fallen()

    # Reset and replay reproduces the run too.
    first.reset(0)
    np.testing.assert_array_equal(first.data.qpos, second.stand_qpos)
    replay = _arm_wave(first, stand, 1.0)
    assert np.array_equal(replay, a), "replay after reset(0) diverged"

    # A different seed places the objects elsewhere.
    second.reset(1)
    first.reset(0)
    for name, adr in first.built.object_qpos.items():
        pose_0 = first.data.qpos[adr : adr + 3].copy()
        pose_1 = second.data.qpos[adr : adr + 3]
        assert not np.allclose(pose_0, pose_1, atol=1e-6), name
        np.testing.assert_array_equal(pose_1, sample_object_poses(scene, 1)[name][:3])


# ---------------------------------------------------------------------- commands and hold
def test_joints_without_fresh_commands_hold_their_targets(fresh):
    sim = fresh
    held = _mux_snapshot(sim)
    arm = _joint_index(sim, RIGHT_ARM)
    others = np.setdiff1d(np.arange(len(sim.joint_names)), arm)
    start = sim.base_state().position.copy()
    target = held["position"][arm] + np.array([0.2, -0.2, 0.1, -0.3, 0.2, 0.1, -0.1])
    for _ in range(3):
        sim.command(name=list(RIGHT_ARM), position=target, kp=[400.0] * 7, kd=[10.0] * 7)
        _run(sim, 0.5)
    now = _mux_snapshot(sim)
    for field in MUX_FIELDS:
        np.testing.assert_array_equal(now[field][others], held[field][others], err_msg=field)
    np.testing.assert_array_equal(now["position"][arm], target)
    np.testing.assert_array_equal(now["kp"][arm], 400.0)
    assert now["last_update"][arm] == pytest.approx(np.full(7, 1.0))
    # The arm went to its new target (clear of the table); the rest held the stand posture.
    q = sim.data.qpos[sim.built.qpos_index]
    assert np.abs(q[arm] - target).max() < 0.03
    legs = _joint_index(sim, [n for n in sim.joint_names if "_hip_" in n or "knee" in n])
    assert np.abs(q[legs] - held["position"][legs]).max() < 0.05
    assert not sim.has_fallen()
    assert np.linalg.norm(sim.base_state().position[:2] - start[:2]) < 0.02


def test_rejected_command_leaves_the_state_untouched(fresh):
    sim = fresh
    _run(sim, 0.05)
    held = _mux_snapshot(sim)
    ctrl = sim.data.ctrl.copy()
    bias = sim.model.actuator_biasprm.copy()
    rejected = sim.mux.rejected
    bad = [
        dict(name=["right_elbow_joint", "left_knee_joint"], position=[0.5, np.nan]),
        dict(name=["right_elbow_joint"], position=[0.5], kd=[np.inf]),
        dict(name=["right_elbow_joint", "no_such_joint"], position=[0.5, 0.5]),
        dict(name=["right_elbow_joint"], position=[0.5], kp=[sim.mux.max_kp * 2]),
    ]
    for count, command in enumerate(bad, start=1):
        with pytest.raises(CommandRejected):
            sim.command(**command)
        assert sim.mux.rejected == rejected + count
        assert sim.mux.last_rejection
    for field in MUX_FIELDS:
        np.testing.assert_array_equal(getattr(sim.mux, field), held[field], err_msg=field)
    np.testing.assert_array_equal(sim.data.ctrl, ctrl)
    np.testing.assert_array_equal(sim.model.actuator_biasprm, bias)
    time = sim.time
    _run(sim, 0.2)
    assert sim.time == pytest.approx(time + 0.2)
    assert not sim.has_fallen()


def test_effort_limits_are_respected(fresh):
    sim = fresh
    joint = "right_hand_index_0_joint"
    index = sim.joint_names.index(joint)
    limit = sim.built.effort_limit[index]
    q = sim.data.qpos[sim.built.qpos_index[index]]
    # A position error of 3 rad at the largest accepted gain asks for ~6000 N*m.
    sim.command(name=[joint], position=[q + 3.0], kp=[sim.mux.max_kp], kd=[0.0])
    peak = np.zeros(sim.model.nu)
    for _ in range(100):
        sim.step()
        peak = np.maximum(peak, np.abs(sim.data.actuator_force))
    assert peak[index] == pytest.approx(limit)  # saturated, not beyond
    assert np.all(peak <= sim.built.effort_limit * (1 + 1e-12))
    # The other way round as well.
    sim.command(name=[joint], position=[q - 3.0], kp=[sim.mux.max_kp], kd=[sim.mux.max_kd])
    sim.step()
    assert sim.data.actuator_force[index] == pytest.approx(-limit)


# ---------------------------------------------------------------------------- scene edits
def test_push_moves_the_base_and_ends(fresh):
    sim = fresh
    pelvis = sim.built.base_body
    _run(sim, 0.2)
    _run(sim, 0.5)
    unpushed = sim.base_state().position.copy()

    sim.reset(0)
    _run(sim, 0.2)
    sim.apply_wrench("pelvis", [0.0, 60.0, 0.0], [0.0, 0.0, 0.0], 0.2)
    np.testing.assert_array_equal(sim.data.xfrc_applied[pelvis], [0, 60, 0, 0, 0, 0])
    _run(sim, 0.1)
    np.testing.assert_array_equal(sim.data.xfrc_applied[pelvis], [0, 60, 0, 0, 0, 0])
    _run(sim, 0.11)
    assert not np.any(sim.data.xfrc_applied), "the push outlived its duration"
    _run(sim, 0.29)
    pushed = sim.base_state().position
    shift = pushed[1] - unpushed[1]
    assert shift > 0.01, f"a 12 N*s push moved the base by only {shift * 100:.2f} cm"
    assert abs(pushed[0] - unpushed[0]) < shift


def test_push_arguments_are_checked(fresh):
    sim = fresh
    with pytest.raises(SimError, match="unknown body 'no_such_link'"):
        sim.apply_wrench("no_such_link", [1, 0, 0], [0, 0, 0], 0.1)
    for duration in (0.0, -0.1, np.nan):
        with pytest.raises(SimError, match="duration"):
            sim.apply_wrench("pelvis", [1, 0, 0], [0, 0, 0], duration)
    with pytest.raises(SimError, match="finite"):
        sim.apply_wrench("pelvis", [np.inf, 0, 0], [0, 0, 0], 0.1)
    with pytest.raises(SimError, match="3-vectors"):
        sim.apply_wrench("pelvis", [1, 0], [0, 0, 0], 0.1)
    assert not np.any(sim.data.xfrc_applied)
    sim.step()
    assert not np.any(sim.data.xfrc_applied)


def _normal_force_between(sim: Simulation, body_a: int, body_b: int) -> float:
    model, data = sim.model, sim.data
    total, force = 0.0, np.zeros(6)
    for i in range(data.ncon):
        contact = data.contact[i]
        bodies = {model.geom_bodyid[contact.geom1], model.geom_bodyid[contact.geom2]}
        if bodies == {body_a, body_b}:
            mujoco.mj_contactForce(model, data, i, force)
            total += force[0]
    return total


def test_set_object_mass(fresh):
    sim = fresh
    model = sim.model
    body = sim.built.object_bodies["cube"]
    mass, inertia = float(model.body_mass[body]), model.body_inertia[body].copy()
    table = model.body("table").id
    _run(sim, 0.1)
    try:
        qpos, qvel, time = sim.data.qpos.copy(), sim.data.qvel.copy(), sim.time
        sim.set_object_mass("cube", 3 * mass)
        assert model.body_mass[body] == pytest.approx(3 * mass)
        np.testing.assert_allclose(model.body_inertia[body], 3 * inertia, rtol=1e-12)
        # Editing the model must not teleport anything.
        np.testing.assert_array_equal(sim.data.qpos, qpos)
        np.testing.assert_array_equal(sim.data.qvel, qvel)
        assert sim.time == time
        _run(sim, 0.1)
        assert not sim.has_fallen()
        # The table now carries the heavier cube.
        support = _normal_force_between(sim, body, table)
        assert support == pytest.approx(3 * mass * GRAVITY, rel=0.02)

        with pytest.raises(SimError, match="unknown object 'anvil'"):
            sim.set_object_mass("anvil", 1.0)
        for bad in (0.0, -0.2, np.nan, np.inf):
            with pytest.raises(SimError, match="mass must be > 0"):
                sim.set_object_mass("cube", bad)
        assert model.body_mass[body] == pytest.approx(3 * mass)
    finally:
        sim.set_object_mass("cube", mass)
    np.testing.assert_allclose(model.body_inertia[body], inertia, rtol=1e-12)


def test_reset_restores_time_posture_and_resamples_objects(fresh, robot, scene):
    sim = fresh
    stand_qpos = sim.stand_qpos.copy()
    stand_targets = _mux_snapshot(sim)
    sim.command(name=["right_elbow_joint"], position=[0.2], kp=[100.0])
    sim.apply_wrench("pelvis", [0.0, 30.0, 0.0], [0, 0, 0], 1.0)
    _run(sim, 0.3)

    sim.reset(3)
    assert sim.time == 0.0
    assert sim.seed == 3
    assert not np.any(sim.data.qvel)
    assert not np.any(sim.data.xfrc_applied)
    q = sim.data.qpos[sim.built.qpos_index]
    expected = [robot.stand_posture.get(name, 0.0) for name in sim.joint_names]
    np.testing.assert_array_equal(q, expected)
    poses = sample_object_poses(scene, 3)
    for name, adr in sim.built.object_qpos.items():
        np.testing.assert_array_equal(sim.data.qpos[adr : adr + 7], poses[name])
    robot_qpos = np.ones(sim.model.nq, dtype=bool)
    for adr in sim.built.object_qpos.values():
        robot_qpos[adr : adr + 7] = False
    np.testing.assert_array_equal(sim.data.qpos[robot_qpos], stand_qpos[robot_qpos])
    # Every joint holds the stand again.
    for field in ("position", "velocity", "effort", "kp", "kd"):
        np.testing.assert_array_equal(getattr(sim.mux, field), stand_targets[field])
    # The feet touch the floor: the robot does not drop after a reset.
    z = sim.base_state().position[2]
    _run(sim, 0.2)
    assert abs(sim.base_state().position[2] - z) < 0.01

    sim.reset()  # keeps the seed
    assert sim.seed == 3
    for name, adr in sim.built.object_qpos.items():
        np.testing.assert_array_equal(sim.data.qpos[adr : adr + 7], poses[name])
    sim.reset(0)
    for name, adr in sim.built.object_qpos.items():
        assert not np.array_equal(sim.data.qpos[adr : adr + 3], poses[name][:3])


# ------------------------------------------------------------------------------- tactile
def _pad_totals(sim: Simulation) -> dict[str, float]:
    """Total normal force [N] per pad, from the taxel pressures."""
    totals = {}
    for skin, readings in sim.tactile_readings().items():
        for layout, reading in zip(sim.tactile.layouts[skin], readings, strict=True):
            totals[layout.spec.name] = float(reading.pressure_kpa.sum() * 1e3 * layout.taxel_area)
    return totals


def _layout(sim: Simulation, pad: str):
    return next(
        layout
        for layouts in sim.tactile.layouts.values()
        for layout in layouts
        if layout.spec.name == pad
    )


def test_no_contact_no_pressure(fresh):
    sim = fresh
    _run(sim, 0.2)
    pad_bodies = {layout.body_id for layouts in sim.tactile.layouts.values() for layout in layouts}
    for i in range(sim.data.ncon):
        contact = sim.data.contact[i]
        touched = {sim.model.geom_bodyid[contact.geom1], sim.model.geom_bodyid[contact.geom2]}
        assert not touched & pad_bodies, "the stand posture has hand contacts"
    readings = sim.tactile_readings()
    assert set(readings) == {"left_hand", "right_hand"}
    for skin, pads in readings.items():
        assert len(pads) == 6
        for layout, reading in zip(sim.tactile.layouts[skin], pads, strict=True):
            count = layout.spec.rows * layout.spec.cols
            for values in (reading.pressure_kpa, reading.shear_x_kpa, reading.shear_y_kpa):
                assert values.shape == (count,)
                assert not np.any(values)


def test_fingertip_press_conserves_force(fresh):
    """Press the sphere onto the right index fingertip pad and compare taxels with contacts.

    The sphere's weight is cancelled by an upward force and it is pushed with 2 N toward the
    pad origin, re-aimed every step (a constant direction lets it roll off the rounded tip).
    """
    sim = fresh
    model, data = sim.model, sim.data
    layout = _layout(sim, "right_index_tip")
    sphere = sim.built.object_bodies["sphere"]
    radius = 0.03
    push = 2.0

    def pad_frame():
        rotation = data.xmat[layout.body_id].reshape(3, 3)
        origin = data.xpos[layout.body_id] + rotation @ layout.origin_link
        return origin, rotation @ layout.rotation_link_pad

    origin, axes = pad_frame()
    adr = sim.built.object_qpos["sphere"]
    data.qpos[adr : adr + 7] = [*(origin + axes[:, 2] * (radius + 0.001)), 1, 0, 0, 0]
    mujoco.mj_forward(model, data)
    weight = np.array([0.0, 0.0, model.body_mass[sphere] * GRAVITY])
    for _ in range(300):
        origin, _axes = pad_frame()
        toward = origin - data.xpos[sphere]
        toward /= np.linalg.norm(toward)
        sim.apply_wrench("sphere", push * toward + weight, [0, 0, 0], sim.control_period)
        sim.step()

    contact_force = _normal_force_between(sim, sphere, layout.body_id)
    assert contact_force == pytest.approx(push, rel=0.2), "the sphere is not on the fingertip"
    totals = _pad_totals(sim)
    assert totals["right_index_tip"] == pytest.approx(contact_force, rel=0.1)
    for pad, total in totals.items():
        if pad != "right_index_tip":
            assert total == 0.0, pad

    # The centre of pressure is where the sphere touches the pad, within half a pitch.
    reading = sim.tactile_readings()["right_hand"][sim.tactile.layouts["right_hand"].index(layout)]
    pressure = reading.pressure_kpa
    assert np.count_nonzero(pressure > 0.05 * pressure.max()) >= 3  # spread over a patch
    taxels_pad = (layout.taxels_link - layout.origin_link) @ layout.rotation_link_pad
    cop = pressure @ taxels_pad[:, :2] / pressure.sum()
    spec = layout.spec
    half = np.array([(spec.cols - 1) * spec.pitch[0], (spec.rows - 1) * spec.pitch[1]]) / 2
    assert np.all(np.abs(cop) <= half)
    origin, axes = pad_frame()
    touch = []
    for i in range(data.ncon):
        contact = data.contact[i]
        if {model.geom_bodyid[contact.geom1], model.geom_bodyid[contact.geom2]} == {
            sphere,
            layout.body_id,
        }:
            touch.append((contact.pos - origin) @ axes)
    touch_pad = np.mean(touch, axis=0)
    assert abs(touch_pad[2]) < 0.003  # the contact is on the pad surface
    assert np.linalg.norm(cop - touch_pad[:2]) < 0.5 * min(spec.pitch)


def test_spread_conserves_force(fresh):
    sim = fresh
    data = sim.data
    rng = np.random.default_rng(3)
    for layouts in sim.tactile.layouts.values():
        for layout in layouts:
            rotation = data.xmat[layout.body_id].reshape(3, 3)
            normal = rotation @ layout.rotation_link_pad[:, 2]
            tangent = rotation @ layout.rotation_link_pad[:, 0]
            taxel = layout.taxels_link[rng.integers(len(layout.taxels_link))]
            for point_link in (layout.origin_link, taxel):
                point = data.xpos[layout.body_id] + rotation @ point_link
                force = -1.7 * normal + 0.4 * tangent  # presses the skin, with shear
                out = np.zeros((len(layout.taxels_link), 3))
                TactileSkinSim._spread(data, layout, point, force, out)
                np.testing.assert_allclose(out.sum(axis=0), rotation.T @ force, atol=1e-12)
                assert np.all(out @ layout.rotation_link_pad[:, 2] <= 0)
                reading = TactileSkinSim._reading(layout, out)
                total = reading.pressure_kpa.sum() * 1e3 * layout.taxel_area
                assert total == pytest.approx(1.7)
                shear = reading.shear_x_kpa.sum() * 1e3 * layout.taxel_area
                assert shear == pytest.approx(0.4)
            # Pulling outward and contacts far off the pad leave it untouched.
            out = np.zeros((len(layout.taxels_link), 3))
            origin = data.xpos[layout.body_id] + rotation @ layout.origin_link
            TactileSkinSim._spread(data, layout, origin, 1.0 * normal, out)
            TactileSkinSim._spread(data, layout, origin + 0.1 * tangent, -1.0 * normal, out)
            assert not np.any(out)


# -------------------------------------------------------------------------------- layout
def _hull_distance(sim: Simulation, layout) -> np.ndarray:
    """Signed distance [m] of each taxel to the link's collision hull (negative inside)."""
    model, data = sim.model, sim.data
    geoms = [
        g
        for g in np.flatnonzero(model.geom_bodyid == layout.body_id)
        if model.geom_contype[g] or model.geom_conaffinity[g]
    ]
    assert len(geoms) == 1
    geom = geoms[0]
    assert model.geom_type[geom] == mujoco.mjtGeom.mjGEOM_MESH
    mesh = model.geom_dataid[geom]
    start, count = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
    vertices = model.mesh_vert[start : start + count]
    world = data.geom_xpos[geom] + vertices @ data.geom_xmat[geom].reshape(3, 3).T
    rotation = data.xmat[layout.body_id].reshape(3, 3)
    link = (world - data.xpos[layout.body_id]) @ rotation
    hull = ConvexHull(link)
    # For points inside a convex polytope this is exactly minus the distance to its boundary.
    return (hull.equations[:, :3] @ layout.taxels_link.T + hull.equations[:, 3:]).max(axis=0)


TIP_PADS = [
    f"{side}_{finger}_tip" for side in ("left", "right") for finger in ("thumb", "index", "middle")
]
OTHER_PADS = [
    f"{side}_{pad}"
    for side in ("left", "right")
    for pad in ("index_proximal", "middle_proximal", "palm")
]


@pytest.mark.parametrize("pad", TIP_PADS + OTHER_PADS)
def test_taxels_lie_on_the_collision_surface_at_pitch(fresh, pad):
    sim = fresh
    layout = _layout(sim, pad)
    spec = layout.spec
    grid = layout.taxels_link.reshape(spec.rows, spec.cols, 3)
    projected = layout.projected.reshape(spec.rows, spec.cols)
    # The centre taxels hit the link surface; the surface normals are unit and outward.
    centre_rows = sorted({(spec.rows - 1) // 2, spec.rows // 2})
    centre_cols = sorted({(spec.cols - 1) // 2, spec.cols // 2})
    assert projected[np.ix_(centre_rows, centre_cols)].all()
    np.testing.assert_allclose(np.linalg.norm(layout.normals_link, axis=1), 1.0)
    assert np.all(layout.normals_link @ spec.normal > 0.19)
    rotation = layout.rotation_link_pad
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rotation[:, 2], spec.normal)
    assert layout.taxel_area == pytest.approx(spec.pitch[0] * spec.pitch[1])

    distance = _hull_distance(sim, layout)
    centre = np.zeros((spec.rows, spec.cols), dtype=bool)
    centre[np.ix_(centre_rows, centre_cols)] = True
    # Taxels lie on the link's mesh; contacts happen on its convex hull. The palm is slightly
    # concave (its centre sits ~1.5 mm below the hull), the finger segments are convex.
    centre_tolerance = 0.002 if spec.name.endswith("palm") else 0.0005
    assert np.abs(distance[centre.ravel()]).max() < centre_tolerance
    assert np.abs(distance).max() < 0.003, f"taxels up to {-distance.min() * 1e3:.1f} mm deep"

    if spec.cols > 1:
        along = np.linalg.norm(np.diff(grid, axis=1), axis=2) / spec.pitch[0]
        assert 0.6 < along.min() and along.max() < 1.4, along
    if spec.rows > 1:
        across = np.linalg.norm(np.diff(grid, axis=0), axis=2) / spec.pitch[1]
        assert 0.6 < across.min() and across.max() < 1.4, across


def test_first_order_hold_moves_targets_along_the_commanded_velocity(robot, scene):
    """At 100 Hz commands, an elbow commanded to sweep at 2 rad/s (target = where it is now,
    velocity 2 rad/s) follows the sweep with the first-order hold; with the zero-order hold the
    target stays put for the whole period and the joint lags. Without velocity the two holds
    are the same bit for bit."""
    moved = {}
    for hold in (False, True):
        for velocity in (0.0, 2.0):
            sim = Simulation(robot, scene, seed=0, control_period=0.01)
            sim.first_order_hold = hold
            elbow = _joint_index(sim, ["right_elbow_joint"])
            q0 = float(sim.data.qpos[sim.built.qpos_index][elbow][0])
            q = q0
            for _ in range(20):  # 0.2 s: each command starts where the sweep should be
                sim.command(
                    name=["right_elbow_joint"],
                    position=[q0 + velocity * sim.time],
                    velocity=[velocity],
                    kp=[60.0],
                    kd=[1.0],
                )
                sim.step()
                q = float(sim.data.qpos[sim.built.qpos_index][elbow][0])
            moved[(hold, velocity)] = (q - q0, q0 + velocity * sim.time - q)
    assert moved[(False, 0.0)] == moved[(True, 0.0)]
    swept_zero, lag_zero = moved[(False, 2.0)]
    swept_first, lag_first = moved[(True, 2.0)]
    assert swept_first > 0.3  # 2 rad/s for 0.2 s: 0.4 rad
    # Holding the target costs the sweep about half a period's travel (2 rad/s x 5 ms).
    assert 0.0 < lag_first < lag_zero - 0.004
