"""A hand as the grasp controller sees it, read from the ``hands:`` section of a robot YAML.

Everything hand-specific comes from there: finger chains and closing directions, fingertips,
the pad-to-finger map, force and velocity limits, gains, the arm carrying the hand (optional: a
hand on a fixed mount has none), the grasp library and which grasp suits which object class
(``grasp_for_class``, used when a goal names no grasp type). The kinematic checks need the
URDF, which the YAML names (``urdf.path`` relative to example-robot-data's ``robots``
directory, or absolute). A second hand is a second YAML entry
(``config/robots/allegro_right.yaml``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dexterous_hand_ctrl.core.grasp_library import GraspSpec, grasp_from_dict
from dexterous_hand_ctrl.core.hand_model import (
    FingerSpec,
    HandModel,
    _finger_from_dict,
    find_example_robot_data_dir,
)
from dexterous_hand_ctrl.errors import DexterousHandCtrlError


@dataclass(frozen=True)
class ArmSpec:
    """The arm that carries a hand.

    Attributes:
        joints: Arm joints, shoulder to wrist.
        gains: (kp [N*m/rad], kd [N*m*s/rad]) while the controller drives the arm.
        max_velocity_rad_s: Joint speed limit the controller keeps [rad/s].
        max_speed_m_s: Palm speed along reach and lift paths [m/s].
        ik_limits: Joint -> (lower, upper) tighter than the URDF (e.g. self-collision) [rad].
        ready_posture: Posture the IK prefers (null-space target) [rad], one per joint.
        home_posture: Posture a release ends in, the one the robot stands and walks with
            (``arm.home_posture``, else the robot's ``stand_posture`` for these joints, 0 for
            those it does not list) [rad]; None: a release leaves the arm where it retracted.
    """

    joints: tuple[str, ...]
    gains: tuple[float, float]
    max_velocity_rad_s: float
    max_speed_m_s: float
    ik_limits: dict[str, tuple[float, float]]
    ready_posture: np.ndarray
    home_posture: np.ndarray | None = None


@dataclass(frozen=True)
class HandDescription:
    """One hand of a robot description.

    Attributes:
        name: Key under ``hands:`` (e.g. "right_hand"); also the controller's namespace.
        urdf_path: The robot URDF.
        base_link: Link that arm poses and object poses are expressed in.
        palm_link: The hand's palm link.
        skin: Tactile skin name (key under ``tactile:``).
        fingers: Finger chains, in description order.
        palm_pads: Pads on the palm.
        finger_gains: (kp, kd) of the joints that close and squeeze (the admittance's
            stiffness).
        hold_gains: (kp, kd) of the hand joints that only hold a posture (e.g. the thumb's
            rotation during a grasp), stiffer so that the load does not twist them.
        close_velocity_rad_s: Guarded closing speed of each closing joint [rad/s].
        open_velocity_rad_s: Opening / pre-shaping speed [rad/s].
        max_total_force_n: Largest total normal force of all fingers [N].
        arm: The arm, or None for a hand without one.
        grasps: Grasp library, by type.
        palm_box_m: The palm's collision box in the palm frame, (min corner, max corner) [m].
        finger_radius_m: Half thickness of the finger segments [m] (clearance checks).
        grasp_for_class: Object class (the detector's class name, e.g. "sphere") -> grasp
            type, for goals that name no grasp type; the key "default" covers other classes
            (and goals without a class). Empty: such goals are rejected.
        round_classes: Object classes that are round about the vertical (ball, upright
            cylinder): the planner places them by their radius and ignores their yaw.
    """

    name: str
    urdf_path: Path
    base_link: str
    palm_link: str
    skin: str
    fingers: tuple[FingerSpec, ...]
    palm_pads: tuple[str, ...]
    finger_gains: tuple[float, float]
    hold_gains: tuple[float, float]
    close_velocity_rad_s: float
    open_velocity_rad_s: float
    max_total_force_n: float
    arm: ArmSpec | None
    grasps: dict[str, GraspSpec] = field(default_factory=dict)
    palm_box_m: tuple[np.ndarray, np.ndarray] = (np.zeros(3), np.zeros(3))
    finger_radius_m: float = 0.01
    grasp_for_class: dict[str, str] = field(default_factory=dict)
    round_classes: tuple[str, ...] = ()

    @property
    def finger_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fingers)

    @property
    def hand_joints(self) -> tuple[str, ...]:
        """Hand joints finger by finger (the order of :class:`HandModel` vectors)."""
        return tuple(j for f in self.fingers for j in f.joints)

    def grasp_for(self, object_class: str) -> str | None:
        """The grasp type for an object class (``grasp_for_class``, else its "default"), or
        None if the hand has none for it."""
        return self.grasp_for_class.get(object_class, self.grasp_for_class.get("default"))

    def pad_to_finger(self) -> dict[str, str]:
        """Pad name -> finger name ("palm" for palm pads)."""
        mapping = {p: "palm" for p in self.palm_pads}
        mapping.update({p: f.name for f in self.fingers for p in f.pads})
        return mapping

    def model_dict(self) -> dict[str, Any]:
        """The description in the form :class:`HandModel` takes."""
        return {
            "name": self.name,
            "palm_link": self.palm_link,
            "fingers": {
                f.name: {
                    "joints": list(f.joints),
                    "close_direction": list(f.close_direction),
                    "tip_link": f.tip_link,
                    "tip_offset_m": list(f.tip_offset_m),
                    "pads": list(f.pads),
                    "max_force_n": f.max_force_n,
                }
                for f in self.fingers
            },
        }


def _positive(data: Mapping[str, Any], key: str, where: str, default: float | None = None):
    if key not in data and default is None:
        raise DexterousHandCtrlError(f"{where}: missing key {key!r}")
    value = data.get(key, default)
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else -1
    if not (math.isfinite(number) and number > 0):
        raise DexterousHandCtrlError(f"{where}.{key} = {value!r}: expected a number > 0")
    return number


def _gains(value: Any, where: str) -> tuple[float, float]:
    array = np.asarray(value, dtype=float) if isinstance(value, (list, tuple)) else np.zeros(0)
    if array.shape != (2,) or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise DexterousHandCtrlError(f"{where} = {value!r}: expected [kp, kd], both >= 0")
    return float(array[0]), float(array[1])


def _box(value: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    if value is None:
        return np.zeros(3), np.zeros(3)
    try:
        lower = np.asarray(value["min"], dtype=float)
        upper = np.asarray(value["max"], dtype=float)
    except (KeyError, TypeError, ValueError) as error:
        raise DexterousHandCtrlError(
            f"{where}: expected {{min: [x, y, z], max: [x, y, z]}}"
        ) from error
    if lower.shape != (3,) or upper.shape != (3,) or np.any(lower > upper):
        raise DexterousHandCtrlError(f"{where}: expected min <= max, 3 values each [m]")
    return lower, upper


def resolve_urdf(path: str) -> Path:
    """A URDF path from a robot YAML: absolute, or relative to example-robot-data's robots."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = find_example_robot_data_dir() / candidate
    if not candidate.is_file():
        raise DexterousHandCtrlError(f"URDF {str(candidate)!r} does not exist")
    return candidate


def _arm_posture(values, joints: tuple[str, ...], what: str) -> np.ndarray:
    """One finite angle per arm joint [rad], or an error naming ``what``."""
    try:
        posture = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        posture = np.zeros(0)
    if posture.shape != (len(joints),) or not np.all(np.isfinite(posture)):
        raise DexterousHandCtrlError(f"{what}: expected {len(joints)} finite values [rad]")
    return posture


def _arm_from_dict(
    data: Mapping[str, Any], where: str, stand_posture: Mapping[str, Any] | None = None
) -> ArmSpec:
    joints = tuple(str(j) for j in data.get("joints") or ())
    if not joints:
        raise DexterousHandCtrlError(f"{where}.joints: expected a non-empty list of arm joints")
    limits = {}
    for joint, bounds in (data.get("ik_limits") or {}).items():
        lower, upper = (float(b) for b in bounds)
        if joint not in joints or not lower < upper:
            raise DexterousHandCtrlError(
                f"{where}.ik_limits.{joint} = {bounds!r}: expected an arm joint and lower < upper"
            )
        limits[str(joint)] = (lower, upper)
    ready = _arm_posture(
        data.get("ready_posture", [0.0] * len(joints)), joints, f"{where}.ready_posture"
    )
    home = None
    if data.get("home_posture") is not None:
        home = data["home_posture"]
    elif isinstance(stand_posture, Mapping):
        home = [stand_posture.get(j, 0.0) for j in joints]
    if home is not None:
        home = _arm_posture(
            home, joints, f"{where}.home_posture (or stand_posture for {list(joints)})"
        )
    return ArmSpec(
        joints=joints,
        gains=_gains(data.get("gains"), f"{where}.gains"),
        max_velocity_rad_s=_positive(data, "max_velocity_rad_s", where),
        max_speed_m_s=_positive(data, "max_speed_m_s", where),
        ik_limits=limits,
        ready_posture=ready,
        home_posture=home,
    )


def hand_from_dict(
    name: str,
    data: Mapping[str, Any],
    urdf_path: Path,
    where: str = "hands",
    stand_posture: Mapping[str, Any] | None = None,
) -> HandDescription:
    """Build a hand description from its entry under ``hands:``, checked against the URDF;
    ``stand_posture`` (the robot's, joint -> angle) gives the arm's home posture unless the
    arm names its own.

    Raises:
        DexterousHandCtrlError: Naming the key and what was expected.
    """
    where = f"{where}.{name}"
    if not isinstance(data, Mapping):
        raise DexterousHandCtrlError(f"{where}: expected a mapping")
    for key in ("palm_link", "fingers", "base_link", "finger_gains"):
        if key not in data:
            raise DexterousHandCtrlError(f"{where}: missing key {key!r}")
    fingers_data = data["fingers"]
    if not isinstance(fingers_data, Mapping) or not fingers_data:
        raise DexterousHandCtrlError(f"{where}.fingers: expected a non-empty mapping")
    fingers = tuple(_finger_from_dict(str(n), f) for n, f in fingers_data.items())
    palm_pads = tuple(str(p) for p in data.get("palm_pads") or ())
    all_pads = [p for f in fingers for p in f.pads] + list(palm_pads)
    duplicates = sorted({p for p in all_pads if all_pads.count(p) > 1})
    if duplicates:
        raise DexterousHandCtrlError(f"{where}: pads {duplicates} belong to two places")
    description = HandDescription(
        name=name,
        urdf_path=urdf_path,
        base_link=str(data["base_link"]),
        palm_link=str(data["palm_link"]),
        skin=str(data.get("skin", name)),
        fingers=fingers,
        palm_pads=palm_pads,
        finger_gains=_gains(data["finger_gains"], f"{where}.finger_gains"),
        hold_gains=_gains(data.get("hold_gains", data["finger_gains"]), f"{where}.hold_gains"),
        close_velocity_rad_s=_positive(data, "close_velocity_rad_s", where, 1.0),
        open_velocity_rad_s=_positive(data, "open_velocity_rad_s", where, 2.0),
        max_total_force_n=_positive(data, "max_total_force_n", where),
        arm=(
            _arm_from_dict(data["arm"], f"{where}.arm", stand_posture) if data.get("arm") else None
        ),
        palm_box_m=_box(data.get("palm_box_m"), f"{where}.palm_box_m"),
        finger_radius_m=_positive(data, "finger_radius_m", where, 0.01),
    )
    model = HandModel(description.model_dict(), urdf_path)  # checks joints and links
    limits = {
        j: (float(lo), float(hi))
        for j, lo, hi in zip(model.joint_names, model.lower, model.upper, strict=True)
    }
    finger_pads = {f.name: f.pads for f in fingers}
    joint_counts = {f.name: len(f.joints) for f in fingers}
    grasps = {
        str(g): grasp_from_dict(
            str(g), gd, finger_pads, limits, palm_pads, f"{where}.grasps", joint_counts
        )
        for g, gd in (data.get("grasps") or {}).items()
    }
    if not grasps:
        raise DexterousHandCtrlError(f"{where}.grasps: expected at least one grasp type")
    by_class = data.get("grasp_for_class") or {}
    if not isinstance(by_class, Mapping):
        raise DexterousHandCtrlError(
            f"{where}.grasp_for_class = {by_class!r}: expected a mapping object class -> grasp"
        )
    for object_class, grasp in by_class.items():
        if not (isinstance(object_class, str) and object_class) or grasp not in grasps:
            raise DexterousHandCtrlError(
                f"{where}.grasp_for_class.{object_class} = {grasp!r}: expected a class name "
                f"and a grasp of the library {sorted(grasps)}"
            )
    round_classes = data.get("round_classes") or []
    if not isinstance(round_classes, list) or not all(
        isinstance(c, str) and c for c in round_classes
    ):
        raise DexterousHandCtrlError(
            f"{where}.round_classes = {round_classes!r}: expected a list of object class names"
        )
    return HandDescription(
        **{
            **description.__dict__,
            "grasps": grasps,
            "grasp_for_class": dict(by_class),
            "round_classes": tuple(round_classes),
        }
    )


def load_hand_description(robot_yaml: str | os.PathLike, hand: str) -> HandDescription:
    """Load one hand from a robot description YAML.

    Args:
        robot_yaml: Robot description (e.g. ``config/robots/g1_dex3.yaml``).
        hand: Key under ``hands:`` (e.g. "right_hand").

    Raises:
        DexterousHandCtrlError: Unreadable file, no such hand, or an invalid entry.
    """
    try:
        with open(robot_yaml, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError) as error:
        raise DexterousHandCtrlError(
            f"cannot read robot YAML {str(robot_yaml)!r}: {error}"
        ) from error
    hands = data.get("hands") if isinstance(data, Mapping) else None
    if not isinstance(hands, Mapping) or hand not in hands:
        known = list(hands) if isinstance(hands, Mapping) else []
        raise DexterousHandCtrlError(
            f"robot YAML {str(robot_yaml)!r} has no hand {hand!r}: expected one of {known}"
        )
    urdf = data.get("urdf")
    if not isinstance(urdf, Mapping) or "path" not in urdf:
        raise DexterousHandCtrlError(f"robot YAML {str(robot_yaml)!r}: missing urdf.path")
    where = f"{os.path.basename(str(robot_yaml))} hands"
    return hand_from_dict(
        hand, hands[hand], resolve_urdf(str(urdf["path"])), where, data.get("stand_posture")
    )
