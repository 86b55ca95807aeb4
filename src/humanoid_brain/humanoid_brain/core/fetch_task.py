"""The fetch task's decisions: what the brain does at each control step, free of ROS.

:class:`FetchTask` combines the state machine (:mod:`.fetch_fsm`), the target tracker, the
stand-off planner and the approach controller. The node feeds it what the robot reports
(odometry, gait state, grasp feedback and results, tactile contacts, requests) and executes
what it returns: a velocity command, a gait service to call, a Grasp goal to send, a release
goal, a cancellation. Actions that must happen once are emitted once, on entering a state:

=============  ==============================================================================
state          on entry / while in it
=============  ==============================================================================
WAIT_TARGET    (a retry:) stop walking if walking; command zero velocity
APPROACH       the approach command toward the stand-off pose, which follows re-detections;
               ``walk`` is called with the first non-zero command (a retry that starts
               within ``retry_tolerance_m`` of the stand-off does not walk: it grasps again
               from where it stands)
SETTLE         call ``stop`` if walking; zero velocity until the robot stands still; then the
               target is estimated afresh from ``settle_detections`` detections made while
               standing (those made while walking carry the sway and the odometry's lag);
               if the robot stopped more than ``settle_tolerance_m`` from the stand-off
               (a gait stops within two steps, farther from a higher speed), walk there
               again (at most ``max_repositions`` times per task), else grasp
GRASP          send the Grasp goal (reach, close, squeeze, lift) for the tracked object;
               pause vision (the hand works by touch; a paused vision node unsubscribes, and
               the simulator then stops drawing frames: half a core on 2 cores)
LIFT, HOLD     wait for the lift; hold, watching the contacts
(any other)    resume vision if it was paused
RECOVER        cancel the grasp if it still runs; send a release goal (open and retract)
DONE           zero velocity; report
ABORTED        zero velocity, call ``stop``, cancel the grasp, send a release goal
=============  ==============================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from humanoid_brain.core.approach import (
    ZERO,
    ApproachConfig,
    ApproachController,
    ApproachOutput,
    Twist2D,
)
from humanoid_brain.core.fetch_fsm import (
    FINAL_STATES,
    FetchConfig,
    FetchInputs,
    FetchState,
    FetchStateMachine,
)
from humanoid_brain.core.geometry import Pose2D
from humanoid_brain.core.standoff import StandoffConfig, StandoffPlanner
from humanoid_brain.core.target import TargetConfig, TargetTracker
from humanoid_brain.errors import HumanoidBrainError

#: Grasp feedback phases that mean the object is gripped (humanoid_interfaces/action/Grasp).
GRIPPED_PHASES = frozenset({"HOLD", "LIFT"})
#: States in which vision is paused: the hand works by touch, the target is not needed.
VISION_PAUSED_STATES = frozenset({FetchState.GRASP, FetchState.LIFT, FetchState.HOLD})
#: Gait states in which the robot counts as standing (humanoid_interfaces/msg/GaitStatus).
STANDING_GAIT_STATES = frozenset({"STAND", "IDLE"})


@dataclass(frozen=True)
class TaskConfig:
    """Everything the task needs besides its inputs.

    Attributes:
        fsm: Timeouts, retries and optional stages of the state machine.
        standoff: Stand-off geometry.
        approach: Approach gains, limits, tolerances.
        target: Detection confirmation and loss.
        standing_speed_mps: Below this planar speed the robot may count as standing [m/s].
        standing_turn_rps: Below this turn rate the robot may count as standing [rad/s].
        drop_confirm_s: No tactile contact for this long while holding: dropped [s].
        walk_retry_s: After the gait refused to walk, ask again this much later [s].
        settle_detections: Detections made while standing before the grasp, >= 1.
        settle_tolerance_m: Standing farther than this from the stand-off: walk there again
            [m], > 0.
        max_repositions: How often per task SETTLE may walk again, >= 0.
        retry_tolerance_m: After a failed attempt, standing within this distance of the
            stand-off (and within the approach's heading tolerance) counts as arrived [m],
            > 0: the failed grasp was made from there (SETTLE does not walk back), and a short
            walk that starts right after a stop is where the gait falls. Only while the
            object lies within ``retry_object_moved_m`` of where the failed grasp aimed: an
            object the hand pushed away may be out of reach from there.
        retry_object_moved_m: See ``retry_tolerance_m`` [m], > 0.
    """

    fsm: FetchConfig = field(
        default_factory=lambda: FetchConfig(
            settle_timeout_s=10.0, hold_s=2.0, recover_timeout_s=10.0
        )
    )
    standoff: StandoffConfig = field(default_factory=StandoffConfig)
    approach: ApproachConfig = field(default_factory=ApproachConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    standing_speed_mps: float = 0.03
    standing_turn_rps: float = 0.05
    drop_confirm_s: float = 0.3
    walk_retry_s: float = 0.5
    settle_detections: int = 2
    settle_tolerance_m: float = 0.07
    max_repositions: int = 0
    retry_tolerance_m: float = 0.12
    retry_object_moved_m: float = 0.03

    def __post_init__(self) -> None:
        for name, low in (("settle_detections", 1), ("max_repositions", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise HumanoidBrainError(f"{name} = {value!r}: expected an integer >= {low}")
        for name in (
            "standing_speed_mps",
            "standing_turn_rps",
            "drop_confirm_s",
            "walk_retry_s",
            "settle_tolerance_m",
            "retry_tolerance_m",
            "retry_object_moved_m",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise HumanoidBrainError(f"{name} = {value!r}: expected a finite value > 0")


@dataclass(frozen=True)
class TaskInputs:
    """What the robot reported since the previous step.

    Attributes:
        robot: Pelvis pose on the floor in the odometry frame (None: no odometry yet).
        speed_mps: Planar speed of the pelvis [m/s].
        turn_rps: Turn rate of the pelvis [rad/s].
        gait_state: The gait's state name (STAND, WALK, IDLE, DAMPING), None if unknown.
        grasp_phase: Latest feedback phase of the running Grasp goal ("" if none).
        grasp_result: (success, reason) of the Grasp goal, when it ended since the last step.
        release_result: (success, reason) of the release goal, when it ended.
        in_contact: Tactile pads in contact (None: no contact information).
        abort_requested: An operator asked to abort.
    """

    robot: Pose2D | None = None
    speed_mps: float = 0.0
    turn_rps: float = 0.0
    gait_state: str | None = None
    grasp_phase: str = ""
    grasp_result: tuple[bool, str] | None = None
    release_result: tuple[bool, str] | None = None
    in_contact: int | None = None
    abort_requested: bool = False


class TaskOutputs(NamedTuple):
    """What to do now.

    Attributes:
        state: State after this step.
        changed: A transition happened in this step.
        reason: Why (empty if nothing changed).
        failures: Failed attempts so far.
        cmd_vel: Velocity to publish (None: publish nothing).
        gait_request: ``"walk"`` or ``"stop"``: call that gait service once (None: none).
        send_grasp: Send the Grasp goal for :attr:`object_odom` now.
        send_release: Send a release goal now.
        cancel_grasp: Cancel the running Grasp goal now.
        vision_request: False: pause vision now, True: resume it now, None: nothing.
        object_odom: Tracked object position in the odometry frame [m] (None: unknown).
        goal: Stand-off pose (None: none yet).
        distance_m: Distance to the stand-off [m] (NaN when unknown).
    """

    state: FetchState
    changed: bool
    reason: str
    failures: int
    cmd_vel: Twist2D | None
    gait_request: str | None
    send_grasp: bool
    send_release: bool
    cancel_grasp: bool
    vision_request: bool | None
    object_odom: np.ndarray | None
    goal: Pose2D | None
    distance_m: float


class FetchTask:
    """One fetch task at a time: :meth:`start`, then :meth:`step` at the control rate."""

    def __init__(self, config: TaskConfig | None = None) -> None:
        self.config = config or TaskConfig()
        self.fsm = FetchStateMachine(self.config.fsm)
        self.tracker = TargetTracker(self.config.target)
        self.planner = StandoffPlanner(self.config.standoff)
        self.approach = ApproachController(self.config.approach)
        self.active = False
        self.walking = False  # "walk" requested and no "stop" since
        self._walk_retry_at = -math.inf
        self.grasp_running = False
        self._grasp_outcome: tuple[bool, str] | None = None
        self._no_contact_since: float | None = None
        self._standing_since: float | None = None
        self.repositions = 0
        self.vision_paused = False  # a pause was requested and no resume since
        self._grasp_aim: np.ndarray | None = None  # the object where the last grasp aimed
        self.last_reason = ""

    # ----------------------------------------------------------------- commands
    def start(self) -> bool:
        """Start a task (WAIT_TARGET). Returns False if one is already running."""
        if self.active and self.fsm.state not in FINAL_STATES:
            return False
        self.fsm.reset()
        self.planner.reset()
        self.approach.reset()
        self.active = True
        self.walking = False
        self._grasp_outcome = None
        self._no_contact_since = None
        self._standing_since = None
        self.repositions = 0
        self._grasp_aim = None
        self.tracker.end_restart()
        self.last_reason = "started"
        return True

    def observe_target(self, position_odom, t: float, received_s: float | None = None) -> None:
        """A detection of the target at ``position_odom`` [m], measured at ``t`` [s] and
        received at ``received_s`` [s] (default: ``t``)."""
        self.tracker.update(position_odom, t, received_s)

    def walk_refused(self, t: float) -> None:
        """The gait refused ``walk`` (e.g. still ramping up its stand) at ``t`` [s]: ask again
        ``walk_retry_s`` later while the approach still wants to move."""
        self.walking = False
        self._walk_retry_at = t + self.config.walk_retry_s

    @property
    def state(self) -> FetchState | None:
        """The current state, None before the first :meth:`start`."""
        return self.fsm.state if self.active else None

    # --------------------------------------------------------------------- step
    def step(self, inputs: TaskInputs, t: float, dt: float) -> TaskOutputs:
        """One control step at time ``t`` [s], ``dt`` [s] after the previous one.

        Raises:
            HumanoidBrainError: If time goes backwards (the caller should abort and restart).
        """
        if not self.active:
            return self._outputs(None, False, "", None, None)
        state = self.fsm.state
        if inputs.grasp_result is not None:
            self.grasp_running = False
            self._grasp_outcome = inputs.grasp_result
        approach = None
        if state is FetchState.APPROACH and inputs.robot is not None:
            if self.tracker.position is not None:
                goal = self.planner.update(self.tracker.position, inputs.robot)
                approach = self._retry_arrival(self.approach.step(inputs.robot, goal, dt))
        out = self.fsm.step(self._fsm_inputs(state, inputs, approach, t), t)
        if out.changed:
            self.last_reason = out.reason
        if out.changed and (out.previous_state, out.state) == (
            FetchState.SETTLE,
            FetchState.APPROACH,
        ):
            self.repositions += 1
        actions = self._enter(out.state) if out.changed else {}
        if out.state is FetchState.APPROACH and not out.changed:
            cmd = approach.command if approach is not None and not approach.arrived else ZERO
            if cmd != ZERO and not self.walking and t >= self._walk_retry_at:
                self.walking, actions = True, {"gait": "walk"}
        elif out.state in FINAL_STATES:
            cmd = ZERO if out.changed else None
        else:
            cmd = ZERO
        distance = approach.distance_m if approach is not None else math.nan
        return self._outputs(out, out.changed, out.reason, cmd, actions, distance)

    def _retry_arrival(self, approach: ApproachOutput) -> ApproachOutput:
        """A retry that has not walked yet has arrived within ``retry_tolerance_m``."""
        aim, position = self._grasp_aim, self.tracker.position
        if (
            approach.arrived
            or self.fsm.failures == 0
            or self.walking
            or approach.distance_m > self.config.retry_tolerance_m
            or abs(approach.yaw_error_rad) > self.config.approach.yaw_tolerance_rad
            or aim is None
            or position is None
            or float(np.linalg.norm(position - aim)) > self.config.retry_object_moved_m
        ):
            return approach
        self.approach.reset()
        return approach._replace(command=ZERO, arrived=True)

    def _fsm_inputs(self, state, inputs: TaskInputs, approach, t: float) -> FetchInputs:
        outcome = self._grasp_outcome
        gripped = inputs.grasp_phase in GRIPPED_PHASES or (outcome is not None and outcome[0])
        standing = (
            inputs.robot is not None
            and inputs.speed_mps < self.config.standing_speed_mps
            and abs(inputs.turn_rps) < self.config.standing_turn_rps
            and (inputs.gait_state is None or inputs.gait_state in STANDING_GAIT_STATES)
        )
        fell = inputs.gait_state == "DAMPING"
        release = inputs.release_result
        reposition = False
        if state is FetchState.SETTLE:
            standing, reposition = self._settled(standing, inputs.robot, t)
        return FetchInputs(
            target_visible=self.tracker.visible(t),
            approach_done=approach is not None and approach.arrived,
            grasp_succeeded=state is FetchState.GRASP and gripped,
            grasp_failed=outcome is not None and not outcome[0],
            lift_done=outcome is not None and outcome[0],
            object_dropped=(outcome is not None and not outcome[0]) or self._dropped(inputs, t),
            abort_requested=inputs.abort_requested or fell,
            abort_reason="robot fell (gait DAMPING)" if fell else "",
            standing=standing,
            reposition=reposition,
            target_lost=self.tracker.lost(t),
            released=release is not None and release[0],
            release_failed=release is not None and not release[0],
        )

    def _settled(self, standing: bool, robot: Pose2D | None, t: float) -> tuple[bool, bool]:
        """SETTLE's (ready to grasp, walk again): standing, with a target estimated from
        detections made since, at the stand-off or out of repositions."""
        if not standing:
            return False, False
        if self._standing_since is None:
            self._standing_since = t
            self.tracker.restart(t)
        if self.tracker.fresh_count < self.config.settle_detections:
            return False, False
        goal = self.planner.update(self.tracker.position, robot)
        away = math.hypot(goal.x - robot.x, goal.y - robot.y) > self.config.settle_tolerance_m
        if away and self.repositions < self.config.max_repositions:
            return False, True
        return True, False

    def _dropped(self, inputs: TaskInputs, t: float) -> bool:
        if self.fsm.state is not FetchState.HOLD or inputs.in_contact is None:
            self._no_contact_since = None
            return False
        if inputs.in_contact > 0:
            self._no_contact_since = None
            return False
        if self._no_contact_since is None:
            self._no_contact_since = t
        return t - self._no_contact_since >= self.config.drop_confirm_s

    def _enter(self, state: FetchState) -> dict:
        """One-shot actions on entering ``state``."""
        actions: dict = {}
        if state is not FetchState.SETTLE:
            self._standing_since = None
            self.tracker.end_restart()
        if state is FetchState.APPROACH:
            # The stand-off's heading stays that of the first attempt (see StandoffPlanner):
            # a retry from the stand-off finds itself already there.
            self.approach.reset()
        elif state in (FetchState.SETTLE, FetchState.WAIT_TARGET) and self.walking:
            actions["gait"] = "stop"
        elif state is FetchState.GRASP:
            self._grasp_outcome = None
            self.grasp_running = True
            actions["grasp"] = True
            if self.tracker.position is not None:
                self._grasp_aim = self.tracker.position.copy()
        elif state is FetchState.RECOVER:
            actions["cancel"] = self.grasp_running
            actions["release"] = True
        elif state is FetchState.ABORTED:
            actions["gait"] = "stop"  # whatever the gait does: stop it
            actions["cancel"] = self.grasp_running
            actions["release"] = True
        if actions.get("gait") == "stop":
            self.walking = False
        if actions.get("cancel"):
            self.grasp_running = False
        if state is FetchState.WAIT_TARGET:
            self._grasp_outcome = None
        if (state in VISION_PAUSED_STATES) != self.vision_paused:
            self.vision_paused = not self.vision_paused
            actions["vision"] = not self.vision_paused
        return actions

    def _outputs(self, out, changed, reason, cmd, actions, distance=math.nan) -> TaskOutputs:
        actions = actions or {}
        state = out.state if out is not None else self.fsm.state
        return TaskOutputs(
            state=state,
            changed=changed,
            reason=reason,
            failures=self.fsm.failures,
            cmd_vel=cmd,
            gait_request=actions.get("gait"),
            send_grasp=bool(actions.get("grasp")),
            send_release=bool(actions.get("release")),
            cancel_grasp=bool(actions.get("cancel")),
            vision_request=actions.get("vision"),
            object_odom=None if self.tracker.position is None else self.tracker.position.copy(),
            goal=self.planner.goal,
            distance_m=distance,
        )
