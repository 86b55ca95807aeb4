"""Explicit state machine of the "fetch the object" task, free of ROS and of wall-clock time.

The caller (later the brain node) gathers what perception and the controllers report into a
:class:`FetchInputs`, calls :meth:`FetchStateMachine.step` with the current time and acts on the
returned state (start walking in APPROACH, send the Grasp goal in GRASP, ...)::

    WAIT_TARGET --target_visible--> APPROACH --approach_done--> GRASP --grasp_succeeded--> LIFT
    LIFT --lift_done--> DONE

A failure in APPROACH, GRASP or LIFT (its timeout, ``grasp_failed``, ``object_dropped``) uses up one
attempt and restarts from WAIT_TARGET (the object may have moved), until ``max_retries`` retries
are spent; the next failure aborts. No target within its timeout, or ``abort_requested`` in any
state, aborts at once. DONE and ABORTED are final until :meth:`FetchStateMachine.reset`.
Within one step an abort request wins over events, and events win over timeouts.
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
    GRASP = "GRASP"
    LIFT = "LIFT"
    DONE = "DONE"
    ABORTED = "ABORTED"


FINAL_STATES = frozenset({FetchState.DONE, FetchState.ABORTED})


@dataclass(frozen=True)
class FetchInputs:
    """What the rest of the stack reports at one step. Unset flags mean "nothing new".

    Attributes:
        target_visible: The object is detected and localised.
        approach_done: The robot stands within reach of the object.
        grasp_succeeded: The Grasp action reported success.
        grasp_failed: The Grasp action reported failure.
        lift_done: The object is held at the lift height.
        object_dropped: The object was lost while lifting (contacts gone).
        abort_requested: An operator or a safety monitor asks to stop.
    """

    target_visible: bool = False
    approach_done: bool = False
    grasp_succeeded: bool = False
    grasp_failed: bool = False
    lift_done: bool = False
    object_dropped: bool = False
    abort_requested: bool = False


@dataclass(frozen=True)
class FetchConfig:
    """Timeouts and retry budget.

    Attributes:
        wait_target_timeout_s: Longest wait for a target [s], > 0.
        approach_timeout_s: Longest approach [s], > 0.
        grasp_timeout_s: Longest grasp [s], > 0.
        lift_timeout_s: Longest lift [s], > 0.
        max_retries: Attempts allowed after the first failed one, >= 0.
    """

    wait_target_timeout_s: float = 10.0
    approach_timeout_s: float = 30.0
    grasp_timeout_s: float = 15.0
    lift_timeout_s: float = 5.0
    max_retries: int = 2

    def __post_init__(self) -> None:
        for name in (
            "wait_target_timeout_s",
            "approach_timeout_s",
            "grasp_timeout_s",
            "lift_timeout_s",
        ):
            self._check_timeout(name)
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
            FetchState.GRASP: self.grasp_timeout_s,
            FetchState.LIFT: self.lift_timeout_s,
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
            return self._go(FetchState.ABORTED, f"abort requested in {state.value}")
        event = {
            FetchState.WAIT_TARGET: (inputs.target_visible, FetchState.APPROACH, "target visible"),
            FetchState.APPROACH: (inputs.approach_done, FetchState.GRASP, "approach done"),
            FetchState.GRASP: (inputs.grasp_succeeded, FetchState.LIFT, "grasp succeeded"),
            FetchState.LIFT: (inputs.lift_done, FetchState.DONE, "lift done"),
        }[state]
        if event[0]:
            return self._go(event[1], event[2])
        if state is FetchState.GRASP and inputs.grasp_failed:
            return self._fail("grasp failed")
        if state is FetchState.LIFT and inputs.object_dropped:
            return self._fail("object dropped")
        elapsed = t - self._entered_at
        timeout = self.config.timeout_s(state)
        if elapsed > timeout:
            what = f"{state.value} timed out after {elapsed:.3f} s (limit {timeout} s)"
            if state is FetchState.WAIT_TARGET:
                return self._go(FetchState.ABORTED, what)
            return self._fail(what)
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
        return self._go(
            FetchState.WAIT_TARGET,
            f"{what}; retry {self.failures} of {self.config.max_retries}",
        )
