"""Scene configuration: floor, table and graspable objects, with seeded pose sampling."""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import numpy as np
import yaml

from humanoid_sim.errors import SimError

_SIZE_COUNT = {"box": 1, "cylinder": 2, "sphere": 1}


@dataclass(frozen=True)
class ObjectSpec:
    """A graspable object.

    Attributes:
        name: Body name in the model.
        shape: "box" (size = [edge]), "cylinder" (size = [radius, half height]) or
            "sphere" (size = [radius]).
        size: Shape parameters [m].
        mass: Mass [kg].
        friction: Sliding friction coefficient.
        rgba: Colour.
        xy: Nominal position on the table top [m].
        xy_noise: Uniform position noise +/- [m].
        yaw_noise: Uniform yaw noise +/- [rad].
    """

    name: str
    shape: str
    size: tuple[float, ...]
    mass: float
    friction: float
    rgba: tuple[float, float, float, float]
    xy: tuple[float, float]
    xy_noise: float
    yaw_noise: float

    @property
    def half_height(self) -> float:
        """Half of the object's vertical extent when resting upright [m]."""
        if self.shape == "box":
            return self.size[0] / 2.0
        if self.shape == "cylinder":
            return self.size[1]
        return self.size[0]

    @property
    def extents(self) -> tuple[float, float, float]:
        """Bounding box extents (x, y, z) in the object frame [m]."""
        if self.shape == "box":
            return (self.size[0],) * 3
        if self.shape == "cylinder":
            return (2 * self.size[0], 2 * self.size[0], 2 * self.size[1])
        return (2 * self.size[0],) * 3


@dataclass(frozen=True)
class TableSpec:
    """A table: top centre (x, y), top extents, top height above the floor [m]."""

    position: tuple[float, float]
    size: tuple[float, float]
    height: float
    thickness: float
    friction: float


@dataclass(frozen=True)
class SceneConfig:
    """Floor, table and objects."""

    floor_friction: float
    table: TableSpec | None
    objects: tuple[ObjectSpec, ...]


def _positive(value, where: str) -> float:
    number = float(value)
    if not np.isfinite(number) or number <= 0:
        raise SimError(f"{where}: expected a positive number, got {value!r}")
    return number


def load_scene(path: str | os.PathLike) -> SceneConfig:
    """Load and validate a scene YAML.

    Raises:
        SimError: Unknown shape, wrong size count, non-positive mass or size.
    """
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SimError(f"cannot read scene {path}: {error}") from error
    table = None
    if "table" in data:
        t = data["table"]
        table = TableSpec(
            position=tuple(float(v) for v in t["position"]),
            size=tuple(_positive(v, f"{path} table.size") for v in t["size"]),
            height=_positive(t["height"], f"{path} table.height"),
            thickness=_positive(t.get("thickness", 0.04), f"{path} table.thickness"),
            friction=_positive(t.get("friction", 0.8), f"{path} table.friction"),
        )
    objects = []
    for entry in data.get("objects", []):
        name = str(entry["name"])
        where = f"{path} object {name!r}"
        shape = str(entry["type"])
        if shape not in _SIZE_COUNT:
            raise SimError(f"{where}: type must be one of {sorted(_SIZE_COUNT)}, got {shape!r}")
        size = tuple(_positive(v, f"{where} size") for v in entry["size"])
        if len(size) != _SIZE_COUNT[shape]:
            raise SimError(f"{where}: {shape} needs {_SIZE_COUNT[shape]} size values, got {size}")
        objects.append(
            ObjectSpec(
                name=name,
                shape=shape,
                size=size,
                mass=_positive(entry["mass"], f"{where} mass"),
                friction=_positive(entry.get("friction", 0.8), f"{where} friction"),
                rgba=tuple(float(v) for v in entry.get("rgba", [0.7, 0.7, 0.7, 1.0])),
                xy=tuple(float(v) for v in entry["xy"]),
                xy_noise=float(entry.get("xy_noise", 0.0)),
                yaw_noise=float(entry.get("yaw_noise", 0.0)),
            )
        )
    if len({o.name for o in objects}) != len(objects):
        raise SimError(f"{path}: duplicate object names")
    return SceneConfig(float(data.get("floor", {}).get("friction", 0.9)), table, tuple(objects))


def sample_object_poses(scene: SceneConfig, seed: int) -> dict[str, np.ndarray]:
    """Sample each object's pose on the table top.

    Args:
        scene: The scene.
        seed: Random seed; the same seed gives the same poses.

    Returns:
        Object name -> 7-vector (x, y, z, qw, qx, qy, qz) in the world frame [m].
    """
    rng = np.random.default_rng(seed)
    top = scene.table.height if scene.table else 0.0
    poses = {}
    for obj in scene.objects:
        x, y = np.asarray(obj.xy) + rng.uniform(-obj.xy_noise, obj.xy_noise, size=2)
        yaw = rng.uniform(-obj.yaw_noise, obj.yaw_noise)
        z = top + obj.half_height + 0.0005
        poses[obj.name] = np.array([x, y, z, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    return poses
