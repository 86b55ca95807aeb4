"""Tests of the scene loader and the seeded object pose sampling."""

from __future__ import annotations

import copy
import pathlib

import numpy as np
import pytest
import yaml

from humanoid_sim.core.scene import load_scene, sample_object_poses
from humanoid_sim.errors import SimError

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCENE_YAML = ROOT / "config" / "scenes" / "table_objects.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(SCENE_YAML.read_text())


@pytest.fixture(scope="module")
def scene():
    return load_scene(SCENE_YAML)


def _write(tmp_path: pathlib.Path, data: dict) -> pathlib.Path:
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_scene_loads(scene):
    assert scene.table is not None
    assert scene.table.height == pytest.approx(0.68)
    assert [o.name for o in scene.objects] == ["cube", "cylinder", "sphere"]
    shapes = {o.name: o.shape for o in scene.objects}
    assert shapes == {"cube": "box", "cylinder": "cylinder", "sphere": "sphere"}
    by_name = {o.name: o for o in scene.objects}
    assert by_name["cube"].half_height == pytest.approx(0.025)
    assert by_name["cylinder"].half_height == pytest.approx(0.05)
    assert by_name["sphere"].half_height == pytest.approx(0.03)
    assert by_name["cylinder"].extents == pytest.approx((0.05, 0.05, 0.1))
    assert all(o.mass > 0 for o in scene.objects)


def _mutate_size_count(data):
    data["objects"][1]["size"] = [0.025]  # a cylinder needs radius and half height


def _mutate_box_size_count(data):
    data["objects"][0]["size"] = [0.05, 0.05, 0.05]


def _mutate_negative_mass(data):
    data["objects"][2]["mass"] = -0.1


def _mutate_zero_mass(data):
    data["objects"][0]["mass"] = 0.0


def _mutate_unknown_shape(data):
    data["objects"][0]["type"] = "torus"


def _mutate_negative_size(data):
    data["objects"][2]["size"] = [-0.03]


def _mutate_duplicate_name(data):
    data["objects"][1]["name"] = "cube"


def _mutate_table_height(data):
    data["table"]["height"] = 0.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_mutate_size_count, "object 'cylinder': cylinder needs 2 size values"),
        (_mutate_box_size_count, "object 'cube': box needs 1 size values"),
        (_mutate_negative_mass, "object 'sphere' mass: expected a positive number"),
        (_mutate_zero_mass, "object 'cube' mass: expected a positive number"),
        (_mutate_unknown_shape, "object 'cube': type must be one of .* got 'torus'"),
        (_mutate_negative_size, "object 'sphere' size: expected a positive number"),
        (_mutate_duplicate_name, "duplicate object names"),
        (_mutate_table_height, "table.height: expected a positive number"),
    ],
)
def test_malformed_scene_is_refused(tmp_path, raw, mutate, message):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(SimError, match=message):
        load_scene(_write(tmp_path, data))


def test_unreadable_scene_is_refused(tmp_path):
    with pytest.raises(SimError, match="cannot read scene"):
        load_scene(tmp_path / "missing.yaml")


def test_sampling_is_deterministic_per_seed(scene):
    first = sample_object_poses(scene, 7)
    again = sample_object_poses(scene, 7)
    assert first.keys() == again.keys() == {"cube", "cylinder", "sphere"}
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    other = sample_object_poses(scene, 8)
    for name in first:
        # Every object has xy noise, so each one moves with the seed.
        assert not np.array_equal(first[name][:2], other[name][:2]), name


@pytest.mark.parametrize("seed", [0, 1, 2, 123, 2**31 - 1])
def test_objects_rest_on_the_table_within_the_noise(scene, seed):
    poses = sample_object_poses(scene, seed)
    table = scene.table
    for obj in scene.objects:
        pose = poses[obj.name]
        assert pose.shape == (7,)
        # Resting on the top: centre at table height + half height (a sub-mm gap is allowed).
        assert pose[2] == pytest.approx(table.height + obj.half_height, abs=1e-3)
        assert pose[2] >= table.height + obj.half_height
        offset = pose[:2] - np.asarray(obj.xy)
        assert np.all(np.abs(offset) <= obj.xy_noise + 1e-12)
        # Upright: a unit quaternion that only yaws, by at most the yaw noise.
        assert np.linalg.norm(pose[3:]) == pytest.approx(1.0)
        assert pose[4] == 0.0 and pose[5] == 0.0
        yaw = 2.0 * np.arctan2(pose[6], pose[3])
        assert abs(yaw) <= obj.yaw_noise + 1e-12
        # Within the table top.
        half = np.asarray(table.size) / 2.0
        assert np.all(np.abs(pose[:2] - np.asarray(table.position)) < half)


def test_noise_is_actually_used(scene):
    # Over many seeds the offsets spread over most of the noise range.
    cube = next(o for o in scene.objects if o.name == "cube")
    offsets = np.array(
        [sample_object_poses(scene, seed)["cube"][:2] - cube.xy for seed in range(200)]
    )
    assert offsets.min() < -0.8 * cube.xy_noise
    assert offsets.max() > 0.8 * cube.xy_noise
