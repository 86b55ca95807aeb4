"""Grasp goals: what a caller asks for, checked before anything moves.

A goal that names no grasp type (``""``) gets the one the hand's description assigns to the
object's class (``grasp_for_class`` in the robot YAML: e.g. spheres a cradling pinch), or its
"default". A goal with an unknown grasp type, no grasp type and no grasp for its class, a
force target <= 0 or above the maximum, a maximum above the hand's, a NaN or infinite pose, a
degenerate quaternion, negative or NaN extents or an out-of-range lift height is rejected
with a :class:`GoalRejected` naming the field and what was expected; nothing else changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dexterous_hand_ctrl.core.grasp_planner import ObjectEstimate
from dexterous_hand_ctrl.core.hand_description import HandDescription
from dexterous_hand_ctrl.errors import DexterousHandCtrlError


class GoalRejected(DexterousHandCtrlError):
    """A goal is invalid (the message names the field and what was expected)."""


@dataclass(frozen=True)
class GraspGoal:
    """A validated goal.

    Attributes:
        grasp_type: Grasp of the hand's library ("" for a release).
        target_force_n: Total grip force target [N].
        max_force_n: Total grip force limit [N].
        obj: The object in the base frame (None for a release).
        lift_height_m: Lift after grasping [m] (0: none).
        release: Open and retract instead of grasping.
    """

    grasp_type: str
    target_force_n: float
    max_force_n: float
    obj: ObjectEstimate | None
    lift_height_m: float
    release: bool


def quaternion_to_rotation(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Rotation matrix of a unit quaternion (normalised here)."""
    q = np.array([w, x, y, z], dtype=float)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def make_goal(
    hand: HandDescription,
    grasp_type: str,
    target_force_n: float,
    max_force_n: float,
    position: Sequence[float],
    quaternion_wxyz: Sequence[float],
    extents: Sequence[float],
    lift_height_m: float,
    release: bool,
    default_extent_m: float = 0.05,
    max_lift_m: float = 0.3,
    object_class: str = "",
) -> GraspGoal:
    """Validate a goal whose object pose is already in the hand's base frame.

    Args:
        hand: The hand's description (grasp library and force limit).
        grasp_type: Requested grasp type; "" for the hand's grasp for ``object_class``.
        target_force_n: Total grip force target [N].
        max_force_n: Total grip force limit [N]; 0 means the hand's own limit.
        position: Object centre [m].
        quaternion_wxyz: Object orientation.
        extents: Object extents [m]; zeros mean unknown (``default_extent_m`` is used).
        lift_height_m: Lift after grasping [m].
        release: Release instead of grasp (the other fields are then not checked).
        default_extent_m: Extent assumed for unknown sizes [m].
        max_lift_m: Largest accepted lift [m].
        object_class: The object's class (a detector class name such as "cube", "cylinder",
            "sphere"; "" if unknown): picks the grasp when ``grasp_type`` is "", and a class
            of the hand's ``round_classes`` is placed by its radius, whatever its yaw.

    Raises:
        GoalRejected: Naming the first invalid field.
    """
    if release:
        return GraspGoal("", 0.0, 0.0, None, 0.0, True)
    if grasp_type == "":
        chosen = hand.grasp_for(object_class)
        if chosen is None:
            raise GoalRejected(
                f"no grasp type given and hand {hand.name!r} has no grasp for object class "
                f"{object_class!r} (grasp_for_class: {hand.grasp_for_class}): name one of "
                f"{sorted(hand.grasps)}"
            )
        grasp_type = chosen
    if grasp_type not in hand.grasps:
        raise GoalRejected(
            f"unknown grasp type {grasp_type!r}: expected one of {sorted(hand.grasps)}"
        )
    limit = hand.max_total_force_n
    maximum = limit if max_force_n == 0 else float(max_force_n)
    if not (math.isfinite(maximum) and 0 < maximum <= limit):
        raise GoalRejected(
            f"max_force_n = {max_force_n!r}: expected 0 < max_force_n <= {limit} N (the "
            f"hand's limit), or 0 for the hand's limit"
        )
    if not (math.isfinite(target_force_n) and 0 < target_force_n <= maximum):
        raise GoalRejected(
            f"target_force_n = {target_force_n!r}: expected 0 < target_force_n <= "
            f"max_force_n = {maximum} N"
        )
    p = np.asarray(position, dtype=float)
    q = np.asarray(quaternion_wxyz, dtype=float)
    finite = np.all(np.isfinite(p)) and np.all(np.isfinite(q))
    if p.shape != (3,) or q.shape != (4,) or not finite:
        raise GoalRejected(
            f"object pose has non-finite values (position {p.tolist()}, orientation "
            f"{q.tolist()}): expected finite numbers"
        )
    if not 0.5 < np.linalg.norm(q) < 1.5:
        raise GoalRejected(
            f"object orientation {q.tolist()} has norm {np.linalg.norm(q):.3g}: expected a "
            "unit quaternion"
        )
    e = np.asarray(extents, dtype=float)
    if e.shape != (3,) or not np.all(np.isfinite(e)) or np.any(e < 0):
        raise GoalRejected(f"object_size = {e.tolist()}: expected 3 finite extents >= 0 [m]")
    e = np.where(e > 0, e, default_extent_m)
    if not (math.isfinite(lift_height_m) and 0 <= lift_height_m <= max_lift_m):
        raise GoalRejected(
            f"lift_height_m = {lift_height_m!r}: expected 0 <= lift_height_m <= {max_lift_m} m"
        )
    round_object = object_class in hand.round_classes
    obj = ObjectEstimate(p, quaternion_to_rotation(*q), e, round=round_object)
    return GraspGoal(grasp_type, float(target_force_n), maximum, obj, float(lift_height_m), False)
