"""A second hand, the Allegro right hand from example-robot-data, described only in YAML
(config/robots/allegro_right.yaml): the same kinematics, contact mapping, finger control and
grasp library code runs on it unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from dexterous_hand_ctrl.core.contacts import PadContact, TactileSnapshot, force_directions
from dexterous_hand_ctrl.core.finger_control import FingerController, FingerMode
from dexterous_hand_ctrl.core.goal import GoalRejected, make_goal
from dexterous_hand_ctrl.core.grasp_controller import GraspController, JointInput
from dexterous_hand_ctrl.core.hand_description import load_hand_description
from dexterous_hand_ctrl.core.hand_model import HandModel

ROOT = Path(__file__).resolve().parents[3]
ALLEGRO = ROOT / "config" / "robots" / "allegro_right.yaml"


@pytest.fixture(scope="module")
def hand():
    return load_hand_description(ALLEGRO, "allegro_right")


@pytest.fixture(scope="module")
def model(hand):
    return HandModel(hand.model_dict(), hand.urdf_path)


def test_description_and_library(hand) -> None:
    assert hand.finger_names == ("index", "middle", "ring", "thumb")
    assert len(hand.hand_joints) == 16 and hand.arm is None
    assert set(hand.grasps) == {"power", "pinch", "tripod", "lateral"}
    assert hand.grasps["power"].fingers == ("thumb", "index", "middle", "ring")
    assert hand.pad_to_finger()["ring_tip"] == "ring"


@pytest.mark.parametrize("seed", range(3))
def test_contact_point_jacobians_match_finite_differences(model, seed) -> None:
    rng = np.random.default_rng(seed)
    q = rng.uniform(model.lower, model.upper)
    point = np.array([0.01, 0.002, -0.003])
    h = 1e-6
    for link in ("link_3.0_tip", "link_15.0_tip", "link_9.0"):
        _, jac, _ = model.point_jacobian(q, link, point)
        numeric = np.zeros_like(jac)
        for j in range(len(q)):
            dq = np.zeros_like(q)
            dq[j] = h
            plus, _, _ = model.point_jacobian(q + dq, link, point)
            minus, _, _ = model.point_jacobian(q - dq, link, point)
            numeric[:, j] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(jac, numeric, atol=1e-7)


def test_closing_moves_every_fingertip_along_its_pad_normal(hand, model) -> None:
    """The YAML's closing directions and pad normals agree with the URDF's kinematics."""
    pads = {
        p["name"]: p
        for p in yaml.safe_load(ALLEGRO.read_text())["tactile"]["allegro_right"]["pads"]
    }
    q = model.posture(0.2)
    for finger in hand.fingers:
        pad = pads[finger.pads[0]]
        _, jac, rotation = model.point_jacobian(q, pad["link"], np.asarray(pad["center"], float))
        direction = np.zeros(len(q))
        start = model.joint_names.index(finger.joints[0])
        direction[start : start + len(finger.joints)] = finger.close_direction
        velocity = jac @ direction
        normal = rotation @ np.asarray(pad["normal"], float)
        assert velocity @ normal > 0.5 * np.linalg.norm(velocity), finger.name


def test_contact_force_direction_and_finger_control_on_the_allegro(hand, model) -> None:
    q = model.posture(0.3)
    snapshot = TactileSnapshot(
        0.0,
        {
            "index_tip": PadContact(
                "index_tip",
                "link_3.0_tip",
                2.0,
                True,
                False,
                np.array([0.01, 0, 0]),
                np.array([1.0, 0, 0]),
            )
        },
    )
    slices = {"index": slice(0, 4)}
    g = force_directions(model, q, snapshot, {"index": ("index_tip",)}, slices)["index"]
    assert g is not None and g[0] == pytest.approx(0.0, abs=0.02) and np.all(g[1:] > 0)
    finger = hand.fingers[0]
    controller = FingerController(finger, model.lower[:4], model.upper[:4], hand.finger_gains[0])
    controller.start_closing(q[:4])
    controller.step(0.002, q[:4], 1.0, 0.0, None, hand.close_velocity_rad_s)
    assert controller.mode is FingerMode.CONTACT
    controller.start_squeeze()
    controller.step(0.002, q[:4], 0.0, 3.0, g, hand.close_velocity_rad_s)
    offset = controller.q_ref - q[:4]
    # Pushes along J^T n with the feed-forward offset F |g| / kp, abduction untouched.
    assert offset[0] == pytest.approx(0.0)
    np.testing.assert_allclose(
        np.linalg.norm(offset), 3.0 * np.linalg.norm(g[1:]) / hand.finger_gains[0], rtol=0.05
    )


def test_controller_runs_the_allegro_without_an_arm(hand) -> None:
    controller = GraspController(hand)
    names = tuple(hand.hand_joints)
    out = controller.step(0.0, JointInput(0.0, names, np.zeros(16)), None)
    assert out is not None and out.arm_positions is None and out.hand_positions.shape == (16,)
    goal = make_goal(hand, "power", 5.0, 20.0, (0.1, 0, 0.05), (1, 0, 0, 0), (0.05,) * 3, 0, False)
    with pytest.raises(GoalRejected, match="no arm"):
        controller.start(goal, 0.0)
    release = make_goal(hand, "", 0, 0, (0, 0, 0), (1, 0, 0, 0), (0, 0, 0), 0, True)
    controller.start(release, 0.0)
    for k in range(1, 400):
        t = k * 0.01
        out = controller.step(t, JointInput(t, names, out.hand_positions), TactileSnapshot(t, {}))
        if out.outcome is not None:
            break
    assert out.outcome is not None and out.outcome.success and out.outcome.reason == "released"
