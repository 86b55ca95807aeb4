"""humanoid_common.params: the range and choice checks every node's parameters go through."""

from __future__ import annotations

import math

import pytest
from humanoid_common.params import ParamSpec, check_specs, stack_root

SPECS = (
    ParamSpec("rate_hz", 100.0, "Rate [Hz]", 1.0, 1000.0),
    ParamSpec("mode", "paced", "Mode", choices=("paced", "lockstep")),
    ParamSpec("name", "x", "Free text"),
)


class BadParameter(ValueError):
    pass


def test_accepts_values_in_range_and_choices():
    check_specs(SPECS, {"rate_hz": 1.0, "mode": "lockstep", "name": ""}, BadParameter)
    check_specs(SPECS, {"rate_hz": 1000.0, "mode": "paced", "name": "y"}, BadParameter)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rate_hz": 0.5}, "parameter 'rate_hz': 0.5 is outside [1.0, 1000.0]"),
        ({"rate_hz": math.nan}, "parameter 'rate_hz': nan is outside"),
        ({"rate_hz": math.inf}, "parameter 'rate_hz': inf is outside"),
        ({"mode": "fast"}, "parameter 'mode': 'fast' is not one of ['paced', 'lockstep']"),
    ],
)
def test_refuses_naming_the_parameter(values, message):
    with pytest.raises(BadParameter) as caught:
        check_specs(SPECS, {"rate_hz": 100.0, "mode": "paced", "name": "x", **values}, BadParameter)
    assert message in str(caught.value)


def test_stack_root_holds_the_robot_descriptions(monkeypatch, tmp_path):
    assert (stack_root() / "config" / "robots" / "g1_dex3.yaml").is_file()
    monkeypatch.setenv("HUMANOID_STACK_ROOT", str(tmp_path))
    assert stack_root() == tmp_path
