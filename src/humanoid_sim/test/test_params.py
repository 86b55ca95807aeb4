"""Tests of the simulator node's parameter validation (no ROS node needed)."""

from __future__ import annotations

import pytest

from humanoid_sim.errors import SimError
from humanoid_sim.params import PARAMETERS, ParameterError, SimParams, validate


def _defaults() -> dict:
    return {spec.name: spec.default for spec in PARAMETERS}


def test_parameter_names_are_unique():
    names = [spec.name for spec in PARAMETERS]
    assert len(names) == len(set(names))


def test_defaults_validate():
    params = validate(_defaults())
    assert isinstance(params, SimParams)
    assert params.robot_description.is_file()
    assert params.robot_description.name == "g1_dex3.yaml"
    assert params.scene.is_file()
    assert params.mode == "paced"
    assert params.seed == 0
    assert params.timestep == pytest.approx(0.002)
    assert params.control_period == pytest.approx(0.002)
    assert params.lockstep_sources == ()  # the default [""] means "none"


def test_good_non_default_values_validate(tmp_path):
    values = _defaults()
    robot = tmp_path / "robot.yaml"
    robot.write_text("name: dummy\n")
    values.update(
        robot_description=str(robot),  # absolute paths are used as they are
        mode="lockstep",
        seed=12345,
        timestep=0.001,
        control_rate_hz=250.0,  # 4 ms = 4 physics steps
        tactile_rate_hz=0.0,
        camera_rate_hz=30.0,
        ground_truth_rate_hz=250.0,
        lockstep_sources=["brain", "", "gait"],
    )
    params = validate(values)
    assert params.robot_description == robot
    assert params.mode == "lockstep"
    assert params.seed == 12345
    assert params.control_period == pytest.approx(0.004)
    assert params.tactile_rate_hz == 0.0
    assert params.lockstep_sources == ("brain", "gait")


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"mode": "fast"}, "mode"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
        ({"timestep": 0.02}, "timestep"),
        ({"timestep": 0.0}, "timestep"),
        ({"control_rate_hz": 300.0}, "control_rate_hz"),  # 3.33 ms is not a multiple of 2 ms
        ({"control_rate_hz": 1000.0}, "control_rate_hz"),  # 1 ms is shorter than the step
        (
            {
                "control_rate_hz": 25.0,
                "tactile_rate_hz": 25.0,
                "ground_truth_rate_hz": 25.0,
                "camera_rate_hz": 50.0,
            },
            "camera_rate_hz",
        ),
        ({"control_rate_hz": 100.0, "tactile_rate_hz": 200.0}, "tactile_rate_hz"),
        ({"camera_rate_hz": 61.0}, "camera_rate_hz"),
        ({"real_time_factor": 0.0}, "real_time_factor"),
        ({"max_kp": -1.0}, "max_kp"),
        ({"robot_description": "config/robots/no_such_robot.yaml"}, "robot_description"),
        ({"scene": "/nonexistent/scene.yaml"}, "scene"),
        ({"lockstep_command_delay_steps": -1}, "lockstep_command_delay_steps"),
        (
            {"lockstep_sources": ["gait"], "lockstep_delayed_sources": ["hand"]},
            "lockstep_delayed_sources",
        ),
    ],
)
def test_bad_value_names_the_parameter(changes, parameter):
    values = _defaults()
    values.update(changes)
    with pytest.raises(ParameterError, match=f"parameter '{parameter}'") as caught:
        validate(values)
    assert isinstance(caught.value, SimError)


def test_missing_file_message_names_the_path():
    values = _defaults()
    values["robot_description"] = "config/robots/no_such_robot.yaml"
    with pytest.raises(ParameterError, match="no_such_robot.yaml does not exist"):
        validate(values)
