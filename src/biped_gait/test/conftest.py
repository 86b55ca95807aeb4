"""Shared fixtures of the biped_gait core tests: the G1 model from the robot description."""

import pathlib

import pytest

from biped_gait.core.config import load_robot_facts
from biped_gait.core.robot_model import BipedModel, ModelSpec

ROBOT_YAML = pathlib.Path(__file__).resolve().parents[3] / "config" / "robots" / "g1_dex3.yaml"


@pytest.fixture(scope="session")
def facts():
    return load_robot_facts(ROBOT_YAML)


@pytest.fixture(scope="session")
def robot(facts):
    return BipedModel(
        ModelSpec(
            facts.urdf_path,
            facts.controlled_joints,
            facts.posture,
            facts.feet,
            facts.torso_link,
            facts.imu_link,
        )
    )
