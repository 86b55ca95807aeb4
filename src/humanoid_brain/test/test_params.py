"""The brain node's parameter declarations and validation (no ROS graph)."""

import pytest
import yaml

from humanoid_brain.params import PARAMETERS, ParameterError, stack_root, validate

DEFAULTS = {spec.name: spec.default for spec in PARAMETERS}


def test_defaults_and_the_config_file_validate():
    params = validate(dict(DEFAULTS))
    assert params.task.fsm.settle_timeout_s == 10.0 and params.hand == "right"
    config = yaml.safe_load((stack_root() / "config" / "humanoid_brain.yaml").read_text())
    values = dict(DEFAULTS)

    def flatten(mapping, prefix=""):
        for key, value in mapping.items():
            if isinstance(value, dict):
                flatten(value, f"{prefix}{key}.")
            else:
                values[f"{prefix}{key}"] = value

    flatten(config["/**"]["ros__parameters"])
    assert set(values) == set(DEFAULTS), "config/humanoid_brain.yaml has undeclared keys"
    for name, value in values.items():  # rclpy types are strict: 1 is not 1.0
        assert type(value) is type(DEFAULTS[name]), name
    assert validate(values).task.standoff.max_x_m == 0.10


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"hand": "middle"}, "parameter 'hand'"),
        ({"control_rate_hz": 0.0}, "parameter 'control_rate_hz'"),
        ({"max_force_n": 1.0, "target_force_n": 5.0}, "parameter 'max_force_n'"),
        ({"object_size_m": [0.1, 0.1]}, "parameter 'object_size_m'"),
        ({"robot_description": "config/robots/none.yaml"}, "parameter 'robot_description'"),
        ({"grasp_action": ""}, "parameter 'grasp_action'"),
        ({"target.min_detections": 0}, "parameter 'target.min_detections'"),
    ],
)
def test_bad_values_are_named(changes, match):
    with pytest.raises(ParameterError, match=match):
        validate({**DEFAULTS, **changes})
