"""A kinematic stand-in for the robot and its skin, for controller tests without a simulator.

Named as such: it is not a physics model. The arm follows its commands exactly. Each finger
follows its reference until it meets a virtual object, placed per finger as a joint-space wall
a given angle along the finger's closing direction from where closing starts; past the wall the
finger stops and its tip pad reads the force the joint PD would push with,
``kp * penetration / lever``. Slip events, tactile dropouts and object removal are injected by
the test.
"""

from __future__ import annotations

import numpy as np
import yaml

from dexterous_hand_ctrl.core.contacts import PadContact, TactileSnapshot
from dexterous_hand_ctrl.core.finger_control import FingerMode
from dexterous_hand_ctrl.core.grasp_controller import JointInput

LEVER_M = 0.05


class HandPlant:
    """Joint states and tactile snapshots for a :class:`GraspController` under test.

    Args:
        controller: The controller (its hand description and models are used).
        robot_yaml: Robot YAML with the pads' links, centres and normals.
        extra_joints: Other joint positions in the joint state (e.g. the stand posture).
    """

    def __init__(self, controller, robot_yaml, extra_joints=None):
        self.controller = controller
        hand = controller.hand
        with open(robot_yaml, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
        self.pads = {p["name"]: p for p in data["tactile"][hand.skin]["pads"]}
        self.hand_joints = list(controller.model.joint_names)
        self.arm_joints = list(hand.arm.joints) if hand.arm else []
        extra = dict(extra_joints or {})
        self.other_joints = [j for j in extra if j not in self.hand_joints + self.arm_joints]
        self.names = tuple(self.hand_joints + self.arm_joints + self.other_joints)
        self.q = np.zeros(len(self.names))
        for i, name in enumerate(self.names):
            self.q[i] = extra.get(name, 0.0)
        self.q_hand = np.clip(0.0, controller.model.lower, controller.model.upper)
        self.q[: len(self.hand_joints)] = self.q_hand
        self.walls: dict[str, float] = {}  # finger -> wall angle past the closing start [rad]
        self._wall_q: dict[str, np.ndarray] = {}
        self.t = 0.0
        self.slip_pads: set[str] = set()
        self.tactile_on = True
        self.forces: dict[str, float] = {}

    def place_object(self, walls: dict[str, float]) -> None:
        """Put an object this far [rad] along each finger's closing direction."""
        self.walls = dict(walls)
        self._wall_q.clear()

    def remove_object(self) -> None:
        self.walls = {}
        self._wall_q.clear()

    def joints(self) -> JointInput:
        return JointInput(self.t, self.names, self.q.copy())

    def tactile(self) -> TactileSnapshot | None:
        if not self.tactile_on:
            return None
        pads = {}
        for finger in self.controller.hand.fingers:
            for index, pad in enumerate(finger.pads):
                spec = self.pads[pad]
                force = self.forces.get(finger.name, 0.0) if index == 0 else 0.0
                pads[pad] = PadContact(
                    pad,
                    spec["link"],
                    force,
                    force >= 0.2,
                    pad in self.slip_pads,
                    np.asarray(spec["center"], dtype=float),
                    np.asarray(spec["normal"], dtype=float) / np.linalg.norm(spec["normal"]),
                )
        self.slip_pads.clear()
        return TactileSnapshot(self.t, pads)

    def apply(self, output, dt: float) -> None:
        """Move the joints as commanded (fingers stopped by the object) and advance time."""
        c = self.controller
        n_hand = len(self.hand_joints)
        q_ref = np.asarray(output.hand_positions, dtype=float)
        self.forces = {}
        for finger in c.hand.fingers:
            sl = c._slices[finger.name]
            ref = q_ref[sl]
            closing = c.fingers[finger.name].closing
            closing_started = finger.name in self._wall_q or c.fingers[finger.name].mode in (
                FingerMode.CLOSING,
                FingerMode.CONTACT,
                FingerMode.SQUEEZE,
            )
            if finger.name in self.walls and np.any(closing) and closing_started:
                if finger.name not in self._wall_q:
                    unit = closing / np.linalg.norm(closing)
                    self._wall_q[finger.name] = self.q_hand[sl] + self.walls[finger.name] * unit
                wall = self._wall_q[finger.name]
                past = float(closing @ (ref - wall)) / float(np.linalg.norm(closing))
                if past > 0:
                    self.q_hand[sl] = wall
                    kp = float(np.mean(output.hand_kp[sl][closing != 0]))
                    self.forces[finger.name] = kp * past / LEVER_M
                    continue
            self.q_hand[sl] = ref
        self.q[:n_hand] = self.q_hand
        if output.arm_positions is not None:
            self.q[n_hand : n_hand + len(self.arm_joints)] = output.arm_positions
        self.t += dt

    def run(self, seconds: float, dt: float = 0.004, until=None, on_step=None):
        """Step controller and plant; return the outputs (stops early when ``until(out)``)."""
        outputs = []
        for _ in range(int(round(seconds / dt))):
            out = self.controller.step(self.t, self.joints(), self.tactile())
            if out is None:
                self.t += dt
                continue
            outputs.append(out)
            if on_step is not None:
                on_step(out)
            self.apply(out, dt)
            if until is not None and until(out):
                break
        return outputs
