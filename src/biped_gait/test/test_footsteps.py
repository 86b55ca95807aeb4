"""Footstep planner invariants: step lengths follow the command, limits hold, feet never cross,
closing steps square the feet."""

import math

import numpy as np
import pytest

from biped_gait.core.footsteps import (
    LEFT,
    RIGHT,
    FootstepPlanner,
    Pose2,
    StepLimits,
    other_side,
    walking_frame,
)
from biped_gait.errors import BipedGaitError

LIMITS = StepLimits()
PERIOD = 0.45


def _stand(separation=LIMITS.foot_separation):
    return {LEFT: Pose2(0.0, separation / 2, 0.0), RIGHT: Pose2(0.0, -separation / 2, 0.0)}


def _walk(command, steps=12, first=LEFT):
    planner = FootstepPlanner(LIMITS, PERIOD)
    feet = _stand()
    side = first
    history = []
    for _ in range(steps):
        step = planner.next_step(side, feet[side], feet[other_side(side)], np.array(command))
        history.append(step)
        feet[side] = step.target
        side = other_side(side)
    return feet, history


def test_forward_step_length_follows_the_command():
    feet, history = _walk([0.3, 0.0, 0.0])
    for step in history:
        ahead = step.stance.inverse_transform(step.target.x, step.target.y)[0]
        assert ahead == pytest.approx(0.3 * PERIOD, abs=1e-9)
    assert feet[LEFT].y == pytest.approx(LIMITS.foot_separation / 2)


def test_step_limits_clamp_fast_commands():
    planner = FootstepPlanner(LIMITS, PERIOD)
    dx, dy, dyaw = planner.displacement(np.array([5.0, -5.0, 5.0]))
    assert (dx, dy, dyaw) == (LIMITS.max_step_forward, -LIMITS.max_step_side, LIMITS.max_step_turn)
    dx, _, _ = planner.displacement(np.array([-5.0, 0.0, 0.0]))
    assert dx == -LIMITS.max_step_backward


@pytest.mark.parametrize("seed", range(6))
def test_feet_never_cross(seed):
    """Random commands: the swing target keeps the minimum separation in the stance frame."""
    rng = np.random.default_rng(seed)
    planner = FootstepPlanner(LIMITS, PERIOD)
    feet, side = _stand(), LEFT
    for _ in range(40):
        command = rng.uniform([-0.3, -0.3, -0.8], [0.5, 0.3, 0.8])
        stance_side = other_side(side)
        step = planner.next_step(side, feet[side], feet[stance_side], command)
        lateral = feet[stance_side].inverse_transform(step.target.x, step.target.y)[1]
        sign = 1.0 if side == LEFT else -1.0
        assert sign * lateral >= LIMITS.min_foot_separation - 1e-9
        feet[side] = step.target
        side = stance_side


def test_side_stepping_moves_the_frame_and_keeps_the_width():
    feet, history = _walk([0.0, 0.15, 0.0], steps=10)
    frame = walking_frame(feet[LEFT], LEFT, LIMITS.foot_separation)
    assert frame.y == pytest.approx(0.15 * PERIOD * 10, abs=0.08)
    # Every right step lands back at the nominal width.
    for step in history:
        if step.side == RIGHT:
            width = step.stance.inverse_transform(step.target.x, step.target.y)[1]
            assert width == pytest.approx(-LIMITS.foot_separation)


def test_turning_rotates_the_outer_foot_first():
    _, history = _walk([0.0, 0.0, 0.5], steps=4)
    assert history[0].target.yaw == pytest.approx(2 * 0.5 * PERIOD)  # left foot turns out
    assert history[1].target.yaw == pytest.approx(history[0].target.yaw)  # right follows
    total = history[-1].target.yaw
    assert total == pytest.approx(0.5 * PERIOD * 4)


def test_closing_step_squares_the_feet():
    planner = FootstepPlanner(LIMITS, PERIOD)
    stance = Pose2(0.3, -0.1, 0.2)
    swing = Pose2(0.1, 0.2, 0.0)
    step = planner.next_step(LEFT, swing, stance, np.zeros(3), closing=True)
    assert step.closing and step.target.yaw == pytest.approx(0.2)
    local = stance.inverse_transform(step.target.x, step.target.y)
    assert local == pytest.approx((0.0, LIMITS.foot_separation))


def test_bad_limits_raise():
    with pytest.raises(BipedGaitError, match="min_foot_separation"):
        StepLimits(foot_separation=0.2, min_foot_separation=0.3)
    with pytest.raises(BipedGaitError, match="max_step_forward"):
        StepLimits(max_step_forward=math.nan)
    with pytest.raises(BipedGaitError, match="step period"):
        FootstepPlanner(LIMITS, 0.0)
