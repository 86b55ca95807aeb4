"""Calibration file of a whole skin: per-pad linear calibrations, with a default for all pads.

File format (YAML)::

    skin: right_hand                 # must match the skin it is loaded for
    default:                         # used for every pad not listed under 'pads'
      offset_counts: 1000            # unloaded reading [counts]
      gain_kpa_per_count: 0.0333     # sensitivity [kPa/count]
      shear_gain_kpa_per_count: ...  # optional, shear sensitivity [kPa/count]; default = gain
    pads:
      right_index_tip:
        offset_counts: [1002, 998, ...]   # scalar (broadcast) or rows*cols values, row-major
        gain_kpa_per_count: 0.0333

Each value is a scalar (same for every taxel) or a list of exactly ``rows * cols`` values. A key
missing from a pad's entry falls back to ``default``. The taxel area comes from the skin
geometry (``pitch_x * pitch_y``), so it cannot disagree with it. Shear readings are signed counts
around zero, converted with ``shear_gain_kpa_per_count``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from tactile_driver.core.calibration import TaxelCalibration, per_taxel_array
from tactile_driver.core.pad_geometry import PadGeometry, SkinGeometry
from tactile_driver.errors import TactileDriverError

_KEYS = ("offset_counts", "gain_kpa_per_count", "shear_gain_kpa_per_count")


@dataclass(frozen=True)
class SkinCalibration:
    """Calibrations of all pads of a skin.

    Attributes:
        skin: Skin name.
        pads: Pad name -> normal-pressure calibration.
        shear_gain_kpa_per_count: Pad name -> shear sensitivity [kPa/count], shape (rows * cols,).
    """

    skin: str
    pads: dict[str, TaxelCalibration]
    shear_gain_kpa_per_count: dict[str, np.ndarray] = field(default_factory=dict)


def _per_taxel(value: Any, pad: PadGeometry, key: str, where: str) -> np.ndarray:
    return per_taxel_array(value, pad.num_taxels, f"{where} '{key}'")


def _check_entry(entry: Any, where: str) -> Mapping[str, Any]:
    if entry is None:
        return {}
    if not isinstance(entry, Mapping):
        raise TactileDriverError(f"{where} = {entry!r}: expected a mapping of {list(_KEYS)}")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise TactileDriverError(f"{where} has unknown keys {unknown}: expected {list(_KEYS)}")
    return entry


def skin_calibration_from_dict(
    data: Mapping[str, Any], geometry: SkinGeometry, source: str = "calibration"
) -> SkinCalibration:
    """Build a skin's calibration from a YAML-shaped dict (see the module docstring).

    Args:
        data: The file's content.
        geometry: The skin it calibrates (pad names, sizes and taxel areas).
        source: Name of the file, for error messages.

    Returns:
        The calibration of every pad of ``geometry``.

    Raises:
        TactileDriverError: If the skin name differs, a pad is unknown, a pad has neither an
            entry nor a default, or a value has the wrong length or sign; the message names the
            pad.
    """
    if not isinstance(data, Mapping):
        raise TactileDriverError(f"{source}: expected a mapping with 'skin', 'pads', 'default'")
    unknown_top = sorted(set(data) - {"skin", "pads", "default"})
    if unknown_top:
        raise TactileDriverError(
            f"{source} has unknown keys {unknown_top}: expected 'skin', 'pads', 'default'"
        )
    skin = data.get("skin")
    if skin != geometry.name:
        raise TactileDriverError(
            f"{source} 'skin' = {skin!r}: expected {geometry.name!r} (the skin it is loaded for)"
        )
    default = _check_entry(data.get("default"), f"{source} 'default'")
    pads_data = data.get("pads") or {}
    if not isinstance(pads_data, Mapping):
        raise TactileDriverError(f"{source} 'pads' = {pads_data!r}: expected a mapping")
    unknown = sorted(str(n) for n in pads_data if n not in geometry.pad_names)
    if unknown:
        raise TactileDriverError(
            f"{source} names unknown pads {unknown}: expected pads of skin {geometry.name!r} "
            f"{list(geometry.pad_names)}"
        )
    pads: dict[str, TaxelCalibration] = {}
    shear: dict[str, np.ndarray] = {}
    for pad in geometry.pads:
        where = f"{source} pad {pad.name!r}"
        entry = {**default, **_check_entry(pads_data.get(pad.name), where)}
        missing = [k for k in _KEYS[:2] if k not in entry]
        if missing:
            raise TactileDriverError(
                f"{where} has no {missing} and the file has no 'default' for them"
            )
        offset = _per_taxel(entry["offset_counts"], pad, "offset_counts", where)
        gain = _per_taxel(entry["gain_kpa_per_count"], pad, "gain_kpa_per_count", where)
        shear_gain = _per_taxel(
            entry.get("shear_gain_kpa_per_count", gain), pad, "shear_gain_kpa_per_count", where
        )
        for key, arr in (("gain_kpa_per_count", gain), ("shear_gain_kpa_per_count", shear_gain)):
            if np.any(arr <= 0.0):
                bad = np.flatnonzero(arr <= 0.0).tolist()
                raise TactileDriverError(f"{where} '{key}' is <= 0 at taxels {bad}: expected > 0")
        pads[pad.name] = TaxelCalibration(
            rows=pad.rows,
            cols=pad.cols,
            offset_counts=offset,
            gain_kpa_per_count=gain,
            taxel_area_m2=pad.taxel_area,
        )
        shear_gain.setflags(write=False)
        shear[pad.name] = shear_gain
    return SkinCalibration(skin=geometry.name, pads=pads, shear_gain_kpa_per_count=shear)


def load_skin_calibration(path: str | os.PathLike, geometry: SkinGeometry) -> SkinCalibration:
    """Load a skin's calibration file.

    Args:
        path: Calibration YAML (e.g. ``config/tactile/dex3_right.yaml``).
        geometry: The skin it calibrates.

    Returns:
        The calibration of every pad (``.pads`` maps pad name -> ``TaxelCalibration``).

    Raises:
        TactileDriverError: If the file cannot be read or is invalid (see
            :func:`skin_calibration_from_dict`).
    """
    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except OSError as exc:
        raise TactileDriverError(f"cannot read calibration file {str(path)!r}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise TactileDriverError(f"calibration file {str(path)!r}: invalid YAML: {exc}") from exc
    return skin_calibration_from_dict(data, geometry, source=os.path.basename(str(path)))


def default_skin_calibration(
    geometry: SkinGeometry, offset_counts: float = 1000.0, gain_kpa_per_count: float = 1.0 / 30.0
) -> SkinCalibration:
    """The same nominal calibration for every pad (no file), e.g. for the emulator or tests.

    Args:
        geometry: The skin.
        offset_counts: Unloaded reading of every taxel [counts].
        gain_kpa_per_count: Sensitivity of every taxel, normal and shear [kPa/count].

    Returns:
        The skin's calibration.
    """
    data = {
        "skin": geometry.name,
        "default": {"offset_counts": offset_counts, "gain_kpa_per_count": gain_kpa_per_count},
    }
    return skin_calibration_from_dict(data, geometry, source="default calibration")
