"""Node parameters: every bad value is refused, naming the parameter."""

import pytest

from biped_gait.params import PARAMETERS, ParameterError, validate


def _values(**changes):
    values = {spec.name: spec.default for spec in PARAMETERS}
    values.update(changes)
    return values


def test_defaults_are_valid_and_reach_the_config():
    params = validate(_values(**{"timing.single_support_s": 0.4, "com_height": 0.6}))
    assert params.gait.timing.single_support == 0.4 and params.gait.com_height == 0.6


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("com_height", 5.0),
        ("timing.single_support_s", -0.1),
        ("stale_timeout_s", float("nan")),
        ("com_height", "high"),
        ("robot_description", "/no/such/robot.yaml"),
        ("odom_frame", ""),
    ],
)
def test_bad_values_name_the_parameter(name, value):
    with pytest.raises(ParameterError, match=name.replace(".", r"\.")):
        validate(_values(**{name: value}))


def test_inconsistent_values_are_refused():
    with pytest.raises(ParameterError, match="min_foot_separation"):
        validate(_values(**{"steps.foot_separation_m": 0.12}))
