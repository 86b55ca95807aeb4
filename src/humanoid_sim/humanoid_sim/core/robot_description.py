"""Robot description: the robot-specific facts (joints, posture, gains, sensors, tactile pads).

Loaded from a YAML file (config/robots/*.yaml) and validated, so that another robot or hand is a
new YAML, not new code.
"""

from __future__ import annotations

import os
import pathlib
import sys
from dataclasses import dataclass, field

import numpy as np
import yaml

from humanoid_sim.errors import SimError


def example_robot_data_dir() -> pathlib.Path:
    """Locate example-robot-data's ``robots/`` folder.

    ``$EXAMPLE_ROBOT_DATA_DIR`` wins; otherwise the cmeel prefix of the running interpreter's
    site-packages (the PyPI wheel), then ``/opt/ros/*/share`` (an apt install).
    """
    env = os.environ.get("EXAMPLE_ROBOT_DATA_DIR")
    candidates = [pathlib.Path(env)] if env else []
    for entry in sys.path:
        candidates.append(pathlib.Path(entry) / "cmeel.prefix/share/example-robot-data/robots")
    candidates += sorted(pathlib.Path("/opt/ros").glob("*/share/example-robot-data/robots"))
    for candidate in candidates:
        if (candidate / "g1_description").is_dir():
            return candidate
    raise SimError(
        "example-robot-data not found: install the 'example-robot-data' wheel or set "
        "EXAMPLE_ROBOT_DATA_DIR to its robots/ folder"
    )


@dataclass(frozen=True)
class PadSpec:
    """Geometry of one tactile pad (a taxel grid on a link surface).

    Attributes:
        name: Unique pad name.
        link: Link (body) the pad is on.
        center: Grid centre guess in the link frame [m]; projected onto the surface.
        normal: Outward unit normal in the link frame.
        axis: Pad x axis in the link frame (orthogonalised against the normal).
        rows: Taxel rows (along pad y).
        cols: Taxel columns (along pad x).
        pitch: Taxel spacing (x, y) [m].
    """

    name: str
    link: str
    center: np.ndarray
    normal: np.ndarray
    axis: np.ndarray
    rows: int
    cols: int
    pitch: tuple[float, float]


@dataclass(frozen=True)
class SkinSpec:
    """All pads of one skin (one hand)."""

    name: str
    base_link: str
    pads: tuple[PadSpec, ...]


@dataclass(frozen=True)
class CameraSpec:
    """Pinhole RGB-D camera mounted on a link (x forward in the link frame)."""

    link: str
    frame_id: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    near_m: float
    far_m: float
    # Multisample anti-aliasing of the colour and depth images (4x, MuJoCo's offscreen
    # default). A depth camera measures one depth per pixel, with no blend at object edges;
    # and on a CPU rasteriser (llvmpipe) resolving the samples is most of a frame's cost.
    antialias: bool = True


@dataclass(frozen=True)
class RobotDescription:
    """Everything robot-specific the simulator (and controllers) need."""

    name: str
    urdf_path: pathlib.Path
    mesh_dir: pathlib.Path
    base_link: str
    joint_groups: dict[str, tuple[str, ...]]
    stand_posture: dict[str, float]
    stand_gains: dict[str, tuple[float, float]]
    armature: dict[str, float]
    damping: dict[str, float]
    feet: dict[str, tuple[str, np.ndarray]]
    imu_link: str
    imu_frame_id: str
    collision_exclusions: tuple[tuple[str, str], ...]
    camera: CameraSpec
    skins: tuple[SkinSpec, ...] = field(default_factory=tuple)

    @property
    def actuated_joints(self) -> tuple[str, ...]:
        """All joints of all groups, in group order."""
        return tuple(j for group in self.joint_groups.values() for j in group)

    def group_of(self, joint: str) -> str:
        """Name of the group a joint belongs to."""
        for group, joints in self.joint_groups.items():
            if joint in joints:
                return group
        raise SimError(f"joint {joint!r} is in no joint group of robot {self.name!r}")


def _vector(value, length: int, where: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.shape != (length,) or not np.all(np.isfinite(array)):
        raise SimError(f"{where}: expected {length} finite numbers, got {value!r}")
    return array


def _unit(value, where: str) -> np.ndarray:
    vector = _vector(value, 3, where)
    norm = np.linalg.norm(vector)
    if norm < 1e-9:
        raise SimError(f"{where}: expected a non-zero vector, got {value!r}")
    return vector / norm


def _require(data: dict, key: str, where: str):
    if key not in data:
        raise SimError(f"{where}: missing key {key!r}")
    return data[key]


def _pad(data: dict, where: str) -> PadSpec:
    name = str(_require(data, "name", where))
    where = f"{where} pad {name!r}"
    rows, cols = int(_require(data, "rows", where)), int(_require(data, "cols", where))
    if rows < 1 or cols < 1:
        raise SimError(f"{where}: rows and cols must be >= 1, got {rows}x{cols}")
    pitch = _vector(_require(data, "pitch", where), 2, f"{where} pitch")
    if np.any(pitch <= 0):
        raise SimError(f"{where}: pitch must be > 0, got {pitch.tolist()}")
    normal = _unit(_require(data, "normal", where), f"{where} normal")
    axis = _unit(data.get("axis", [1, 0, 0]), f"{where} axis")
    axis = axis - normal * float(axis @ normal)
    if np.linalg.norm(axis) < 1e-6:
        raise SimError(f"{where}: axis is parallel to the normal")
    return PadSpec(
        name=name,
        link=str(_require(data, "link", where)),
        center=_vector(_require(data, "center", where), 3, f"{where} center"),
        normal=normal,
        axis=axis / np.linalg.norm(axis),
        rows=rows,
        cols=cols,
        pitch=(float(pitch[0]), float(pitch[1])),
    )


def load_robot_description(path: str | os.PathLike) -> RobotDescription:
    """Load and validate a robot description YAML.

    Args:
        path: YAML file path.

    Returns:
        The validated description, with the URDF path resolved.

    Raises:
        SimError: Missing keys, bad shapes, unknown groups or a URDF that does not exist.
    """
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise SimError(f"cannot read robot description {path}: {error}") from error
    where = str(path)
    urdf = _require(data, "urdf", where)
    root = example_robot_data_dir()
    urdf_path = root / _require(urdf, "path", f"{where} urdf")
    mesh_dir = root / _require(urdf, "mesh_dir", f"{where} urdf")
    if not urdf_path.is_file():
        raise SimError(f"{where}: URDF {urdf_path} does not exist")
    groups = {g: tuple(js) for g, js in _require(data, "joint_groups", where).items()}
    all_joints = [j for js in groups.values() for j in js]
    if len(set(all_joints)) != len(all_joints):
        raise SimError(f"{where}: a joint appears in two joint groups")
    posture = {str(k): float(v) for k, v in data.get("stand_posture", {}).items()}
    for joint in posture:
        if joint not in all_joints:
            raise SimError(f"{where}: stand_posture names unknown joint {joint!r}")
    gains = {}
    for group, value in _require(data, "stand_gains", where).items():
        if group not in groups:
            raise SimError(f"{where}: stand_gains names unknown group {group!r}")
        kp, kd = _vector(value, 2, f"{where} stand_gains.{group}")
        gains[group] = (float(kp), float(kd))
    missing = set(groups) - set(gains)
    if missing:
        raise SimError(f"{where}: stand_gains lacks groups {sorted(missing)}")
    feet = {
        side: (str(foot["link"]), _vector(foot["sole"], 3, f"{where} feet.{side}.sole"))
        for side, foot in _require(data, "feet", where).items()
    }
    cam = _require(data, "camera", where)
    camera = CameraSpec(
        link=str(cam["link"]),
        frame_id=str(cam["frame_id"]),
        width=int(cam["width"]),
        height=int(cam["height"]),
        fx=float(cam["fx"]),
        fy=float(cam["fy"]),
        cx=float(cam["cx"]),
        cy=float(cam["cy"]),
        near_m=float(cam.get("near_m", 0.05)),
        far_m=float(cam.get("far_m", 10.0)),
        antialias=bool(cam.get("antialias", True)),
    )
    if camera.width < 1 or camera.height < 1 or camera.fx <= 0 or camera.fy <= 0:
        raise SimError(f"{where}: camera size and focal lengths must be positive")
    skins = []
    for skin_name, skin in data.get("tactile", {}).items():
        pads = tuple(_pad(p, f"{where} tactile.{skin_name}") for p in skin["pads"])
        names = [p.name for p in pads]
        if len(set(names)) != len(names):
            raise SimError(f"{where}: duplicate pad names in skin {skin_name!r}")
        skins.append(SkinSpec(skin_name, str(skin["base_link"]), pads))
    imu = _require(data, "imu", where)
    return RobotDescription(
        name=str(data.get("name", path.stem)),
        urdf_path=urdf_path,
        mesh_dir=mesh_dir,
        base_link=str(data.get("base_link", "pelvis")),
        joint_groups=groups,
        stand_posture=posture,
        stand_gains=gains,
        armature={str(k): float(v) for k, v in data.get("armature", {}).items()},
        damping={str(k): float(v) for k, v in data.get("damping", {}).items()},
        feet=feet,
        imu_link=str(imu["link"]),
        imu_frame_id=str(imu.get("frame_id", imu["link"])),
        collision_exclusions=tuple(tuple(p) for p in data.get("collision_exclusions", [])),
        camera=camera,
        skins=tuple(skins),
    )
