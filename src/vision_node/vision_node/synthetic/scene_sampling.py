"""Sampling helpers of the synthetic scenes: shapes, rotations, hands and lighting.

Quaternions are (w, x, y, z), MuJoCo's order. Sizes follow MuJoCo's geom ``size`` conventions
(half sizes for boxes, radius and half height for cylinders and capsules, semi-axes for
ellipsoids) [m].
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np


@dataclass(frozen=True)
class Geometry:
    """A sampled shape resting on the table.

    Attributes:
        geom_size: MuJoCo geom size (3 values) [m].
        extents: Bounding-box extents along the object axes [m].
        bound: Radius of the bounding sphere [m].
        footprint_radius: Radius of its footprint on the table, for spacing [m].
        rest_height: Height of its centre above the table top [m].
        quaternion: Orientation in the world (w, x, y, z).
    """

    geom_size: tuple[float, float, float]
    extents: tuple[float, float, float]
    bound: float
    footprint_radius: float
    rest_height: float
    quaternion: np.ndarray


def quat_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """(w, x, y, z) of a rotation matrix."""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.ascontiguousarray(rotation, dtype=float).ravel())
    return quat


def _yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _multiply(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    result = np.zeros(4)
    mujoco.mju_mulQuat(result, first, second)
    return result


_ROLL_90 = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])


def look_at_rotation(forward: np.ndarray, roll: float) -> np.ndarray:
    """Rotation world <- optical frame of a camera looking along ``forward`` (z up in the world).

    Args:
        forward: Viewing direction in the world (need not be unit).
        roll: Rotation about the viewing direction [rad].

    Returns:
        3x3 matrix with columns x right, y down, z forward (REP-103 optical frame).
    """
    f = np.asarray(forward, dtype=float)
    f = f / np.linalg.norm(f)
    right = np.cross(f, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(f, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    return np.column_stack([right, down, f])


def object_geometry(kind: str, nominal, scale, lying: bool, rng) -> Geometry:
    """Size and resting pose of a graspable object of class ``kind``.

    Args:
        kind: "cube", "cylinder" or "sphere".
        nominal: The scene's size values (edge; radius and half height; radius) [m].
        scale: Two scale factors (first size value, second size value).
        lying: A cylinder lies on its side.
        rng: Random generator.
    """
    yaw = _yaw_quat(rng.uniform(-np.pi, np.pi))
    if kind == "cube":
        half = nominal[0] * scale[0] / 2
        return Geometry((half,) * 3, (2 * half,) * 3, half * 3**0.5, half * 2**0.5, half, yaw)
    if kind == "cylinder":
        radius, half_height = nominal[0] * scale[0], nominal[1] * scale[1]
        size = (radius, half_height, 0.0)
        extents = (2 * radius, 2 * radius, 2 * half_height)
        bound = float(np.hypot(radius, half_height))
        if lying:
            return Geometry(
                size, extents, bound, max(half_height, radius), radius, _multiply(yaw, _ROLL_90)
            )
        return Geometry(size, extents, bound, radius, half_height, yaw)
    radius = nominal[0] * scale[0]
    quat = rng.normal(size=4)
    return Geometry(
        (radius, 0.0, 0.0), (2 * radius,) * 3, radius, radius, radius, quat / np.linalg.norm(quat)
    )


def sample_distractor_geometry(kind: str, rng) -> Geometry:
    """Size and resting pose of a distractor: a shape that is none of the classes."""
    yaw = _yaw_quat(rng.uniform(-np.pi, np.pi))
    if kind == "capsule":
        radius, half_length = rng.uniform(0.012, 0.035), rng.uniform(0.03, 0.09)
        size = (radius, half_length, 0.0)
        extents = (2 * radius, 2 * radius, 2 * (half_length + radius))
        bound = radius + half_length
        if rng.random() < 0.3:
            return Geometry(size, extents, bound, radius, half_length + radius, yaw)
        return Geometry(size, extents, bound, bound, radius, _multiply(yaw, _ROLL_90))
    if kind == "ellipsoid":
        base = rng.uniform(0.02, 0.06)
        axes = rng.permutation(
            [base, base * rng.uniform(0.35, 0.65), base * rng.uniform(0.35, 1.0)]
        )
        return Geometry(
            tuple(axes),
            tuple(2 * axes),
            float(axes.max()),
            float(max(axes[:2])),
            float(axes[2]),
            yaw,
        )
    if kind == "plate":
        half = (rng.uniform(0.03, 0.09), rng.uniform(0.03, 0.09), rng.uniform(0.002, 0.008))
    elif kind == "bar":
        half = (rng.uniform(0.05, 0.13), rng.uniform(0.006, 0.018), rng.uniform(0.006, 0.018))
    else:  # slab: a book-like box, clearly not a cube
        half = (rng.uniform(0.04, 0.1), rng.uniform(0.035, 0.08), rng.uniform(0.008, 0.018))
    half_array = np.asarray(half)
    return Geometry(
        half,
        tuple(2 * half_array),
        float(np.linalg.norm(half_array)),
        float(np.hypot(half[0], half[1])),
        half[2],
        yaw,
    )


def surface_points(kind: str, geom_size) -> np.ndarray:
    """Points on the object's surface, in its own frame, whose convex hull is its silhouette."""
    if kind == "cube":
        half = geom_size[0]
        corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
        return corners * half
    if kind == "cylinder":
        radius, half_height = geom_size[0], geom_size[1]
        angle = np.linspace(0.0, 2 * np.pi, 32, endpoint=False)
        ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        return np.vstack(
            [np.column_stack([ring, np.full(32, z)]) for z in (-half_height, half_height)]
        )
    # Sphere: a Fibonacci lattice; its projected hull is the silhouette to within 1 %.
    count = 300
    i = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * i / count)
    azimuth = np.pi * (1 + 5**0.5) * i
    return geom_size[0] * np.column_stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]
    )


def sample_hands(rng, model, data, slots, anchors, table_height: float, probability: float) -> None:
    """Show the robot's hands next to random objects (as while grasping) or over the table."""
    for rank, slot in enumerate(rng.permutation(len(slots))):
        if rng.random() >= probability * (0.35**rank):
            continue
        hand = slots[slot]
        if anchors:
            anchor = anchors[rng.integers(len(anchors))]
        else:
            anchor = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.3, 0.3), table_height])
        offset = rng.normal(size=3)
        offset[2] = abs(offset[2])
        position = anchor + offset / np.linalg.norm(offset) * rng.uniform(0.06, 0.16)
        position[2] = max(position[2], table_height + 0.04)
        quat = rng.normal(size=4)
        data.mocap_pos[hand.mocap] = position
        data.mocap_quat[hand.mocap] = quat / np.linalg.norm(quat)
        grey = rng.uniform(0.25, 0.8)
        model.geom_rgba[hand.geom] = (grey, grey, grey * rng.uniform(0.95, 1.05), 1.0)


def sample_lighting(rng, model, lights) -> None:
    """Random key light direction and strength, optional fill light, random headlight."""
    sun, fill = lights
    direction = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), -1.0])
    model.light_dir[sun] = direction / np.linalg.norm(direction)
    tint = rng.uniform(0.9, 1.1, size=3)
    model.light_diffuse[sun] = np.clip(rng.uniform(0.35, 0.95) * tint, 0.0, 1.0)
    model.light_specular[sun] = rng.uniform(0.0, 0.4)
    direction = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(0.2, 1.0)])
    model.light_dir[fill] = direction / np.linalg.norm(direction)
    model.light_diffuse[fill] = rng.uniform(0.0, 0.4) if rng.random() < 0.5 else 0.0
    model.light_specular[fill] = 0.0
    headlight = model.vis.headlight
    headlight.ambient = [rng.uniform(0.05, 0.35)] * 3
    headlight.diffuse = [rng.uniform(0.15, 0.55)] * 3
    headlight.specular = [rng.uniform(0.1, 0.5)] * 3
