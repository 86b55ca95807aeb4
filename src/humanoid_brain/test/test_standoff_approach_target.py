"""Stand-off planning, the approach law in closed loop, and target tracking (no ROS graph)."""

import math

import numpy as np
import pytest

from humanoid_brain.core.approach import ApproachConfig, ApproachController
from humanoid_brain.core.geometry import Pose2D
from humanoid_brain.core.standoff import StandoffConfig, StandoffPlanner, standoff_pose
from humanoid_brain.core.target import TargetConfig, TargetTracker
from humanoid_brain.errors import HumanoidBrainError

CONFIG = StandoffConfig(reach_distance_m=0.3, lateral_offset_m=-0.15)


def test_object_lies_at_the_reach_point_of_the_standoff():
    rng = np.random.default_rng(5)
    for _ in range(100):
        obj = rng.uniform(-2, 2, size=2)
        heading = rng.uniform(-math.pi, math.pi)
        pose = standoff_pose(CONFIG, obj, heading)
        assert np.allclose(pose.to_local(obj), [0.3, -0.15])
        assert pose.yaw == heading


def test_keep_out_line_moves_the_standoff_back_along_the_heading():
    config = StandoffConfig(reach_distance_m=0.2, lateral_offset_m=0.0, max_x_m=0.1)
    pose = standoff_pose(config, (0.5, 0.0), 0.0)
    assert pose.x == pytest.approx(0.1) and pose.y == pytest.approx(0.0)
    tilted = standoff_pose(config, (0.5, 0.1), 0.3)
    assert tilted.x == pytest.approx(0.1)
    # Still on the line through the object along the heading.
    local = tilted.to_local((0.5, 0.1))
    assert local[1] == pytest.approx(0.0, abs=1e-12) and local[0] > 0.2


def test_planner_freezes_heading_and_ignores_small_shifts():
    planner = StandoffPlanner(StandoffConfig(replan_distance_m=0.05))
    robot = Pose2D(0.0, 0.0, 0.0)
    first = planner.update((1.0, 1.0, 0.7), robot)
    assert first.yaw == pytest.approx(math.pi / 4)
    assert planner.update((1.02, 1.0, 0.7), Pose2D(0.5, 0.2, 1.0)) == first  # 2 cm: kept
    moved = planner.update((1.2, 1.0, 0.7), Pose2D(0.5, 0.2, 1.0))
    assert moved.yaw == first.yaw and moved.x == pytest.approx(first.x + 0.2)
    planner.reset()
    assert planner.goal is None


def simulate(controller, start: Pose2D, goal: Pose2D, dt=0.05, seconds=60.0, tracking=1.0):
    """An omnidirectional base that executes ``tracking`` x the command."""
    pose, commands = start, []
    for _ in range(int(seconds / dt)):
        out = controller.step(pose, goal, dt)
        commands.append(out.command)
        if out.arrived:
            return pose, commands, True
        vx, vy, wz = (tracking * v for v in out.command)
        cos, sin = math.cos(pose.yaw), math.sin(pose.yaw)
        pose = Pose2D(
            pose.x + (cos * vx - sin * vy) * dt,
            pose.y + (sin * vx + cos * vy) * dt,
            pose.yaw + wz * dt,
        )
    return pose, commands, False


@pytest.mark.parametrize("tracking", [1.0, 0.6])
def test_approach_converges_within_limits_from_many_starts(tracking):
    config = ApproachConfig()
    rng = np.random.default_rng(6)
    for _ in range(25):
        start = Pose2D(*rng.uniform(-1.5, 1.5, size=2), rng.uniform(-math.pi, math.pi))
        goal = Pose2D(*rng.uniform(-0.5, 0.5, size=2), rng.uniform(-1.0, 1.0))
        controller = ApproachController(config)
        pose, commands, arrived = simulate(controller, start, goal, tracking=tracking)
        assert arrived, (start, goal, pose)
        assert pose.distance_to(goal) <= config.position_tolerance_m
        array = np.array(commands)
        assert np.all(array[:, 0] <= config.max_forward_mps + 1e-12)
        assert np.all(array[:, 0] >= -0.5 * config.max_forward_mps - 1e-12)
        assert np.all(np.abs(array[:, 1]) <= config.max_lateral_mps + 1e-12)
        assert np.all(np.abs(array[:, 2]) <= config.max_turn_rps + 1e-12)
        # The rate limit holds between steps (the final zero at arrival excepted).
        steps = np.abs(np.diff(array[:-1], axis=0))
        assert np.all(steps <= config.max_accel * 0.05 + 1e-9)


def test_arrived_commands_zero_and_bad_dt_raises():
    controller = ApproachController()
    out = controller.step(Pose2D(0, 0, 0), Pose2D(0.01, 0.0, 0.02), 0.05)
    assert out.arrived and out.command == (0.0, 0.0, 0.0)
    with pytest.raises(HumanoidBrainError, match="dt"):
        controller.step(Pose2D(0, 0, 0), Pose2D(1, 0, 0), 0.0)
    with pytest.raises(HumanoidBrainError, match="max_turn_rps"):
        ApproachConfig(max_turn_rps=0.0)


def test_target_is_confirmed_smoothed_and_lost():
    tracker = TargetTracker(TargetConfig(lost_timeout_s=1.0, min_detections=2, smoothing=0.5))
    assert not tracker.visible(0.0) and tracker.lost(0.0)
    tracker.update((1.0, 0.0, 0.7), 0.0)
    assert not tracker.visible(0.0)  # one detection is not enough
    tracker.update((1.02, 0.0, 0.7), 0.1)
    assert tracker.visible(0.1)
    assert np.allclose(tracker.position, [1.01, 0.0, 0.7])
    assert tracker.visible(1.1) and tracker.lost(1.11)
    # After a gap, the count restarts.
    tracker.update((1.0, 0.0, 0.7), 3.0)
    assert not tracker.visible(3.0)


def test_a_far_detection_restarts_the_estimate():
    tracker = TargetTracker(TargetConfig(jump_m=0.1, min_detections=2))
    for t in (0.0, 0.1, 0.2):
        tracker.update((1.0, 0.0, 0.7), t)
    tracker.update((1.5, 0.0, 0.7), 0.3)
    assert np.allclose(tracker.position, [1.5, 0.0, 0.7]) and tracker.count == 1
    with pytest.raises(HumanoidBrainError, match="finite"):
        tracker.update((math.nan, 0, 0), 0.4)


def test_near_the_goal_a_heading_error_is_turned_away_before_stepping():
    """The whole chain's failure: robot (0.02, -0.04, 0), goal (0.15, 0.11, -0.29). Asked to
    turn and side-step at once the gait drifted the other way and the robot fell."""
    config = ApproachConfig()
    controller = ApproachController(config)
    goal = Pose2D(0.15, 0.113, -0.291)
    _, commands, arrived = simulate(controller, Pose2D(0.02, -0.038, 0.0), goal)
    assert arrived
    array = np.array(commands)
    turning = np.abs(array[:, 2]) > 1e-9
    stepping = np.hypot(array[:, 0], array[:, 1]) > 1e-9
    # Never a sizeable turn together with a sizeable step: turn first, then walk.
    both = turning & stepping
    assert np.all(np.abs(array[both, 2]) <= config.gain_angular * config.turn_in_place_rad + 1e-9)
    first_step = int(np.argmax(stepping))
    assert first_step > 0 and np.all(~stepping[:first_step])


def test_standoff_heading_turns_at_most_max_turn_rad():
    robot = Pose2D(0.0, 0.0, 0.1)
    obj = (0.42, -0.125)  # bearing -0.29 rad
    free = StandoffPlanner(StandoffConfig()).update(obj, robot)
    assert free.yaw == pytest.approx(math.atan2(-0.125, 0.42))
    straight = StandoffPlanner(StandoffConfig(max_turn_rad=0.0)).update(obj, robot)
    assert straight.yaw == pytest.approx(0.1)
    # The object still lies at the reach point of the stand-off frame.
    assert np.allclose(straight.to_local(obj), [0.30, -0.15], atol=1e-9)
    limited = StandoffPlanner(StandoffConfig(max_turn_rad=0.2)).update(obj, robot)
    assert limited.yaw == pytest.approx(-0.1)
    with pytest.raises(HumanoidBrainError, match="max_turn_rad"):
        StandoffConfig(max_turn_rad=-0.1)


def test_late_detections_keep_the_target_seen_and_fresh_ones_restart_the_estimate() -> None:
    tracker = TargetTracker(TargetConfig(lost_timeout_s=1.0, min_detections=2))
    tracker.update([1.0, 0.0, 0.7], 0.0)
    tracker.update([1.0, 0.0, 0.7], 0.1)
    # Measured at 0.2 s but received at 0.9 s (a starved camera): seen until 1.9 s, not 1.2 s.
    tracker.update([1.0, 0.0, 0.7], 0.2, received_s=0.9)
    assert tracker.visible(1.8) and not tracker.lost(1.8)
    assert tracker.lost(3.0)
    # Restart at 3.0 s: a detection measured before it is not averaged in; the first after it
    # replaces the estimate.
    tracker.restart(3.0)
    tracker.update([1.2, 0.0, 0.7], 2.9, received_s=3.1)
    assert np.allclose(tracker.position, [1.0, 0.0, 0.7]) and tracker.fresh_count == 0
    tracker.update([1.05, 0.0, 0.7], 3.05, received_s=3.2)
    assert np.allclose(tracker.position, [1.05, 0.0, 0.7]) and tracker.fresh_count == 1
