"""Taxel geometry of a tactile skin, read from the ``tactile:`` section of a robot YAML.

A robot YAML describes each skin (one per hand) as a base link and a list of pads::

    tactile:
      right_hand:
        base_link: right_hand_palm_link
        pads:
          - {name: right_index_tip, link: right_hand_index_1_link, center: [0.03, 0, 0],
             normal: [0, 1, 0], axis: [1, 0, 0], rows: 3, cols: 6, pitch: [0.005, 0.006]}

The driver uses a flat pad frame (the simulator additionally projects taxels onto the link
surface; the driver does not need to):

* origin at ``center`` in the link frame [m];
* z = ``normal`` (normalised), pointing out of the skin;
* x = ``axis`` orthogonalised against z (default [1, 0, 0]);
* y = z x x.

Taxel ``(row, col)`` has index ``row * cols + col`` and lies in the pad frame at
``x = (col - (cols - 1) / 2) * pitch_x``, ``y = (row - (rows - 1) / 2) * pitch_y``, z = 0. Each
taxel covers ``pitch_x * pitch_y`` [m^2]. Another hand is another YAML, not new code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from tactile_driver.errors import TactileDriverError


@dataclass(frozen=True)
class PadGeometry:
    """Geometry of one pad (a flat taxel grid on a link).

    Attributes:
        name: Pad name, unique within the skin (``TactilePad.name``).
        link: Link (TF frame) the pad is mounted on.
        rows: Taxel rows (along pad y).
        cols: Taxel columns (along pad x).
        pitch_x: Taxel spacing along pad x [m].
        pitch_y: Taxel spacing along pad y [m].
        origin_link: Pad frame origin (grid centre) in the link frame [m], shape (3,).
        rotation_link_pad: Pad axes (x, y, z = normal) as columns in the link frame, shape (3, 3).
        taxel_xy_pad: Taxel centres in the pad frame [m], shape (rows * cols, 2), row-major.
        taxel_area: Area of one taxel [m^2].
    """

    name: str
    link: str
    rows: int
    cols: int
    pitch_x: float
    pitch_y: float
    origin_link: np.ndarray
    rotation_link_pad: np.ndarray
    taxel_xy_pad: np.ndarray
    taxel_area: float

    @property
    def num_taxels(self) -> int:
        """Number of taxels (rows * cols)."""
        return self.rows * self.cols

    @property
    def normal_link(self) -> np.ndarray:
        """Outward unit normal of the pad in the link frame, shape (3,)."""
        return self.rotation_link_pad[:, 2]

    def taxel_positions_link(self) -> np.ndarray:
        """Taxel centres in the link frame [m], shape (rows * cols, 3), row-major."""
        return self.origin_link + self.taxel_xy_pad @ self.rotation_link_pad[:, :2].T


@dataclass(frozen=True)
class SkinGeometry:
    """All pads of one skin (one board), in board order.

    Attributes:
        name: Skin name, the key under ``tactile:`` (e.g. ``right_hand``).
        base_link: Link the skin as a whole is attached to.
        pads: The pads, in board order (``RawPad.index`` is the position in this tuple).
    """

    name: str
    base_link: str
    pads: tuple[PadGeometry, ...]

    @property
    def pad_names(self) -> tuple[str, ...]:
        """Pad names in board order."""
        return tuple(p.name for p in self.pads)

    @property
    def num_taxels(self) -> int:
        """Total number of taxels of the skin."""
        return sum(p.num_taxels for p in self.pads)

    def pad(self, name: str) -> PadGeometry:
        """The pad called ``name``.

        Raises:
            TactileDriverError: If the skin has no such pad.
        """
        for pad in self.pads:
            if pad.name == name:
                return pad
        raise TactileDriverError(
            f"skin {self.name!r} has no pad {name!r}: expected one of {list(self.pad_names)}"
        )


def _positive_int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise TactileDriverError(f"{where} '{key}' = {value!r}: expected an integer >= 1")
    return int(value)


def _vector(value: Any, length: int, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.shape != (length,) or not np.all(np.isfinite(arr)):
        raise TactileDriverError(f"{where} = {value!r}: expected {length} finite numbers")
    return arr


def _unit(value: Any, where: str) -> np.ndarray:
    vec = _vector(value, 3, where)
    norm = float(np.linalg.norm(vec))
    if norm < 1e-9:
        raise TactileDriverError(f"{where} = {value!r}: expected a non-zero vector")
    return vec / norm


def _grid_xy(rows: int, cols: int, pitch_x: float, pitch_y: float) -> np.ndarray:
    row, col = np.divmod(np.arange(rows * cols), cols)
    xy = np.column_stack([(col - (cols - 1) / 2.0) * pitch_x, (row - (rows - 1) / 2.0) * pitch_y])
    xy.setflags(write=False)
    return xy


def pad_geometry_from_dict(data: Mapping[str, Any], where: str = "pad") -> PadGeometry:
    """Build one pad's geometry from its YAML entry.

    Args:
        data: The pad mapping (keys name, link, center, normal, axis (optional), rows, cols,
            pitch).
        where: Prefix for error messages (e.g. ``"g1_dex3.yaml tactile.right_hand"``).

    Returns:
        The validated pad geometry.

    Raises:
        TactileDriverError: If a key is missing or a value is invalid; the message names the pad
            and the field.
    """
    if not isinstance(data, Mapping):
        raise TactileDriverError(f"{where}: pad entry {data!r}: expected a mapping")
    if "name" not in data:
        raise TactileDriverError(f"{where}: pad entry {dict(data)!r} has no 'name'")
    name = str(data["name"])
    where = f"{where} pad {name!r}"
    missing = [k for k in ("link", "center", "normal", "rows", "cols", "pitch") if k not in data]
    if missing:
        raise TactileDriverError(f"{where}: missing keys {missing}")
    rows = _positive_int(data, "rows", where)
    cols = _positive_int(data, "cols", where)
    pitch = _vector(data["pitch"], 2, f"{where} 'pitch'")
    if np.any(pitch <= 0.0):
        raise TactileDriverError(
            f"{where} 'pitch' = {pitch.tolist()}: expected two values > 0 [m] (x, y)"
        )
    center = _vector(data["center"], 3, f"{where} 'center'")
    normal = _unit(data["normal"], f"{where} 'normal'")
    axis = _unit(data.get("axis", [1.0, 0.0, 0.0]), f"{where} 'axis'")
    axis = axis - normal * float(axis @ normal)
    if np.linalg.norm(axis) < 1e-6:
        raise TactileDriverError(
            f"{where} 'axis' = {data.get('axis', [1.0, 0.0, 0.0])!r} is parallel to the normal: "
            "expected an axis with a component perpendicular to 'normal'"
        )
    x_axis = axis / np.linalg.norm(axis)
    rotation = np.column_stack([x_axis, np.cross(normal, x_axis), normal])
    center.setflags(write=False)
    rotation.setflags(write=False)
    return PadGeometry(
        name=name,
        link=str(data["link"]),
        rows=rows,
        cols=cols,
        pitch_x=float(pitch[0]),
        pitch_y=float(pitch[1]),
        origin_link=center,
        rotation_link_pad=rotation,
        taxel_xy_pad=_grid_xy(rows, cols, float(pitch[0]), float(pitch[1])),
        taxel_area=float(pitch[0] * pitch[1]),
    )


def skin_geometry_from_dict(
    skin_name: str, data: Mapping[str, Any], where: str = "tactile"
) -> SkinGeometry:
    """Build a skin's geometry from its entry under ``tactile:``.

    Args:
        skin_name: The skin's key (e.g. ``right_hand``).
        data: Its mapping (keys base_link, pads).
        where: Prefix for error messages.

    Returns:
        The validated skin geometry.

    Raises:
        TactileDriverError: On a missing key, an empty or invalid pad list or duplicate pad names.
    """
    where = f"{where}.{skin_name}"
    if not isinstance(data, Mapping) or "base_link" not in data or "pads" not in data:
        raise TactileDriverError(f"{where}: expected a mapping with keys 'base_link' and 'pads'")
    pads_data = data["pads"]
    if not isinstance(pads_data, list) or not pads_data:
        raise TactileDriverError(f"{where} 'pads' = {pads_data!r}: expected a non-empty list")
    pads = tuple(pad_geometry_from_dict(p, where) for p in pads_data)
    names = [p.name for p in pads]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TactileDriverError(f"{where}: duplicate pad names {duplicates}: expected unique")
    return SkinGeometry(name=skin_name, base_link=str(data["base_link"]), pads=pads)


def _tactile_section(path: str | os.PathLike) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except OSError as exc:
        raise TactileDriverError(f"cannot read robot YAML {str(path)!r}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise TactileDriverError(f"robot YAML {str(path)!r} is not valid YAML: {exc}") from exc
    tactile = data.get("tactile") if isinstance(data, Mapping) else None
    if not isinstance(tactile, Mapping) or not tactile:
        raise TactileDriverError(
            f"robot YAML {str(path)!r} has no 'tactile' section: expected a mapping of skins"
        )
    return dict(tactile)


def list_skins(robot_yaml_path: str | os.PathLike) -> list[str]:
    """Names of the skins under ``tactile:`` of a robot YAML, in file order.

    Raises:
        TactileDriverError: If the file cannot be read or has no ``tactile`` section.
    """
    return [str(name) for name in _tactile_section(robot_yaml_path)]


def load_skin_geometry(robot_yaml_path: str | os.PathLike, skin_name: str) -> SkinGeometry:
    """Load one skin's geometry from a robot YAML.

    Args:
        robot_yaml_path: Robot description YAML (e.g. ``config/robots/g1_dex3.yaml``).
        skin_name: Key under ``tactile:`` (e.g. ``right_hand``).

    Returns:
        The skin's validated geometry.

    Raises:
        TactileDriverError: If the file cannot be read, the skin is unknown or a pad is invalid.
    """
    tactile = _tactile_section(robot_yaml_path)
    if skin_name not in tactile:
        raise TactileDriverError(
            f"robot YAML {str(robot_yaml_path)!r} has no skin {skin_name!r}: "
            f"expected one of {list(tactile)}"
        )
    where = f"{os.path.basename(str(robot_yaml_path))} tactile"
    return skin_geometry_from_dict(skin_name, tactile[skin_name], where)
