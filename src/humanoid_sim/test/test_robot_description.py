"""Tests of the robot description loader on the shipped G1 + Dex3 YAML and malformed variants."""

from __future__ import annotations

import copy
import pathlib

import numpy as np
import pytest
import yaml

from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.errors import SimError

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(ROBOT_YAML.read_text())


@pytest.fixture(scope="module")
def robot():
    return load_robot_description(ROBOT_YAML)


def _write(tmp_path: pathlib.Path, data: dict) -> pathlib.Path:
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_description_loads(robot):
    assert robot.name == "g1_dex3"
    assert robot.urdf_path.is_file()
    assert robot.mesh_dir.is_dir()
    assert len(robot.actuated_joints) == 43
    assert len(set(robot.actuated_joints)) == 43
    assert set(robot.stand_gains) == set(robot.joint_groups)
    assert robot.group_of("right_elbow_joint") == "right_arm"
    with pytest.raises(SimError, match="no joint group"):
        robot.group_of("no_such_joint")
    assert set(robot.feet) == {"left", "right"}
    assert robot.camera.width == 640 and robot.camera.height == 480


def test_shipped_skins(robot):
    assert [skin.name for skin in robot.skins] == ["left_hand", "right_hand"]
    for skin in robot.skins:
        assert len(skin.pads) == 6
        names = [pad.name for pad in skin.pads]
        assert len(set(names)) == 6
        for pad in skin.pads:
            assert np.isclose(np.linalg.norm(pad.normal), 1.0)
            assert np.isclose(np.linalg.norm(pad.axis), 1.0)
            assert abs(pad.axis @ pad.normal) < 1e-9
            assert min(pad.pitch) > 0
            if pad.name.endswith("_tip"):
                assert pad.rows * pad.cols >= 12, pad.name


def test_round_trip_of_an_unchanged_copy(tmp_path, raw):
    # The malformed variants below differ from the shipped file in one key only.
    robot = load_robot_description(_write(tmp_path, copy.deepcopy(raw)))
    assert len(robot.actuated_joints) == 43


def _mutate_unknown_posture_joint(data):
    data["stand_posture"]["left_tentacle_joint"] = 0.1


def _mutate_missing_gains_group(data):
    del data["stand_gains"]["waist"]


def _mutate_unknown_gains_group(data):
    data["stand_gains"]["tail"] = [10.0, 1.0]


def _mutate_zero_pitch(data):
    data["tactile"]["right_hand"]["pads"][1]["pitch"] = [0.0, 0.006]


def _mutate_negative_pitch(data):
    data["tactile"]["left_hand"]["pads"][0]["pitch"] = [0.005, -0.006]


def _mutate_zero_normal(data):
    data["tactile"]["left_hand"]["pads"][0]["normal"] = [0, 0, 0]


def _mutate_axis_parallel_to_normal(data):
    pad = data["tactile"]["left_hand"]["pads"][1]
    pad["axis"] = list(pad["normal"])


def _mutate_zero_rows(data):
    data["tactile"]["left_hand"]["pads"][2]["rows"] = 0


def _mutate_duplicate_pad(data):
    pads = data["tactile"]["right_hand"]["pads"]
    pads[1]["name"] = pads[0]["name"]


def _mutate_joint_in_two_groups(data):
    data["joint_groups"]["waist"].append("left_knee_joint")


def _mutate_missing_urdf_file(data):
    data["urdf"]["path"] = "g1_description/urdf/no_such_robot.urdf"


def _mutate_missing_imu(data):
    del data["imu"]


def _mutate_bad_camera(data):
    data["camera"]["fx"] = 0.0


def _mutate_bad_sole(data):
    data["feet"]["left"]["sole"] = [0.0, 0.0]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_mutate_unknown_posture_joint, "stand_posture names unknown joint 'left_tentacle_joint'"),
        (_mutate_missing_gains_group, r"stand_gains lacks groups \['waist'\]"),
        (_mutate_unknown_gains_group, "stand_gains names unknown group 'tail'"),
        (_mutate_zero_pitch, "pad 'right_index_tip': pitch must be > 0"),
        (_mutate_negative_pitch, "pad 'left_thumb_tip': pitch must be > 0"),
        (_mutate_zero_normal, "left_thumb_tip.*non-zero vector"),
        (_mutate_axis_parallel_to_normal, "left_index_tip.*axis is parallel to the normal"),
        (_mutate_zero_rows, "left_middle_tip.*rows and cols must be >= 1"),
        (_mutate_duplicate_pad, "duplicate pad names in skin 'right_hand'"),
        (_mutate_joint_in_two_groups, "a joint appears in two joint groups"),
        (_mutate_missing_urdf_file, "no_such_robot.urdf does not exist"),
        (_mutate_missing_imu, "missing key 'imu'"),
        (_mutate_bad_camera, "focal lengths must be positive"),
        (_mutate_bad_sole, "feet.left.sole"),
    ],
)
def test_malformed_description_is_refused(tmp_path, raw, mutate, message):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(SimError, match=message):
        load_robot_description(_write(tmp_path, data))


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(SimError, match="cannot read robot description"):
        load_robot_description(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("joint_groups: [unclosed\n")
    with pytest.raises(SimError, match="cannot read robot description"):
        load_robot_description(broken)
