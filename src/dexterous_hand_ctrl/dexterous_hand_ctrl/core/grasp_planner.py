"""Where the palm goes to grasp an object, and a reach path that sweeps through neither the
object nor the surface it rests on.

Given the object's pose and extents in the base frame and a grasp type, the planner places the
grasp frame G at the object's centre (z up, x the approach direction at a candidate yaw; boxes
snap to their face directions when a nearby yaw is reachable), puts the palm where the grasp
says, and checks with the arm IK that the grasp and pre-grasp poses are reachable. The path:

1. from the current palm pose straight up to a safe height above the support surface (the
   plane under the object; the hand may start beside or below it);
2. over to above the pre-grasp position, turning to the grasp orientation;
3. straight down to the pre-grasp pose (backed off from the grasp along the approach), at
   ``descent_speed_m_s``;
4. straight along the approach onto the grasp pose, at ``approach_speed_m_s``.

The last two segments are slower than the transfer: the arm's joint speed limit makes a fast
descent lag its path, and the PD then overshoots the pre-grasp height by a centimetre, enough
to press the lowest finger onto the table beside a small object.

Segments 3 and 4 are checked: sample points of the pre-shaped hand (finger joints, segment
midpoints and tips, the palm) must stay above the support plane and outside the object's
(inflated) box at every sampled pose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pinocchio as pin

from dexterous_hand_ctrl.core.arm_ik import ArmKinematics
from dexterous_hand_ctrl.core.grasp_library import GraspSpec
from dexterous_hand_ctrl.core.hand_model import HandModel
from dexterous_hand_ctrl.errors import DexterousHandCtrlError


class PlanningError(DexterousHandCtrlError):
    """No reachable, collision-free grasp was found (the message says why)."""


@dataclass(frozen=True)
class ObjectEstimate:
    """An object to grasp, in the base frame.

    Attributes:
        position: Centre [m], shape (3,).
        rotation: Orientation, shape (3, 3).
        extents: Bounding box size along the object's axes [m], shape (3,), all > 0.
        round: The object is round about its vertical axis (a ball, an upright cylinder):
            its depth seen from any horizontal direction is its radius ``extents[0] / 2``
            (not the diagonal of its box) and a reported yaw means nothing (no face to snap
            to).
    """

    position: np.ndarray
    rotation: np.ndarray
    extents: np.ndarray
    round: bool = False

    def half_depth(self, direction: np.ndarray) -> float:
        """Half the object's depth along a horizontal ``direction`` (base frame, unit) [m]."""
        if self.round:
            return float(self.extents[0]) / 2.0
        return float(np.abs(self.rotation.T @ direction) @ (self.extents / 2.0))

    @property
    def support_height(self) -> float:
        """Height of the surface it rests on (lowest point of its box) in the base frame [m]."""
        corners = np.abs(self.rotation) @ (self.extents / 2.0)
        return float(self.position[2] - corners[2])

    def inside(self, points: np.ndarray, margin: float) -> np.ndarray:
        """True for points (N, 3) inside the box (a round object: its upright cylinder)
        inflated by ``margin`` [m]."""
        if self.round:
            offset = points - self.position
            radial = np.linalg.norm(offset[:, :2], axis=1)[:, None]
            vertical = np.abs(offset[:, 2:3])
            bounds = self.extents / 2.0 + margin
            return ((radial <= bounds[..., 0:1]) & (vertical <= bounds[..., 2:3]))[:, 0]
        local = (points - self.position) @ self.rotation
        return np.all(np.abs(local) <= self.extents / 2.0 + margin, axis=1)


@dataclass(frozen=True)
class PlannerParams:
    """Parameters of :class:`GraspPlanner`.

    Attributes:
        standoff_m: Pre-grasp distance before the grasp pose along the approach [m].
        safe_height_m: Palm height above the support for the transfer segments [m].
        table_clearance_m: Smallest allowed height of any hand point above the support [m].
        object_margin_m: The object's box is inflated by this for the sweep check [m].
        yaw_tolerance_deg: Largest misalignment from a box face accepted for a candidate yaw.
        position_tolerance_m: IK position tolerance of reachable poses [m].
        rotation_tolerance_rad: IK rotation tolerance of reachable poses [rad].
        sweep_samples: Poses sampled per checked segment.
        descent_speed_m_s: Average palm speed down to the pre-grasp pose [m/s].
        approach_speed_m_s: Average palm speed from the pre-grasp onto the grasp pose [m/s].
    """

    standoff_m: float = 0.06
    safe_height_m: float = 0.2
    table_clearance_m: float = 0.002
    object_margin_m: float = -0.006
    yaw_tolerance_deg: float = 20.0
    position_tolerance_m: float = 0.003
    rotation_tolerance_rad: float = 0.05
    sweep_samples: int = 12
    descent_speed_m_s: float = 0.1
    approach_speed_m_s: float = 0.1


@dataclass(frozen=True)
class GraspPlan:
    """A planned grasp.

    Attributes:
        grasp: Palm pose at the grasp (base frame).
        pre_grasp: Palm pose backed off along the approach.
        waypoints: Palm poses from the start to the grasp (the start excluded).
        speeds: Per waypoint, the average speed of the segment ending there [m/s] (0: the
            arm's own limit).
        approach: Approach direction in the base frame (unit).
        yaw_deg: Yaw of the grasp frame [deg].
        q_arm_grasp: IK solution at the grasp [rad].
        min_clearance_m: Smallest distance of the checked hand points to the support plane [m].
    """

    grasp: pin.SE3
    pre_grasp: pin.SE3
    waypoints: tuple[pin.SE3, ...]
    approach: np.ndarray
    yaw_deg: float
    q_arm_grasp: np.ndarray
    min_clearance_m: float
    speeds: tuple[float, ...] = ()


def rotation_z(yaw_rad: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def candidate_yaws(spec: GraspSpec, obj: ObjectEstimate, tolerance_deg: float) -> list[float]:
    """Yaws to try [deg]: face-aligned ones near each preferred yaw first, then the preferred
    yaws themselves, least misaligned with a face first (those beyond ``tolerance_deg`` last).

    A box with (almost) square x-y extents repeats every 90 deg, otherwise every 180 deg. A
    round object has no faces: the preferred yaws, in order.
    """
    if obj.round:
        return list(spec.approach_yaw_deg)
    axis_x = obj.rotation[:, 0]
    object_yaw = math.degrees(math.atan2(axis_x[1], axis_x[0]))
    square = abs(obj.extents[0] - obj.extents[1]) < 0.01
    period = 90.0 if square else 180.0

    def offset(yaw: float) -> float:
        return (yaw - object_yaw + period / 2.0) % period - period / 2.0

    aligned = [round(yaw - offset(yaw), 6) for yaw in spec.approach_yaw_deg]
    preferred = sorted(spec.approach_yaw_deg, key=lambda y: abs(offset(y)) > tolerance_deg)
    ordered: list[float] = []
    for yaw in aligned + preferred:
        if all(abs(yaw - o) > 1e-6 for o in ordered):
            ordered.append(yaw)
    return ordered


class GraspPlanner:
    """Grasp poses and reach paths for one arm and hand.

    Args:
        arm: Arm kinematics (holding the current robot state for the IK).
        hand: Hand kinematics (for the hand's sample points).
        params: Planner parameters.
        ready_posture: Arm posture the IK prefers [rad].
    """

    def __init__(
        self,
        arm: ArmKinematics,
        hand: HandModel,
        params: PlannerParams | None = None,
        ready_posture: np.ndarray | None = None,
        palm_box_m: tuple[np.ndarray, np.ndarray] | None = None,
        finger_radius_m: float = 0.01,
    ):
        self.arm = arm
        self.hand = hand
        self.params = params or PlannerParams()
        self.finger_radius_m = float(finger_radius_m)
        lower, upper = palm_box_m if palm_box_m is not None else (np.zeros(3), np.zeros(3))
        self.palm_corners = np.array(
            [
                [(lower, upper)[i][0], (lower, upper)[j][1], (lower, upper)[k][2]]
                for i in (0, 1)
                for j in (0, 1)
                for k in (0, 1)
            ]
        )
        self.ready = (
            np.clip(ready_posture, arm.lower, arm.upper)
            if ready_posture is not None
            else (arm.lower + arm.upper) / 2.0
        )

    # ---------------------------------------------------------------------------- geometry
    def preshape_vector(self, spec: GraspSpec) -> np.ndarray:
        """The grasp's pre-shape as a hand joint vector (unlisted joints 0, within limits)."""
        q = np.clip(0.0, self.hand.lower, self.hand.upper)
        for joint, angle in spec.preshape.items():
            q[self.hand.joint_names.index(joint)] = angle
        return q

    def hand_points(self, q_hand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sample points of the hand in the palm frame (N, 3) [m] and their radii (N,) [m]:
        the palm box corners (radius 0), every finger joint, segment midpoints and fingertips
        (the finger radius)."""
        model, data = self.hand.model, self.hand.data
        pin.framesForwardKinematics(model, data, self.hand._full_q(q_hand))
        palm = data.oMf[self.hand._palm]
        points = [np.zeros(3)]
        tips = self.hand.fingertip_positions(q_hand)
        for finger in self.hand.fingers:
            chain = [palm.actInv(data.oMi[model.getJointId(j)].translation) for j in finger.joints]
            chain.append(tips[finger.name])
            for a, b in zip(chain, chain[1:], strict=False):
                points.extend([a, (a + b) / 2.0])
            points.append(chain[-1])
        radii = np.concatenate([np.zeros(len(self.palm_corners)), np.full(len(points), 0.0)])
        radii[len(self.palm_corners) + 1 :] = self.finger_radius_m
        return np.vstack([self.palm_corners, np.array(points)]), radii

    def grasp_pose(self, spec: GraspSpec, obj: ObjectEstimate, yaw_deg: float) -> pin.SE3:
        """Palm pose that puts the object where the grasp wants it, for one grasp-frame yaw."""
        rotation = rotation_z(math.radians(yaw_deg)) @ spec.rotation_grasp_palm
        # Half depth of the object along the approach (its box, seen from the hand).
        half = obj.half_depth(rotation @ spec.approach_in_palm)
        centre_in_palm = spec.object_in_palm_m + half * spec.size_offset_palm
        return pin.SE3(rotation, obj.position - rotation @ centre_in_palm)

    # ---------------------------------------------------------------------------- planning
    def _reachable(self, pose: pin.SE3, start: np.ndarray):
        """IK from the given start, then from the ready posture; the better one."""
        p = self.params
        best = None
        for seed in (start, self.ready):
            result = self.arm.solve(
                pose,
                seed,
                posture_gain=0.0,
                max_iterations=250,
                position_tolerance_m=p.position_tolerance_m * 0.25,
                rotation_tolerance_rad=p.rotation_tolerance_rad * 0.25,
            )
            if best is None or result.position_error_m < best.position_error_m:
                best = result
            if (
                best.position_error_m <= p.position_tolerance_m
                and best.rotation_error_rad <= p.rotation_tolerance_rad
            ):
                return True, best
        return False, best

    def sweep_clearance(
        self,
        poses: Sequence[pin.SE3],
        points_palm: np.ndarray,
        radii: np.ndarray,
        obj: ObjectEstimate,
        check_object: bool = True,
    ) -> tuple[float, bool]:
        """Check straight segments between consecutive poses.

        Args:
            poses: Palm poses; the segments between consecutive ones are sampled.
            points_palm: Hand sample points in the palm frame (N, 3) [m].
            radii: Their radii (N,) [m] (a finger point stands for a finger's thickness).
            obj: The object.
            check_object: Also check the object's inflated box.

        Returns:
            (lowest height of the hand's surface above the support plane [m], True if a hand
            point, grown by its radius, entered the inflated object box).
        """
        support = obj.support_height
        lowest, hit = math.inf, False
        for start, end in zip(poses, poses[1:], strict=False):
            for s in np.linspace(0.0, 1.0, self.params.sweep_samples):
                pose = pin.SE3.Interpolate(start, end, float(s))
                world = points_palm @ pose.rotation.T + pose.translation
                lowest = min(lowest, float((world[:, 2] - radii).min() - support))
                margin = self.params.object_margin_m + radii
                if check_object and np.any(obj.inside(world, margin[:, None])):
                    hit = True
        return lowest, hit

    def plan(self, spec: GraspSpec, obj: ObjectEstimate, start: pin.SE3, q_arm: np.ndarray):
        """Plan a grasp.

        Args:
            spec: The grasp type.
            obj: The object (base frame).
            start: The palm's current pose (base frame).
            q_arm: The arm's current joints [rad] (IK start).

        Returns:
            A :class:`GraspPlan`.

        Raises:
            PlanningError: If no candidate yaw gives a reachable grasp and pre-grasp with a
                collision-free approach (the reason names the closest miss).
        """
        p = self.params
        points, radii = self.hand_points(self.preshape_vector(spec))
        safe_z = obj.support_height + p.safe_height_m
        reasons = []
        for yaw in candidate_yaws(spec, obj, p.yaw_tolerance_deg):
            grasp = self.grasp_pose(spec, obj, yaw)
            approach = grasp.rotation @ spec.approach_in_palm
            pre = pin.SE3(grasp.rotation, grasp.translation - p.standoff_m * approach)
            above = pin.SE3(grasp.rotation, np.array([*pre.translation[:2], safe_z]))
            ok_grasp, at_grasp = self._reachable(grasp, q_arm)
            if not ok_grasp:
                reasons.append(
                    f"yaw {yaw:.0f} deg: grasp pose out of reach (IK error "
                    f"{at_grasp.position_error_m * 100:.1f} cm, "
                    f"{math.degrees(at_grasp.rotation_error_rad):.0f} deg)"
                )
                continue
            ok_pre, _ = self._reachable(pre, at_grasp.q_arm)
            ok_above, _ = self._reachable(above, at_grasp.q_arm)
            if not (ok_pre and ok_above):
                reasons.append(f"yaw {yaw:.0f} deg: pre-grasp out of reach")
                continue
            lowest, hit = self.sweep_clearance([above, pre, grasp], points, radii, obj)
            if hit or lowest < p.table_clearance_m:
                reasons.append(
                    f"yaw {yaw:.0f} deg: the approach would sweep through the "
                    + ("object" if hit else f"support (hand {lowest * 100:.1f} cm above it)")
                )
                continue
            waypoints: tuple[pin.SE3, ...] = (above, pre, grasp)
            speeds = (0.0, p.descent_speed_m_s, p.approach_speed_m_s)
            if start.translation[2] < safe_z:  # rise first: the hand may be beside the table
                up = pin.SE3(start.rotation, np.array([*start.translation[:2], safe_z]))
                waypoints = (up, *waypoints)
                speeds = (0.0, *speeds)
            return GraspPlan(
                grasp=grasp,
                pre_grasp=pre,
                waypoints=waypoints,
                approach=approach,
                yaw_deg=yaw,
                q_arm_grasp=at_grasp.q_arm,
                min_clearance_m=lowest,
                speeds=speeds,
            )
        raise PlanningError(
            f"no reachable grasp '{spec.name}' for the object at "
            f"{np.round(obj.position, 3).tolist()} m: " + "; ".join(reasons or ["no yaw to try"])
        )
