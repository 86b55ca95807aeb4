"""Velocity command conditioning: NaN rejected, limits clamped, rate limited, timeout."""

import math

import numpy as np
import pytest

from biped_gait.core.command import VelocityCommandFilter, VelocityLimits
from biped_gait.errors import BipedGaitError


def test_non_finite_commands_are_rejected_and_change_nothing():
    commands = VelocityCommandFilter(VelocityLimits())
    commands.set_target([0.2, 0.0, 0.0], 0.0)
    for bad in ([math.nan, 0, 0], [0, math.inf, 0], [0, 0, -math.inf]):
        result = commands.set_target(bad, 0.1)
        assert not result.accepted and "non-finite" in result.message
        np.testing.assert_allclose(commands.target, [0.2, 0.0, 0.0])


def test_commands_beyond_limits_are_clamped_with_a_message():
    limits = VelocityLimits(max_forward=0.5, max_backward=0.25, max_side=0.2, max_turn=0.6)
    result = VelocityCommandFilter(limits).set_target([3.0, -1.0, 9.0], 0.0)
    assert result.accepted and "clamped" in result.message
    np.testing.assert_allclose(result.target, [0.5, -0.2, 0.6])
    result = VelocityCommandFilter(limits).set_target([-3.0, 0.0, 0.0], 0.0)
    assert result.target[0] == -0.25


def test_rate_limit_and_timeout():
    limits = VelocityLimits(max_linear_acceleration=0.5, timeout=0.5)
    commands = VelocityCommandFilter(limits)
    commands.set_target([0.4, 0.0, 0.0], 0.0)
    now, dt = 0.0, 0.002
    for _ in range(100):
        now += dt
        walked = commands.step(now, dt)
    assert walked[0] == pytest.approx(0.1, abs=1e-9)  # 0.5 m/s^2 for 0.2 s
    forecast = commands.forecast(0.4)
    assert forecast[0] == pytest.approx(0.3, abs=1e-9)
    for _ in range(1000):  # no new command: after the timeout, back to zero
        now += dt
        walked = commands.step(now, dt)
    assert commands.is_zero(walked)


def test_bad_limits_raise():
    with pytest.raises(BipedGaitError, match="max_forward"):
        VelocityLimits(max_forward=-1.0)
