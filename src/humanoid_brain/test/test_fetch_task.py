"""The fetch task's decisions in closed loop with a simulated world (no ROS graph).

The world: an omnidirectional base that executes the velocity command (a kinematic stand-in
for the walking robot), a camera that sees the object while the test says so, and a scripted
hand whose grasps succeed or fail as the test says.
"""

import dataclasses
import math

import numpy as np

from humanoid_brain.core.approach import ApproachConfig
from humanoid_brain.core.fetch_fsm import FetchConfig, FetchState
from humanoid_brain.core.fetch_task import FetchTask, TaskConfig, TaskInputs
from humanoid_brain.core.geometry import Pose2D
from humanoid_brain.core.standoff import StandoffConfig

OBJECT = np.array([0.9, -0.3, 0.72])
CONFIG = TaskConfig(
    fsm=FetchConfig(
        wait_target_timeout_s=3.0,
        approach_timeout_s=30.0,
        grasp_timeout_s=5.0,
        lift_timeout_s=5.0,
        max_retries=2,
        settle_timeout_s=3.0,
        hold_s=1.0,
        recover_timeout_s=3.0,
    ),
    standoff=StandoffConfig(reach_distance_m=0.3, lateral_offset_m=-0.15),
    approach=ApproachConfig(max_forward_mps=0.5),
    max_repositions=2,
)


class World:
    def __init__(
        self,
        grasp_outcomes,
        visible_until=math.inf,
        refuse_walks=0,
        walking_bias_m=0.0,
        coast_m=0.0,
        coasts=0,
        push_m=0.0,
    ):
        self.refuse_walks = refuse_walks
        # Detections made while walking are off by this much along x (sway, latency).
        self.walking_bias_m = walking_bias_m
        # The first ``coasts`` stops carry the robot ``coast_m`` on along its heading.
        self.coast_m, self.coasts = coast_m, coasts
        # A failed grasp pushes the object this far along y (the hand knocked it aside).
        self.push_m = push_m
        self.object = OBJECT.copy()
        self.walk_calls = []
        self.vision = []  # pause (False) / resume (True) requests
        self.pose = Pose2D(0.0, 0.0, 0.0)
        self.cmd = (0.0, 0.0, 0.0)
        self.walking = False
        self.grasp_outcomes = list(grasp_outcomes)
        self.visible_until = visible_until
        self.grasp_started = None
        self.release_started = None
        self.log = []

    def inputs(self, t, task, abort=False):
        if t <= self.visible_until:
            bias = np.array([self.walking_bias_m if self.walking else 0.0, 0.0, 0.0])
            task.observe_target(self.object + bias + 0.002 * np.sin(7 * t), t)
        grasp_result = release_result = None
        phase = ""
        if self.grasp_started is not None:
            elapsed = t - self.grasp_started
            success = self.grasp_outcomes[0]
            phase = "LIFT" if success and elapsed > 0.5 else "CLOSE"
            if elapsed > 1.0:
                grasp_result = (success, "ok" if success else "no contact")
                if not success:
                    self.object = self.object + [0.0, self.push_m, 0.0]
                self.grasp_outcomes.pop(0)
                self.grasp_started = None
        if self.release_started is not None and t - self.release_started > 0.5:
            release_result, self.release_started = (True, "released"), None
        speed = math.hypot(self.cmd[0], self.cmd[1])
        return TaskInputs(
            robot=self.pose,
            speed_mps=speed,
            turn_rps=self.cmd[2],
            gait_state="WALK" if self.walking else "STAND",
            grasp_phase=phase,
            grasp_result=grasp_result,
            release_result=release_result,
            in_contact=3,
            abort_requested=abort,
        )

    def act(self, out, t, dt, task=None):
        if out.gait_request == "walk":
            self.walk_calls.append(t)
        if out.gait_request == "walk" and self.refuse_walks > 0:
            # The gait is still ramping its stand up: it refuses, and the brain hears it.
            self.refuse_walks -= 1
            task.walk_refused(t)
        elif out.gait_request:
            self.log.append(out.gait_request)
            if out.gait_request == "stop" and self.walking and self.coasts > 0:
                self.coasts -= 1
                self.pose = Pose2D(
                    self.pose.x + self.coast_m * math.cos(self.pose.yaw),
                    self.pose.y + self.coast_m * math.sin(self.pose.yaw),
                    self.pose.yaw,
                )
            self.walking = out.gait_request == "walk"
        if out.vision_request is not None:
            self.vision.append((out.vision_request, out.state))
        if out.send_grasp:
            self.log.append("grasp")
            self.grasp_started = t
            self.grasp_object = out.object_odom
        if out.cancel_grasp:
            self.log.append("cancel")
            self.grasp_started = None
        if out.send_release:
            self.log.append("release")
            self.release_started = t
        if out.cmd_vel is not None:
            self.cmd = tuple(out.cmd_vel) if self.walking else (0.0, 0.0, 0.0)
        vx, vy, wz = self.cmd
        cos, sin = math.cos(self.pose.yaw), math.sin(self.pose.yaw)
        self.pose = Pose2D(
            self.pose.x + (cos * vx - sin * vy) * dt,
            self.pose.y + (sin * vx + cos * vy) * dt,
            self.pose.yaw + wz * dt,
        )


def run(world, seconds=60.0, dt=0.05, abort_at=None, config=CONFIG):
    task = FetchTask(config)
    assert task.start()
    states, t = [], 0.0
    while t < seconds:
        t += dt
        inputs = world.inputs(t, task, abort=abort_at is not None and t >= abort_at)
        out = task.step(inputs, t, dt)
        world.act(out, t, dt, task)
        if not states or states[-1][0] is not out.state:
            states.append((out.state, out.reason))
        if out.state in (FetchState.DONE, FetchState.ABORTED):
            return task, [s for s, _ in states], states[-1][1]
    raise AssertionError(f"no final state in {seconds} s: {states}")


def test_a_refused_walk_is_asked_again_until_the_gait_walks():
    world = World([True], refuse_walks=3)
    _, states, _ = run(world)
    assert states[-1] is FetchState.DONE
    assert world.log == ["walk", "stop", "grasp"]
    # Four requests (three refused), each walk_retry_s after the refusal, not every step.
    assert len(world.walk_calls) == 4
    gaps = np.diff(world.walk_calls)
    assert np.all(gaps >= CONFIG.walk_retry_s - 1e-9) and np.all(gaps < CONFIG.walk_retry_s + 0.1)


def test_walks_to_the_standoff_grasps_lifts_and_holds():
    world = World([True])
    task, states, _ = run(world)
    assert states == [
        FetchState.WAIT_TARGET,
        FetchState.APPROACH,
        FetchState.SETTLE,
        FetchState.GRASP,
        FetchState.LIFT,
        FetchState.HOLD,
        FetchState.DONE,
    ]
    assert world.log == ["walk", "stop", "grasp"]
    # It stood where the object is within reach of the right hand.
    assert np.allclose(world.pose.to_local(OBJECT[:2]), [0.3, -0.15], atol=0.06)
    assert np.allclose(world.grasp_object, OBJECT, atol=0.01)
    assert task.fsm.failures == 0


def test_the_grasp_target_is_estimated_from_detections_made_while_standing():
    """Detections made while walking are 5 cm off: the grasp goal must not carry that."""
    world = World([True], walking_bias_m=0.05)
    task, states, _ = run(world)
    assert states[-1] is FetchState.DONE
    assert np.linalg.norm(world.grasp_object - OBJECT) < 0.005, world.grasp_object


def test_a_robot_that_stopped_past_the_standoff_walks_back_before_grasping():
    world = World([True], coast_m=0.15, coasts=1)
    task, states, _ = run(world)
    assert states[-1] is FetchState.DONE
    settle = states.index(FetchState.SETTLE)
    assert states[settle : settle + 4] == [
        FetchState.SETTLE,
        FetchState.APPROACH,
        FetchState.SETTLE,
        FetchState.GRASP,
    ]
    assert task.repositions == 1 and task.fsm.failures == 0
    goal = task.planner.goal
    assert math.hypot(goal.x - world.pose.x, goal.y - world.pose.y) < 0.07


def test_repositions_are_bounded_then_it_grasps_from_where_it_stands():
    world = World([True], coast_m=0.15, coasts=100)
    task, states, _ = run(world)
    assert states[-1] is FetchState.DONE
    assert task.repositions == CONFIG.max_repositions == 2
    assert states.count(FetchState.SETTLE) == 3


def test_failed_grasp_releases_then_regrasps():
    world = World([False, True])
    task, states, _ = run(world)
    assert states[-1] is FetchState.DONE and task.fsm.failures == 1
    assert FetchState.RECOVER in states
    # release between the two grasps; the second attempt needs no walk (already there)
    assert world.log == ["walk", "stop", "grasp", "release", "grasp"]
    # Vision paused while the hand works, resumed to find the object again and at the end.
    assert world.vision == [
        (False, FetchState.GRASP),
        (True, FetchState.RECOVER),
        (False, FetchState.GRASP),
        (True, FetchState.DONE),
    ]
    assert not task.vision_paused


def test_a_retry_near_the_standoff_grasps_again_from_where_it_stands():
    """The robot stopped 10 cm past the stand-off (it arrives 5 cm short, then coasts 15 cm)
    and grasped from there (no walk back); the grasp failed. The retry grasps again from the
    same spot: within ``retry_tolerance_m`` no short walk right after a stop. Farther away,
    or with a tighter tolerance, it walks."""
    no_walk_back = dataclasses.replace(CONFIG, max_repositions=0)
    world = World([False, True], coast_m=0.15, coasts=1)
    task, states, _ = run(world, config=no_walk_back)
    assert states[-1] is FetchState.DONE and task.fsm.failures == 1
    assert world.log == ["walk", "stop", "grasp", "release", "grasp"]
    # The hand pushed the object 5 cm aside: the same spot may be out of reach; walk (the new
    # stand-off is within retry_tolerance_m: without the object check this would not walk).
    world = World([False, True], coast_m=0.08, coasts=1, push_m=0.05)
    task, states, _ = run(world, config=no_walk_back)
    assert states[-1] is FetchState.DONE
    assert world.log == ["walk", "stop", "grasp", "release", "walk", "stop", "grasp"]
    for coast_m, tolerance_m in ((0.15, 0.05), (0.25, 0.12)):
        world = World([False, True], coast_m=coast_m, coasts=1)
        config = dataclasses.replace(no_walk_back, retry_tolerance_m=tolerance_m)
        task, states, _ = run(world, config=config)
        assert states[-1] is FetchState.DONE
        assert world.log[:4] == ["walk", "stop", "grasp", "release"]
        assert world.log[4:] == ["walk", "stop", "grasp"], (coast_m, tolerance_m, world.log)


def test_grasp_keeps_failing_and_the_task_aborts_safely():
    world = World([False, False, False])
    task, states, reason = run(world)
    assert states[-1] is FetchState.ABORTED and "giving up" in reason
    assert task.fsm.failures == 3
    assert world.log[-2:] == ["stop", "release"]  # the abort: stop walking, open the hand
    assert world.vision[-1] == (True, FetchState.ABORTED) and not task.vision_paused


def test_abort_while_walking_stops_and_releases():
    world = World([True])
    task, states, reason = run(world, abort_at=1.0)
    assert states[-1] is FetchState.ABORTED and reason == "abort requested in APPROACH"
    assert world.log == ["walk", "stop", "release"]
    assert world.cmd == (0.0, 0.0, 0.0)


def test_lost_target_stops_redetects_then_times_out():
    world = World([True], visible_until=1.0)
    task, states, reason = run(world)
    assert states == [
        FetchState.WAIT_TARGET,
        FetchState.APPROACH,
        FetchState.WAIT_TARGET,
        FetchState.ABORTED,
    ]
    assert "WAIT_TARGET timed out" in reason and task.fsm.failures == 1
    assert world.log == ["walk", "stop", "stop", "release"]
    assert world.cmd == (0.0, 0.0, 0.0)


def test_a_fall_aborts():
    world = World([True])
    task = FetchTask(CONFIG)
    task.start()
    task.step(world.inputs(0.05, task), 0.05, 0.05)
    out = task.step(TaskInputs(robot=world.pose, gait_state="DAMPING"), 0.1, 0.05)
    assert out.state is FetchState.ABORTED and "robot fell" in out.reason
    assert out.send_release and out.gait_request == "stop"


def test_idle_task_commands_nothing_and_start_is_refused_while_running():
    task = FetchTask(CONFIG)
    out = task.step(TaskInputs(), 1.0, 0.05)
    assert out.cmd_vel is None and task.state is None
    assert task.start() and not task.start()
