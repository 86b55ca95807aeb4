"""The grasp state machine against a kinematic stand-in (hand_plant.py), no ROS, no physics.

Invariants checked on every step: arm commands within the joint limits and velocity limits,
finger force targets never above the limits. Behaviours: the full phase sequence and success,
the slip reflex within one control step, stale tactile or joint input -> stop squeezing with a
reason, contact lost -> abort, a finger closing on nothing -> abort, cancel, busy goals, release.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from hand_plant import HandPlant

from dexterous_hand_ctrl.core.goal import GoalRejected, make_goal
from dexterous_hand_ctrl.core.grasp_controller import ControllerParams, GraspController, Phase
from dexterous_hand_ctrl.core.hand_description import load_hand_description

ROOT = Path(__file__).resolve().parents[3]
ROBOT = ROOT / "config" / "robots" / "g1_dex3.yaml"
DT = 0.004
OBJECT = (0.29, -0.14, 0.019)  # the bench cube in the pelvis frame [m]


@pytest.fixture(scope="module")
def hand():
    return load_hand_description(ROBOT, "right_hand")


@pytest.fixture
def rig(hand):
    controller = GraspController(hand)
    stand = yaml.safe_load(ROBOT.read_text())["stand_posture"]
    plant = HandPlant(controller, ROBOT, stand)
    plant.run(0.02)
    return controller, plant


def goal(hand, **changes):
    fields = dict(
        grasp_type="pinch",
        target_force_n=8.0,
        max_force_n=20.0,
        position=OBJECT,
        quaternion_wxyz=(1, 0, 0, 0),
        extents=(0.05, 0.05, 0.05),
        lift_height_m=0.05,
        release=False,
    )
    fields.update(changes)
    return make_goal(hand, **fields)


def run_to(plant, phase: Phase, seconds: float = 15.0):
    outputs = plant.run(seconds, until=lambda out: out.phase is phase or out.outcome is not None)
    assert outputs[-1].phase is phase, (outputs[-1].phase, plant.controller.last_fault)
    return outputs


def check_limits(controller, outputs) -> None:
    arm = controller.arm
    speed = controller.hand.arm.max_velocity_rad_s
    previous = None
    for out in outputs:
        q = out.arm_positions
        assert np.all(q >= arm.lower - 1e-9) and np.all(q <= arm.upper + 1e-9)
        if previous is not None:
            assert np.max(np.abs(q - previous)) <= speed * DT + 1e-9
        previous = q
        assert out.target_force_n <= out_limit(controller) + 1e-9


def out_limit(controller) -> float:
    return controller._grip.limit_n if controller._grip is not None else np.inf


def test_full_grasp_runs_every_phase_and_holds(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    phases = []
    outputs = plant.run(
        20.0,
        until=lambda out: out.outcome is not None,
        on_step=lambda out: (
            phases.append(out.phase) if not phases or phases[-1] != out.phase else 0
        ),
    )
    outcome = outputs[-1].outcome
    assert outcome is not None and outcome.success, (outcome, controller.last_fault)
    assert phases == [
        Phase.PRESHAPE,
        Phase.REACH,
        Phase.CLOSE,
        Phase.SQUEEZE,
        Phase.LIFT,
        Phase.HOLD,
    ], phases
    check_limits(controller, outputs)
    # The palm reached the grasp pose and then rose by the lift height.
    palm = controller.arm.palm_pose(outputs[-1].arm_positions).translation
    grasp = controller._plan.grasp.translation
    assert palm[2] - grasp[2] == pytest.approx(0.05, abs=0.004)
    # Squeeze regulated each finger to its share of the target.
    for finger, force in outputs[-1].finger_force_n.items():
        assert force == pytest.approx(0.5 * 8.0, rel=0.15), finger
    # Still holding (and regulating) after the goal ended.
    more = plant.run(0.5)
    assert all(out.phase is Phase.HOLD for out in more)


def test_slip_event_raises_the_target_in_the_same_step(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    plant.run(20.0, until=lambda out: out.outcome is not None)
    plant.run(0.2)  # past the reafference window of the last force change
    before = controller._grip.target_n
    plant.slip_pads.add("right_middle_tip")
    out = plant.run(DT)[-1]
    assert out.reflex and out.slip_events >= 1
    assert out.target_force_n == pytest.approx(before * 1.25)
    # The commanded force reaches the raised target within the 15 ms ramp (< 20 ms).
    plant.run(0.016)
    assert controller._grip.command_n == pytest.approx(out.target_force_n)
    # Repeated slips raise up to the limit's fraction, never beyond.
    for _ in range(20):
        plant.slip_pads.add("right_thumb_tip")
        plant.run(0.05)
    assert controller._grip.target_n == pytest.approx(0.8 * 20.0)


def test_stale_tactile_stops_squeezing_with_a_reason(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    run_to(plant, Phase.SQUEEZE)
    plant.run(0.1)
    plant.tactile_on = False
    outputs = plant.run(0.2, until=lambda out: out.outcome is not None)
    outcome = outputs[-1].outcome
    assert outcome is not None and not outcome.success
    assert "stale tactile" in outcome.reason
    # Fingers hold their measured positions: no more squeezing.
    out = plant.run(DT)[-1]
    assert out.phase is Phase.IDLE
    np.testing.assert_allclose(out.hand_positions, plant.q_hand, atol=1e-9)


def test_stale_joint_states_abort(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand), plant.t)
    plant.run(0.5)
    out = controller.step(plant.t + 0.2, None, plant.tactile())
    assert out.outcome is not None and "stale joint states" in out.outcome.reason


def test_contact_lost_while_holding_aborts(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    plant.run(20.0, until=lambda out: out.outcome is not None)
    plant.remove_object()
    outputs = plant.run(1.0, until=lambda out: out.phase is Phase.IDLE)
    assert outputs[-1].phase is Phase.IDLE
    assert "contact lost" in controller.last_fault


def test_finger_closing_on_nothing_aborts(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand), plant.t)
    plant.place_object({"thumb": 0.4})  # nothing for the middle finger
    outputs = plant.run(20.0, until=lambda out: out.outcome is not None)
    assert "middle closed without touching" in outputs[-1].outcome.reason


def test_cancel_during_reach_stops_where_it_is(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand), plant.t)
    run_to(plant, Phase.REACH)
    plant.run(0.5)
    outcome = controller.cancel(plant.t)
    assert outcome.canceled and "REACH" in outcome.reason
    held = plant.run(0.2)
    assert np.allclose(held[0].arm_positions, held[-1].arm_positions)
    assert all(out.phase is Phase.IDLE for out in held)


def test_busy_and_unreachable_goals_are_rejected(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand), plant.t)
    with pytest.raises(GoalRejected, match="busy"):
        controller.start(goal(hand), plant.t)
    controller.cancel(plant.t)
    with pytest.raises(GoalRejected, match="no reachable grasp"):
        controller.start(goal(hand, position=(0.9, -0.14, 0.0)), plant.t)


def test_release_opens_and_retracts(rig, hand) -> None:
    controller, plant = rig
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    plant.run(20.0, until=lambda out: out.outcome is not None)
    with pytest.raises(GoalRejected, match="already holding"):
        controller.start(goal(hand), plant.t)
    plant.remove_object()
    controller.start(goal(hand, release=True), plant.t)
    outputs = plant.run(10.0, until=lambda out: out.outcome is not None)
    assert outputs[-1].outcome.success and outputs[-1].phase is Phase.IDLE
    phases = [out.phase for out in outputs]
    assert {Phase.RELEASE, Phase.RETRACT, Phase.HOME} <= set(phases)
    assert phases.index(Phase.RETRACT) < phases.index(Phase.HOME)
    # The release ends with the arm at its home posture: the robot's stand posture.
    stand = yaml.safe_load(ROBOT.read_text())["stand_posture"]
    home = [stand.get(joint, 0.0) for joint in hand.arm.joints]
    assert np.allclose(outputs[-1].arm_positions, home, atol=1e-3)
    # ... and the fingers at rest (joint zeros within the limits), not in the pre-shape.
    rest = np.clip(0.0, controller.model.lower, controller.model.upper)
    assert np.allclose(outputs[-1].hand_positions, rest, atol=1e-3)
    check_limits(controller, outputs)


def test_a_release_with_the_arm_at_home_only_opens_the_hand(rig, hand) -> None:
    """After a release (the arm home), a goal rejected before any motion and a second release:
    nothing to retract. Backing off from home drove the palm into the robot's side."""
    controller, plant = rig
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    plant.run(20.0, until=lambda out: out.outcome is not None)
    plant.remove_object()
    controller.start(goal(hand, release=True), plant.t)
    first = plant.run(10.0, until=lambda out: out.outcome is not None)
    assert Phase.RETRACT in {out.phase for out in first}  # from the grasp: it backs off
    home = np.array(first[-1].arm_positions)
    with pytest.raises(GoalRejected, match="no reachable grasp"):
        controller.start(goal(hand, position=(0.9, -0.14, 0.0)), plant.t)
    controller.start(goal(hand, release=True), plant.t)
    second = plant.run(10.0, until=lambda out: out.outcome is not None)
    assert second[-1].outcome.success and second[-1].phase is Phase.IDLE
    assert {out.phase for out in second} <= {Phase.RELEASE, Phase.IDLE}
    for out in second:
        assert np.allclose(out.arm_positions, home, atol=1e-6)


def test_release_after_a_lift_goes_home_even_if_the_retreat_is_out_of_reach(rig, hand) -> None:
    """A release from high up: the retract path's end may be beyond the arm's reach; the
    release must still end at home (it timed out in RETRACT before)."""
    controller, plant = rig
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    plant.run(20.0, until=lambda out: out.outcome is not None)
    plant.remove_object()
    controller.params = dataclasses.replace(controller.params, retract_m=0.6)
    controller.start(goal(hand, release=True), plant.t)
    outputs = plant.run(15.0, until=lambda out: out.outcome is not None)
    assert outputs[-1].outcome is not None and outputs[-1].outcome.success, (
        outputs[-1].outcome,
        controller.last_fault,
    )
    home = hand.arm.home_posture
    assert np.allclose(outputs[-1].arm_positions, home, atol=1e-3)
    check_limits(controller, outputs)


def test_release_without_going_home(hand) -> None:
    controller = GraspController(hand, ControllerParams(home_after_release=False))
    stand = yaml.safe_load(ROBOT.read_text())["stand_posture"]
    plant = HandPlant(controller, ROBOT, stand)
    plant.run(0.02)
    controller.start(goal(hand, lift_height_m=0.0), plant.t)
    plant.place_object({"thumb": 0.4, "middle": 0.35})
    plant.run(20.0, until=lambda out: out.outcome is not None)
    plant.remove_object()
    controller.start(goal(hand, release=True), plant.t)
    outputs = plant.run(10.0, until=lambda out: out.outcome is not None)
    phases = {out.phase for out in outputs}
    assert outputs[-1].outcome.success and Phase.RETRACT in phases and Phase.HOME not in phases
    assert not np.allclose(outputs[-1].arm_positions, hand.arm.home_posture, atol=0.05)
