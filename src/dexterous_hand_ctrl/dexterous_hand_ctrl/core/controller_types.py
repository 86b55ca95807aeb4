"""Data types of the grasp controller: phases, parameters, inputs, outputs and outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from dexterous_hand_ctrl.core.finger_control import FingerParams
from dexterous_hand_ctrl.core.grasp_planner import PlannerParams
from dexterous_hand_ctrl.core.safety import SafetyParams
from dexterous_hand_ctrl.core.slip_reflex import SlipReflexParams


class Phase(Enum):
    IDLE = "IDLE"
    PRESHAPE = "PRESHAPE"
    REACH = "REACH"
    CLOSE = "CLOSE"
    SQUEEZE = "SQUEEZE"
    LIFT = "LIFT"
    HOLD = "HOLD"
    RELEASE = "RELEASE"
    RETRACT = "RETRACT"
    HOME = "HOME"


GRIPPING = (Phase.SQUEEZE, Phase.LIFT, Phase.HOLD)


@dataclass(frozen=True)
class ControllerParams:
    """Parameters of :class:`GraspController` (besides the hand description's).

    Attributes:
        squeeze_tolerance: Squeeze is settled when every finger is within this fraction of its
            target ...
        squeeze_settle_s: ... for this long [s].
        squeeze_patience_s: After this long in SQUEEZE, a grip with every finger at half its
            target or more goes on unsettled [s].
        hold_settle_s: Time in HOLD before a grasp goal succeeds [s].
        reach_tolerance_m: Palm within this of the path's end ends REACH [m].
        retract_m: Palm backs off this far along the approach (and rises) on release [m].
        home_after_release: A release ends with the arm at the description's home posture
            (RETRACT -> HOME); False: at the end of the retreat.
        lift_speed_m_s: Average palm speed while lifting [m/s] (slower than reaching: the
            grip takes up the load).
        reach_stop_force_n: A pad touching this hard during the reach stops it, whatever
            the contact's direction [N].
        angular_speed_rad_s: Palm rotation speed on paths [rad/s].
        ik_iterations: IK iterations per control step while tracking a path.
        finger: Finger control parameters.
        slip: Slip reflex parameters.
        safety: Safety parameters.
        planner: Grasp planner parameters.
    """

    squeeze_tolerance: float = 0.15
    squeeze_settle_s: float = 0.1
    squeeze_patience_s: float = 1.0
    hold_settle_s: float = 0.3
    reach_tolerance_m: float = 0.004
    retract_m: float = 0.06
    home_after_release: bool = True
    lift_speed_m_s: float = 0.08
    reach_stop_force_n: float = 2.0
    angular_speed_rad_s: float = 1.0
    ik_iterations: int = 2
    finger: FingerParams = field(default_factory=FingerParams)
    slip: SlipReflexParams = field(default_factory=SlipReflexParams)
    safety: SafetyParams = field(default_factory=SafetyParams)
    planner: PlannerParams = field(default_factory=PlannerParams)


@dataclass(frozen=True)
class JointInput:
    """A joint state: names and positions of (at least) the hand's and arm's joints.

    Attributes:
        stamp_s: Measurement time [s].
        names: Joint names (the same tuple object every time is cheapest).
        positions: Positions [rad], one per name.
    """

    stamp_s: float
    names: tuple[str, ...]
    positions: np.ndarray


@dataclass(frozen=True)
class GraspOutcome:
    """How a goal ended."""

    success: bool
    reason: str
    achieved_force_n: float
    finger_force_n: dict[str, float]
    canceled: bool = False


@dataclass
class ControllerOutput:
    """Joint references and status of one control step.

    Attributes:
        hand_positions: Hand joint references [rad], hand model order.
        hand_kp, hand_kd: Hand joint gains (hand model order): the finger gains for joints
            that close in the active grasp, the hold gains for the others.
        arm_positions: Arm references [rad] (None for a hand without an arm).
        arm_effort: Arm feed-forward (gravity) [N*m].
        arm_kp, arm_kd: Arm gains.
        phase: Current phase.
        finger_force_n: Per finger force on the counted pads of the active grasp [N].
        target_force_n: Current total target (raised by slip) [N].
        slip_events: Slip events since the goal started.
        outcome: Set in the step where a goal ends.
        reflex: True in a step where the slip reflex raised the target.
    """

    hand_positions: np.ndarray
    hand_kp: np.ndarray
    hand_kd: np.ndarray
    arm_positions: np.ndarray | None
    arm_effort: np.ndarray | None
    arm_kp: float
    arm_kd: float
    phase: Phase
    finger_force_n: dict[str, float]
    target_force_n: float
    slip_events: int
    outcome: GraspOutcome | None = None
    reflex: bool = False
