"""Tests of the head RGB-D camera: image formats, metric depth, colour and frustum culling."""

from __future__ import annotations

import pathlib

import mujoco
import numpy as np
import pytest

from humanoid_sim.core.camera import RgbdCamera
from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.core.scene import load_scene
from humanoid_sim.core.simulation import Simulation
from humanoid_sim.errors import SimError

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE_YAML = ROOT / "config" / "scenes" / "table_objects.yaml"


@pytest.fixture(scope="module")
def sim() -> Simulation:
    robot = load_robot_description(ROBOT_YAML)
    return Simulation(robot, load_scene(SCENE_YAML), seed=0)


@pytest.fixture(scope="module")
def camera(sim):
    try:
        camera = RgbdCamera(sim.model, sim.built.camera_id, sim.robot.camera)
    except SimError as error:
        pytest.skip(f"no OpenGL context for the RGB-D camera: {error}")
    yield camera
    camera.close()


@pytest.fixture(scope="module")
def frame(sim, camera):
    rgb, depth = camera.render(sim.model, sim.data)
    return rgb.copy(), depth.copy(), camera.culled_last


def _project(sim: Simulation, camera: RgbdCamera, point: np.ndarray):
    """Pixel (u, v) of a world point and its depth along the optical axis [m]."""
    position = sim.data.cam_xpos[sim.built.camera_id]
    rotation = sim.data.cam_xmat[sim.built.camera_id].reshape(3, 3)
    local = rotation.T @ (point - position)  # MuJoCo camera: x right, y up, looking along -z
    depth = -local[2]
    k = camera.intrinsics()
    u = k[0, 2] + k[0, 0] * local[0] / depth
    v = k[1, 2] - k[1, 1] * local[1] / depth  # image y points down
    return u, v, depth


def test_image_formats(camera, frame):
    rgb, depth, _ = frame
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    # The camera looks down at the floor and the table: every pixel has a finite depth.
    assert np.all(np.isfinite(depth))
    assert 0.05 <= depth.min() and depth.max() <= 10.0
    assert rgb.std() > 10  # not a blank image
    k = camera.intrinsics()
    np.testing.assert_array_equal(k, [[606.0, 0, 320.0], [0, 606.0, 240.0], [0, 0, 1]])


def test_depth_and_colour_at_the_cube(sim, camera, frame):
    rgb, depth, _ = frame
    cube = sim.data.xpos[sim.built.object_bodies["cube"]]
    u, v, distance = _project(sim, camera, cube)
    assert 0 <= u < 640 and 0 <= v < 480, "the cube is out of view"
    row, col = int(round(v)), int(round(u))
    measured = float(depth[row, col])
    # The visible surface is up to half the 5 cm cube closer than its centre.
    assert distance - 0.04 <= measured <= distance + 0.01, (measured, distance)
    red, green, blue = (int(c) for c in rgb[row, col])
    assert red > 120 and red > 2 * green and red > 2 * blue, (red, green, blue)


def test_depth_at_the_table_top(sim, camera, frame):
    """A table point between the objects: the depth is the distance along the optical axis."""
    _, depth, _ = frame
    table = sim.scene.table
    point = np.array([table.position[0] + 0.15, table.position[1] - 0.05, table.height])
    u, v, distance = _project(sim, camera, point)
    assert 0 <= u < 640 and 0 <= v < 480
    assert float(depth[int(round(v)), int(round(u))]) == pytest.approx(distance, abs=0.01)


def test_frustum_culling_changes_nothing(sim, camera, frame):
    rgb, depth, culled = frame
    assert culled > 0, "nothing was culled: the comparison would be vacuous"
    alpha = sim.model.geom_rgba[:, 3].copy()
    cullable = camera._cullable
    camera._cullable = np.array([], dtype=cullable.dtype)
    try:
        rgb_all, depth_all = camera.render(sim.model, sim.data)
        assert camera.culled_last == 0
    finally:
        camera._cullable = cullable
    np.testing.assert_array_equal(rgb_all, rgb)
    np.testing.assert_array_equal(depth_all, depth)
    # Culling hides geoms for one frame only.
    np.testing.assert_array_equal(sim.model.geom_rgba[:, 3], alpha)


def test_render_follows_the_state(sim, camera, frame):
    """Moving the cube out of view changes its pixels to the table behind it."""
    rgb, depth, _ = frame
    cube = sim.built.object_bodies["cube"]
    u, v, _ = _project(sim, camera, sim.data.xpos[cube])
    row, col = int(round(v)), int(round(u))
    adr = sim.built.object_qpos["cube"]
    saved = sim.data.qpos.copy()
    try:
        sim.data.qpos[adr : adr + 3] = [5.0, 5.0, 0.025]
        mujoco.mj_forward(sim.model, sim.data)
        moved_rgb, moved_depth = camera.render(sim.model, sim.data)
    finally:
        sim.data.qpos[:] = saved
        mujoco.mj_forward(sim.model, sim.data)
    assert moved_depth[row, col] > depth[row, col] + 0.01
    assert not np.array_equal(moved_rgb[row, col], rgb[row, col])


def test_without_antialiasing_edges_are_not_blended(sim):
    """``antialias: false`` (robot description): one sample per pixel, so no colour or depth
    is a blend of an object and what is behind it; away from the edges the images agree."""
    import dataclasses

    frames = {}
    for antialias in (True, False):
        spec = dataclasses.replace(sim.robot.camera, antialias=antialias)
        camera = RgbdCamera(sim.model, sim.built.camera_id, spec)
        try:
            frames[antialias] = camera.render(sim.model, sim.data)
        finally:
            camera.close()
    sim.model.vis.quality.offsamples = 4 if sim.robot.camera.antialias else 0  # as configured
    (smooth_rgb, smooth_depth), (rgb, depth) = frames[True], frames[False]
    colours = len(np.unique(rgb.reshape(-1, 3), axis=0))
    smooth_colours = len(np.unique(smooth_rgb.reshape(-1, 3), axis=0))
    assert colours < smooth_colours  # the blended edge colours are gone
    differ = np.abs(rgb.astype(int) - smooth_rgb.astype(int)).max(axis=2) > 10
    assert 0.0 < differ.mean() < 0.02  # edges only
    depth_differs = np.abs(np.nan_to_num(depth) - np.nan_to_num(smooth_depth)) > 0.01
    assert depth_differs.mean() < 0.01
