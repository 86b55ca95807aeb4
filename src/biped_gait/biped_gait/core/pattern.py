"""Walking pattern: the step timeline, the ZMP reference, the CoM (preview control) and the feet.

A step is a double-support phase (the ZMP moves from the old stance foot to the new one)
followed by a single-support phase (the other foot swings). The timeline holds the step in
progress and the steps the current command implies after it, enough to cover the preview
horizon; it is re-planned from the command whenever a step begins, so a new command acts
from the next step. A stop request (or a zero command without stepping in place) plans a
closing step that squares the feet, then a final double support to the midpoint: walking
stops within two steps. The step in progress can be moved (capture-point step adjustment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from biped_gait.core.footsteps import (
    LEFT,
    RIGHT,
    Footstep,
    FootstepPlanner,
    Pose2,
    other_side,
    side_sign,
)
from biped_gait.core.outputs import DOUBLE
from biped_gait.core.preview_control import PreviewController
from biped_gait.core.swing import SwingFoot
from biped_gait.core.zmp_plan import GaitTiming, PlannedStep, SwingMomentum, sample_steps


@dataclass
class FootTarget:
    """Planned pose and rate of one foot (flat ground, z up)."""

    position: np.ndarray  # x, y, z [m]
    yaw: float  # [rad]
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))  # [m/s]
    yaw_rate: float = 0.0  # [rad/s]


@dataclass
class PatternSample:
    """What the pattern wants now."""

    com: np.ndarray  # (3,) [m]
    com_velocity: np.ndarray  # (3,) [m/s]
    com_acceleration: np.ndarray  # (3,) [m/s^2]
    zmp: np.ndarray  # (2,) [m]
    feet: dict  # side -> FootTarget
    support: str  # "double", "left" or "right" (the stance foot)
    phase: float  # progress of the current step in [0, 1]
    walking: bool
    momentum_shift: np.ndarray = field(default_factory=lambda: np.zeros(2))  # real - LIPM ZMP


@dataclass
class _Step:
    footstep: Footstep
    double_support: float
    single_support: float
    start_zmp: np.ndarray
    first: bool = False


class WalkingPattern:
    """Pattern generator, advanced once per control period.

    The sampled ZMP reference is cached: it is rebuilt only when the plan changes (a step
    begins or ends, a target moves, a stop is asked for), and sliced every period.

    Args:
        planner: Footstep planner.
        timing: Phase durations.
        preview: Preview controller (its period is the control period).
        com_height: CoM height above the ground [m].
        momentum: Swing-leg momentum model (see :mod:`zmp_plan`).
    """

    def __init__(
        self,
        planner: FootstepPlanner,
        timing: GaitTiming,
        preview: PreviewController,
        com_height: float,
        momentum: SwingMomentum | None = None,
    ):
        self.planner = planner
        self.timing = timing
        self.preview = preview
        self.dt = preview.dt
        self.com_height = com_height
        self.momentum = momentum or SwingMomentum()
        self.momentum_shift = np.zeros(2)
        self.feet: dict[str, Pose2] = {}
        self.step: _Step | None = None
        self.time_in_step = 0.0
        self.swing: SwingFoot | None = None
        self.stop_requested = False
        self.step_count = 0
        self.command = np.zeros(3)
        self.command_forecast = None  # callable: seconds ahead -> command, for future steps
        self.stand_zmp = np.zeros(2)
        self._final_transfer: tuple[np.ndarray, float] | None = None
        self._last_stance_zmp = None
        self._zmp_now = np.zeros(2)
        count = preview.horizon + 1
        # Cache window: the horizon plus a bit more than a step (a step begin rebuilds it).
        self._samples = np.arange(count + int(round(0.6 / self.dt))) * self.dt
        self._standing = np.zeros((count, 2))
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        self._cache_offset = 0

    # ------------------------------------------------------------------------- set-up
    def reset(self, feet: dict, com_xy, com_velocity_xy=(0.0, 0.0)) -> None:
        """Stand on ``feet`` (side -> Pose2) with the CoM state given (horizontal)."""
        self.feet = dict(feet)
        self.step = None
        self.swing = None
        self.time_in_step = 0.0
        self.stop_requested = False
        self._final_transfer = None
        self.stand_zmp = self.feet_midpoint()
        self._zmp_now = self.stand_zmp.copy()
        self._cache = None
        self.preview.reset(np.asarray(com_xy, float), np.asarray(com_velocity_xy, float))

    def feet_midpoint(self) -> np.ndarray:
        """Midpoint of the sole centres (x, y) [m]."""
        return 0.5 * (np.array(self.feet[LEFT][:2]) + np.array(self.feet[RIGHT][:2]))

    @property
    def walking(self) -> bool:
        """True while steps are in progress (including the final transfer)."""
        return self.step is not None or self._final_transfer is not None

    def start(self, command) -> None:
        """Begin stepping with ``command`` (vx, vy, wz) from standing, or keep stepping."""
        self.command = np.asarray(command, dtype=float)
        if self.stop_requested:
            self.stop_requested = False
            self._cache = None
        if self.step is None:
            self._final_transfer = None
            self._begin_step(self._first_swing_side(), first=True)

    def replan(self) -> None:
        """Rebuild the ZMP reference at the next update (the command target changed)."""
        self._cache = None

    def request_stop(self) -> None:
        """Square the feet and stop (within two steps)."""
        if not self.stop_requested:
            self.stop_requested = True
            self._cache = None

    def _first_swing_side(self) -> str:
        cmd = self.command
        if abs(cmd[1]) > 1e-3:
            return LEFT if cmd[1] > 0 else RIGHT
        if abs(cmd[2]) > 1e-3:
            return LEFT if cmd[2] > 0 else RIGHT
        return LEFT

    def _stance_zmp(self, side: str, pose: Pose2) -> np.ndarray:
        t = self.timing
        return np.array(pose.transform(t.zmp_offset_x, -side_sign(side) * t.zmp_offset_y))

    # ------------------------------------------------------------------------ planning
    def _begin_step(self, swing_side: str, first: bool = False) -> None:
        stance_side = other_side(swing_side)
        swing, stance = self.feet[swing_side], self.feet[stance_side]
        self._cache = None
        if self.stop_requested:
            footstep = self.planner.next_step(swing_side, swing, stance, self.command, True)
            if _close(footstep.target, swing):
                self._finish()
                return
        else:
            footstep = self.planner.next_step(swing_side, swing, stance, self.command)
        start_zmp = self._zmp_now if first else self._stance_zmp(swing_side, swing)
        ds = self.timing.start_double_support if first else self.timing.double_support
        self.step = _Step(footstep, ds, self.timing.single_support, start_zmp, first)
        self.time_in_step = 0.0
        self.swing = None

    def _finish(self) -> None:
        self.step = None
        self.swing = None
        self._cache = None
        start = self._stance_zmp(LEFT, self.feet[LEFT])
        if self._last_stance_zmp is not None:
            start = self._last_stance_zmp
        self._final_transfer = (start, 0.0)
        self.stand_zmp = self.feet_midpoint()

    def future_steps(self, count: int) -> list[Footstep]:
        """Steps after the one in progress, as the command (forecast) implies."""
        steps = []
        if self.step is None:
            return steps
        fs = self.step.footstep
        feet = dict(self.feet)
        feet[fs.side] = fs.target
        swing_side = other_side(fs.side)
        step = self.step
        begins = step.double_support + step.single_support - self.time_in_step
        for _ in range(count):
            stance_side = other_side(swing_side)
            closing = self.stop_requested
            command = self.command
            if self.command_forecast is not None:
                command = self.command_forecast(begins)
            begins += self.timing.step_period
            nxt = self.planner.next_step(
                swing_side, feet[swing_side], feet[stance_side], command, closing
            )
            if closing and _close(nxt.target, feet[swing_side]):
                break
            steps.append(nxt)
            feet[swing_side] = nxt.target
            if closing:
                break
            swing_side = stance_side
        return steps

    def zmp_reference(self) -> np.ndarray:
        """LIPM ZMP reference over the preview horizon, shape (N + 1, 2); also sets
        :attr:`momentum_shift` (real minus LIPM ZMP now)."""
        count = self.preview.horizon + 1
        if self.step is None and self._final_transfer is None:
            self.momentum_shift = np.zeros(2)
            self._standing[:] = self.stand_zmp
            return self._standing
        if self._cache is None or self._cache_offset + count > len(self._samples):
            self._cache = self._build()
            self._cache_offset = 0
        reference, shift = self._cache
        offset = self._cache_offset
        self.momentum_shift = shift[offset]
        return reference[offset : offset + count]

    def _build(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample the plan from now over the cache window."""
        samples = self._samples
        if self.step is None:
            start, elapsed = self._final_transfer
            return self._final_only(start, elapsed)
        step = self.step
        fs = step.footstep
        planned = [
            PlannedStep(
                fs,
                step.double_support,
                step.single_support,
                step.start_zmp,
                self._stance_zmp(other_side(fs.side), fs.stance),
                step.first,
            )
        ]
        count = int(samples[-1] / self.timing.step_period) + 2
        last = fs
        for nxt in self.future_steps(count):
            planned.append(
                PlannedStep(
                    nxt,
                    self.timing.double_support,
                    self.timing.single_support,
                    planned[-1].stance_zmp,
                    self._stance_zmp(other_side(nxt.side), nxt.stance),
                )
            )
            last = nxt
        final = None
        if self.stop_requested:
            left = last.target if last.side == LEFT else last.stance
            right = last.target if last.side == RIGHT else last.stance
            mid = 0.5 * (np.array(left[:2]) + np.array(right[:2]))
            final = (self.timing.end_double_support, mid)
        return sample_steps(samples, -self.time_in_step, planned, final, self.momentum)

    def _final_only(self, start: np.ndarray, elapsed: float):
        duration = self.timing.end_double_support
        samples = self._samples
        blend = np.clip((samples + elapsed) / duration, 0.0, 1.0)[:, None]
        reference = (1.0 - blend) * start + blend * self.stand_zmp
        return reference, np.zeros_like(reference)

    # ------------------------------------------------------------------------ stepping
    def retarget(self, target: Pose2) -> bool:
        """Move the touchdown of the step in progress (step adjustment).

        Returns:
            True when taken (not in double support or the frozen end of the swing).
        """
        if self.step is None or self.swing is None:
            return False
        fs = self.step.footstep
        if abs(target.x - fs.target.x) + abs(target.y - fs.target.y) < 1e-3:
            return True
        if not self.swing.retarget([target.x, target.y, target.yaw]):
            return False
        self.step.footstep = Footstep(fs.side, fs.start, target, fs.stance, fs.closing)
        self._cache = None
        return True

    def shorten_swing(self, remaining: float) -> bool:
        """Land the swing in progress sooner: at most ``remaining`` [s] from now (step timing
        adaptation after a push towards the stance side).

        Returns:
            True when the swing was shortened.
        """
        if self.swing is None or self.step is None:
            return False
        left = self.swing.duration - self.swing.elapsed
        if remaining >= left:
            return False
        self.swing.duration = self.swing.elapsed + remaining
        self.step.single_support = self.swing.duration
        self._cache = None
        return True

    def update(self, dt: float | None = None) -> PatternSample:
        """Advance one period and sample the pattern."""
        dt = self.dt if dt is None else dt
        reference = self.zmp_reference()
        self._cache_offset += 1
        self._zmp_now = reference[0].copy()
        shift = self.momentum_shift.copy()
        state = self.preview.step(reference)
        feet = {side: FootTarget(np.array([p.x, p.y, 0.0]), p.yaw) for side, p in self.feet.items()}
        support, phase = DOUBLE, 0.0
        if self._final_transfer is not None:
            start, elapsed = self._final_transfer
            elapsed += dt
            phase = min(elapsed / self.timing.end_double_support, 1.0)
            self._final_transfer = (start, elapsed)
            if elapsed >= self.timing.end_double_support + 0.2:
                self._final_transfer = None
        if self.step is not None:
            step = self.step
            fs = step.footstep
            self.time_in_step += dt
            total = step.double_support + step.single_support
            phase = min(self.time_in_step / total, 1.0)
            if self.time_in_step > step.double_support:
                support = other_side(fs.side)
                if self.swing is None:
                    start = self.feet[fs.side]
                    self.swing = SwingFoot(
                        [start.x, start.y, start.yaw],
                        [fs.target.x, fs.target.y, fs.target.yaw],
                        step.single_support,
                        self.timing.swing_height,
                    )
                pose, rate, z, vz, _ = self.swing.step(dt)
                feet[fs.side] = FootTarget(
                    np.array([pose[0], pose[1], z]),
                    float(pose[2]),
                    np.array([rate[0], rate[1], vz]),
                    float(rate[2]),
                )
            if self.time_in_step >= total - 1e-9:
                self._land(fs)
        return PatternSample(
            np.array([state[0, 0], state[0, 1], self.com_height]),
            np.array([state[1, 0], state[1, 1], 0.0]),
            np.array([state[2, 0], state[2, 1], 0.0]),
            reference[0].copy(),
            feet,
            support,
            phase,
            self.walking,
            shift,
        )

    def _land(self, fs: Footstep) -> None:
        self.feet[fs.side] = fs.target
        self.step_count += 1
        self._last_stance_zmp = self._stance_zmp(other_side(fs.side), fs.stance)
        if fs.closing:
            self._finish()
            return
        self._begin_step(other_side(fs.side))

    def anchor_foot(self, side: str, pose: Pose2) -> None:
        """Replace a standing foot's planned pose by where it really is (after touchdown)."""
        self.feet[side] = pose
        self._cache = None


def _close(a: Pose2, b: Pose2, tolerance: float = 0.01) -> bool:
    return math.hypot(a.x - b.x, a.y - b.y) < tolerance and abs(a.yaw - b.yaw) < 0.02
