"""Explicit state machine of the "fetch the object" task, free of ROS and of wall-clock time.

The caller (:mod:`humanoid_brain.core.fetch_task`) gathers what perception and the controllers
report into a :class:`FetchInputs`, calls :meth:`FetchStateMachine.step` with the current time
and acts on the returned state (walk in APPROACH, send the Grasp goal in GRASP, ...)::

    WAIT_TARGET --target_visible--> APPROACH --approach_done--> GRASP --grasp_succeeded--> LIFT
    LIFT --lift_done--> DONE

A failure in APPROACH, GRASP or LIFT (its timeout, ``grasp_failed``, ``object_dropped``) uses up one
attempt and restarts from WAIT_TARGET (the object may have moved), until ``max_retries`` retries
are spent; the next failure aborts. No target within its timeout, or ``abort_requested`` in any
state, aborts at once. DONE and ABORTED are final until :meth:`FetchStateMachine.reset`.
Within one step an abort request wins over events, and events win over timeouts.

Three optional stages, off by default (the machine above), on in the brain node:

- ``settle_timeout_s``: APPROACH --approach_done--> SETTLE --standing--> GRASP. The robot stops
  walking and stands still before the arm reaches (a walking base would drag the hand);
  SETTLE --reposition--> APPROACH when it stopped too far from the stand-off.
- ``hold_s`` > 0: LIFT --lift_done--> HOLD, and DONE once the object was held ``hold_s``
  without ``object_dropped``.
- ``recover_timeout_s``: a failure in GRASP, LIFT or HOLD with retries left first goes to
  RECOVER (the hand opens and retracts) and on ``released`` to WAIT_TARGET; ``release_failed``
  or the timeout aborts (the hand's state is unknown).

``target_lost`` (no detection for a while) fails APPROACH and SETTLE: re-detect, re-approach.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from humanoid_brain.errors import HumanoidBrainError


class FetchState(enum.Enum):
    """States of the fetch task."""

    WAIT_TARGET = "WAIT_TARGET"
    APPROACH = "APPROACH"
    SETTLE = "SETTLE"
    GRASP = "GRASP"
    LIFT = "LIFT"
    HOLD = "HOLD"
    RECOVER = "RECOVER"
    DONE = "DONE"
    ABORTED = "ABORTED"


FINAL_STATES = frozenset({FetchState.DONE, FetchState.ABORTED})
#: States in which the hand may hold or touch the object (a failure there needs a release).
HAND_STATES = frozenset({FetchState.GRASP, FetchState.LIFT, FetchState.HOLD})
#: Every transition the machine can make (invariant tests check against it).
TRANSITIONS = {
    FetchState.WAIT_TARGET: {FetchState.APPROACH, FetchState.ABORTED, FetchState.WAIT_TARGET},
    FetchState.APPROACH: {
        FetchState.SETTLE,
        FetchState.GRASP,
        FetchState.WAIT_TARGET,
        FetchState.ABORTED,
    },
    FetchState.SETTLE: {
        FetchState.GRASP,
        FetchState.APPROACH,
        FetchState.WAIT_TARGET,
        FetchState.ABORTED,
    },
    FetchState.GRASP: {
        FetchState.LIFT,
        FetchState.WAIT_TARGET,
        FetchState.RECOVER,
        FetchState.ABORTED,
    },
    FetchState.LIFT: {
        FetchState.HOLD,
        FetchState.DONE,
        FetchState.WAIT_TARGET,
        FetchState.RECOVER,
        FetchState.ABORTED,
    },
    FetchState.HOLD: {
        FetchState.DONE,
        FetchState.WAIT_TARGET,
        FetchState.RECOVER,
        FetchState.ABORTED,
    },
    FetchState.RECOVER: {FetchState.WAIT_TARGET, FetchState.ABORTED},
    FetchState.DONE: set(),
    FetchState.ABORTED: set(),
}


@dataclass(frozen=True)
class FetchInputs:
    """What the rest of the stack reports at one step. Unset flags mean "nothing new".

    Attributes:
        target_visible: The object is detected and localised.
        approach_done: The robot stands within reach of the object.
        grasp_succeeded: The Grasp action reported success.
        grasp_failed: The Grasp action reported failure.
        lift_done: The object is held at the lift height.
        object_dropped: The object was lost while lifting or holding (contacts gone).
        abort_requested: An operator or a safety monitor asks to stop.
        standing: The robot stands still (SETTLE).
        reposition: The robot stopped away from the stand-off (SETTLE): walk there again
            (not a failure; :mod:`.fetch_task` bounds how often).
        target_lost: The target has not been seen for too long (APPROACH, SETTLE).
        released: The hand opened and retracted (RECOVER).
        release_failed: The hand could not release (RECOVER).
        abort_reason: Why the abort was requested (appended to the transition's reason).
    """

    target_visible: bool = False
    approach_done: bool = False
    grasp_succeeded: bool = False
    grasp_failed: bool = False
    lift_done: bool = False
    object_dropped: bool = False
    abort_requested: bool = False
    standing: bool = False
    reposition: bool = False
    target_lost: bool = False
    released: bool = False
    release_failed: bool = False
    abort_reason: str = ""


@dataclass(frozen=True)
class FetchConfig:
    """Timeouts and retry budget.

    Attributes:
        wait_target_timeout_s: Longest wait for a target [s], > 0.
        approach_timeout_s: Longest approach [s], > 0.
        grasp_timeout_s: Longest grasp [s], > 0.
        lift_timeout_s: Longest lift [s], > 0.
        max_retries: Attempts allowed after the first failed one, >= 0.
        settle_timeout_s: Longest SETTLE [s], > 0; None: no SETTLE stage.
        hold_s: Hold time before DONE [s], >= 0; 0: no HOLD stage.
        recover_timeout_s: Longest RECOVER [s], > 0; None: no RECOVER stage.
    """

    wait_target_timeout_s: float = 10.0
    approach_timeout_s: float = 30.0
    grasp_timeout_s: float = 15.0
    lift_timeout_s: float = 5.0
    max_retries: int = 2
    settle_timeout_s: float | None = None
    hold_s: float = 0.0
    recover_timeout_s: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "wait_target_timeout_s",
            "approach_timeout_s",
            "grasp_timeout_s",
            "lift_timeout_s",
        ):
            self._check_timeout(name)
        for name in ("settle_timeout_s", "recover_timeout_s"):
            if getattr(self, name) is not None:
                self._check_timeout(name)
        hold = self.hold_s
        if not (isinstance(hold, (int, float)) and math.isfinite(hold) and hold >= 0.0):
            raise HumanoidBrainError(f"hold_s = {hold!r} s: expected a finite value >= 0")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise HumanoidBrainError(f"max_retries = {self.max_retries!r}: expected an integer")
        if self.max_retries < 0:
            raise HumanoidBrainError(f"max_retries = {self.max_retries}: expected >= 0")

    def _check_timeout(self, name: str) -> None:
        value = getattr(self, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
            raise HumanoidBrainError(f"{name} = {value!r} s: expected a finite value > 0")

    def timeout_s(self, state: FetchState) -> float:
        """Timeout of a state [s]; infinite for the final states."""
        return {
            FetchState.WAIT_TARGET: self.wait_target_timeout_s,
            FetchState.APPROACH: self.approach_timeout_s,
            FetchState.SETTLE: self.settle_timeout_s,
            FetchState.GRASP: self.grasp_timeout_s,
            FetchState.LIFT: self.lift_timeout_s,
            FetchState.RECOVER: self.recover_timeout_s,
        }.get(state, math.inf)


@dataclass(frozen=True)
class FetchOutputs:
    """Result of one step.

    Attributes:
        state: State after the step.
        previous_state: State before the step.
        entered_at_s: Time the current state was entered [s].
        failures: Failed attempts so far.
        reason: Why the last transition happened ("" when none happened in this step).
    """

    state: FetchState
    previous_state: FetchState
    entered_at_s: float
    failures: int
    reason: str

    @property
    def changed(self) -> bool:
        """Whether this step made a transition (re-entering WAIT_TARGET on a retry counts)."""
        return bool(self.reason)


class FetchStateMachine:
    """The fetch task's state machine; time is passed in, so it runs on sim or wall time alike."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        """Create the machine in WAIT_TARGET; its clock starts at the first :meth:`step`.

        Args:
            config: Timeouts and retries; defaults to :class:`FetchConfig` ().
        """
        self.config = config or FetchConfig()
        self.reset()

    def reset(self) -> None:
        """Start over in WAIT_TARGET with no failures; the next step's time starts the clock."""
        self.state = FetchState.WAIT_TARGET
        self.failures = 0
        self._entered_at: float | None = None
        self._last_t: float | None = None

    def step(self, inputs: FetchInputs, t: float) -> FetchOutputs:
        """Advance the machine by one step.

        Args:
            inputs: What was reported since the previous step.
            t: Current time [s] on a monotonic clock (sim time or steady time).

        Returns:
            The state after the step and why it changed.

        Raises:
            HumanoidBrainError: If ``t`` is not finite or goes backwards.
        """
        if not math.isfinite(t):
            raise HumanoidBrainError(f"time t = {t!r} s: expected a finite value")
        if self._last_t is not None and t < self._last_t:
            raise HumanoidBrainError(
                f"time t = {t} s is before the previous step's {self._last_t} s: expected a "
                "non-decreasing clock (call reset() after a clock jump)"
            )
        self._last_t = t
        if self._entered_at is None:
            self._entered_at = t
        previous = self.state
        reason = self._transition(inputs, t)
        if reason:
            self._entered_at = t
        return FetchOutputs(self.state, previous, self._entered_at, self.failures, reason)

    def _transition(self, inputs: FetchInputs, t: float) -> str:
        state = self.state
        if state in FINAL_STATES:
            return ""
        if inputs.abort_requested:
            why = f": {inputs.abort_reason}" if inputs.abort_reason else ""
            return self._go(FetchState.ABORTED, f"abort requested in {state.value}{why}")
        config = self.config
        after_approach = FetchState.GRASP if config.settle_timeout_s is None else FetchState.SETTLE
        after_lift = FetchState.DONE if config.hold_s <= 0.0 else FetchState.HOLD
        # The event that moves each state on (HOLD ends by time, below).
        event = {
            FetchState.WAIT_TARGET: (inputs.target_visible, FetchState.APPROACH, "target visible"),
            FetchState.APPROACH: (inputs.approach_done, after_approach, "approach done"),
            FetchState.SETTLE: (inputs.standing, FetchState.GRASP, "standing"),
            FetchState.GRASP: (inputs.grasp_succeeded, FetchState.LIFT, "grasp succeeded"),
            FetchState.LIFT: (inputs.lift_done, after_lift, "lift done"),
            FetchState.RECOVER: (inputs.released, FetchState.WAIT_TARGET, "hand released"),
        }.get(state)
        if state is FetchState.SETTLE and inputs.reposition:
            return self._go(FetchState.APPROACH, "stopped away from the stand-off")
        if event is not None and event[0]:
            return self._go(event[1], event[2])
        failure = self._failure_event(state, inputs)
        if failure:
            if state is FetchState.RECOVER:
                return self._go(FetchState.ABORTED, f"{failure}: the hand's state is unknown")
            return self._fail(failure)
        elapsed = t - self._entered_at
        if state is FetchState.HOLD and elapsed >= config.hold_s:
            return self._go(FetchState.DONE, f"held {elapsed:.3f} s")
        timeout = config.timeout_s(state)
        if elapsed > timeout:
            what = f"{state.value} timed out after {elapsed:.3f} s (limit {timeout} s)"
            if state in (FetchState.WAIT_TARGET, FetchState.RECOVER):
                return self._go(FetchState.ABORTED, what)
            return self._fail(what)
        return ""

    @staticmethod
    def _failure_event(state: FetchState, inputs: FetchInputs) -> str:
        """The failure an event reports in ``state`` ("" for none)."""
        if state is FetchState.GRASP and inputs.grasp_failed:
            return "grasp failed"
        if state in (FetchState.LIFT, FetchState.HOLD) and inputs.object_dropped:
            return "object dropped"
        if state in (FetchState.APPROACH, FetchState.SETTLE) and inputs.target_lost:
            return "target lost"
        if state is FetchState.RECOVER and inputs.release_failed:
            return "release failed"
        return ""

    def _go(self, state: FetchState, reason: str) -> str:
        self.state = state
        return reason

    def _fail(self, what: str) -> str:
        self.failures += 1
        if self.failures > self.config.max_retries:
            return self._go(
                FetchState.ABORTED, f"{what}; {self.failures} failed attempts, giving up"
            )
        recover = self.config.recover_timeout_s is not None and self.state in HAND_STATES
        return self._go(
            FetchState.RECOVER if recover else FetchState.WAIT_TARGET,
            f"{what}; retry {self.failures} of {self.config.max_retries}",
        )
