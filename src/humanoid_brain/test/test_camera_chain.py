"""Head camera pose from the G1's URDF through the waist joints (pinocchio; no ROS graph)."""

import math
from pathlib import Path

import numpy as np
import pytest

from humanoid_brain.core.camera_chain import CameraChain
from humanoid_brain.errors import HumanoidBrainError

ROBOT = Path(__file__).resolve().parents[3] / "config" / "robots" / "g1_dex3.yaml"


@pytest.fixture(scope="module")
def chain():
    return CameraChain.from_robot_description(ROBOT)


def test_camera_looks_forward_and_down_from_above_the_pelvis(chain):
    matrix = chain.optical_in_base({})
    rotation = matrix[:3, :3]
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
    assert 0.3 < matrix[2, 3] < 0.7  # on the torso, above the pelvis
    optical_axis = rotation[:, 2]
    assert optical_axis[0] > 0.5 and optical_axis[2] < -0.5  # forward and down
    # Image right (optical x) is the robot's right (-y).
    assert rotation[1, 0] == pytest.approx(-1.0, abs=1e-6)


def test_waist_yaw_turns_the_camera_about_the_vertical(chain):
    straight = chain.optical_in_base({})
    turned = chain.optical_in_base({"waist_yaw_joint": 0.4})
    axis_straight, axis_turned = straight[:3, 2], turned[:3, 2]
    heading = math.atan2(axis_turned[1], axis_turned[0]) - math.atan2(
        axis_straight[1], axis_straight[0]
    )
    assert heading == pytest.approx(0.4, abs=1e-6)
    assert axis_turned[2] == pytest.approx(axis_straight[2], abs=1e-9)
    # Unknown joints are ignored; missing ones count as zero.
    assert np.allclose(chain.optical_in_base({"left_knee_joint": 1.0}), straight)


def test_bad_links_and_joints_are_named(tmp_path):
    urdf = chain_urdf()
    with pytest.raises(HumanoidBrainError, match="camera link 'no_link'"):
        CameraChain(urdf, "no_link", [])
    with pytest.raises(HumanoidBrainError, match="no_joint"):
        CameraChain(urdf, "d435_link", ["no_joint"])
    with pytest.raises(HumanoidBrainError, match="robot description"):
        CameraChain.from_robot_description(tmp_path / "missing.yaml")


def chain_urdf() -> Path:
    import yaml

    from humanoid_brain.core.camera_chain import example_robot_data_dir

    description = yaml.safe_load(ROBOT.read_text())
    return example_robot_data_dir() / description["urdf"]["path"]
