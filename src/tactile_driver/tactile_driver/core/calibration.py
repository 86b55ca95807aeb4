"""Per-taxel linear calibration of a tactile pad: raw counts -> pressure [kPa] -> force [N].

Each taxel ``i`` of a pad follows the linear model::

    pressure_kpa[i] = gain_kpa_per_count[i] * (raw[i] - offset_counts[i])
    force_n[i]      = pressure_kpa[i] * 1000 * taxel_area_m2

Taxels are indexed row-major (``index = row * cols + col``), as in ``TactilePad``. The
calibration is loaded from a YAML-shaped dict (see :meth:`TaxelCalibration.from_dict`) and can be
re-tared from samples taken while the pad is unloaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tactile_driver.errors import TactileDriverError

_PA_PER_KPA = 1000.0


def _positive_int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise TactileDriverError(f"calibration '{key}' = {value!r}: expected a positive integer")
    return int(value)


def per_taxel_array(value: Any, n: int, label: str) -> np.ndarray:
    """A scalar (same value for every taxel) or a sequence of exactly ``n`` finite values.

    Args:
        value: The YAML value.
        n: Taxels of the pad (rows * cols).
        label: How errors name the value, e.g. ``calibration 'offset_counts'``.

    Raises:
        TactileDriverError: Not numbers, a wrong count, or non-finite values.
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TactileDriverError(f"{label} = {value!r}: expected numbers") from exc
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise TactileDriverError(
            f"{label} has {arr.size} values (shape {arr.shape}): expected a scalar or {n} "
            f"values, shape ({n},) (rows * cols, row-major)"
        )
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr)).tolist()
        raise TactileDriverError(f"{label} has non-finite values at taxels {bad}")
    return arr


@dataclass(frozen=True)
class TaxelCalibration:
    """Linear calibration of one pad of ``rows * cols`` taxels.

    Attributes:
        rows: Number of taxel rows.
        cols: Number of taxel columns.
        offset_counts: Raw reading of each unloaded taxel [counts], shape (rows * cols,).
        gain_kpa_per_count: Sensitivity of each taxel [kPa/count], > 0, shape (rows * cols,).
        taxel_area_m2: Sensing area of one taxel [m^2], > 0.
    """

    rows: int
    cols: int
    offset_counts: np.ndarray
    gain_kpa_per_count: np.ndarray
    taxel_area_m2: float

    def __post_init__(self) -> None:
        n = self.rows * self.cols
        for name in ("offset_counts", "gain_kpa_per_count"):
            arr = per_taxel_array(getattr(self, name), n, f"calibration '{name}'")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if np.any(self.gain_kpa_per_count <= 0.0):
            bad = np.flatnonzero(self.gain_kpa_per_count <= 0.0).tolist()
            raise TactileDriverError(
                f"calibration 'gain_kpa_per_count' is <= 0 at taxels {bad}: expected gains > 0"
            )
        try:
            area = float(self.taxel_area_m2)
        except (TypeError, ValueError):
            area = float("nan")
        if not np.isfinite(area) or area <= 0.0:
            raise TactileDriverError(
                f"calibration 'taxel_area_m2' = {self.taxel_area_m2!r}: expected a finite value > 0"
            )
        object.__setattr__(self, "taxel_area_m2", area)

    @property
    def num_taxels(self) -> int:
        """Number of taxels of the pad (rows * cols)."""
        return self.rows * self.cols

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaxelCalibration:
        """Build a calibration from a YAML-shaped dict.

        Expected keys::

            rows: 4                      # taxel rows
            cols: 4                      # taxel columns
            taxel_area_m2: 1.6e-5        # [m^2]
            offset_counts: 512           # scalar or rows*cols values [counts]
            gain_kpa_per_count: [...]    # scalar or rows*cols values [kPa/count]

        Args:
            data: The calibration mapping, e.g. one pad's entry of a calibration YAML file.

        Returns:
            The validated calibration.

        Raises:
            TactileDriverError: If a key is missing or a value has the wrong type, shape or sign.
        """
        keys = ("rows", "cols", "taxel_area_m2", "offset_counts", "gain_kpa_per_count")
        missing = [k for k in keys if k not in data]
        if missing:
            raise TactileDriverError(
                f"calibration is missing keys {missing}: expected all of {list(keys)}"
            )
        return cls(
            rows=_positive_int(data, "rows"),
            cols=_positive_int(data, "cols"),
            offset_counts=data["offset_counts"],
            gain_kpa_per_count=data["gain_kpa_per_count"],
            taxel_area_m2=data["taxel_area_m2"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The calibration as a YAML-serialisable dict that :meth:`from_dict` reads back."""
        return {
            "rows": self.rows,
            "cols": self.cols,
            "taxel_area_m2": self.taxel_area_m2,
            "offset_counts": self.offset_counts.tolist(),
            "gain_kpa_per_count": self.gain_kpa_per_count.tolist(),
        }

    def _check_last_axis(self, values: np.ndarray, what: str) -> np.ndarray:
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TactileDriverError(f"{what} is not numeric: expected numbers") from exc
        if arr.ndim == 0 or arr.shape[-1] != self.num_taxels:
            raise TactileDriverError(
                f"{what} has shape {arr.shape}: expected (..., {self.num_taxels}) "
                f"for a {self.rows}x{self.cols} pad"
            )
        return arr

    def pressure_kpa(self, raw_counts: np.ndarray, clip_negative: bool = True) -> np.ndarray:
        """Convert raw readings to normal pressure.

        Args:
            raw_counts: Raw taxel readings [counts], shape (..., rows * cols).
            clip_negative: Clip pressures below zero (noise around the offset) to 0, as
                ``TactilePad.pressure`` must be >= 0 once calibrated.

        Returns:
            Pressure per taxel [kPa], same shape as ``raw_counts``.

        Raises:
            TactileDriverError: If the last axis of ``raw_counts`` is not rows * cols long.
        """
        raw = self._check_last_axis(raw_counts, "raw_counts")
        pressure = (raw - self.offset_counts) * self.gain_kpa_per_count
        return np.maximum(pressure, 0.0) if clip_negative else pressure

    def force_n(self, raw_counts: np.ndarray, clip_negative: bool = True) -> np.ndarray:
        """Convert raw readings to the normal force carried by each taxel.

        Args:
            raw_counts: Raw taxel readings [counts], shape (..., rows * cols).
            clip_negative: See :meth:`pressure_kpa`.

        Returns:
            Normal force per taxel [N], same shape as ``raw_counts``; sum the last axis for the
            pad's total force.
        """
        return self.pressure_kpa(raw_counts, clip_negative) * _PA_PER_KPA * self.taxel_area_m2

    def raw_counts(self, pressure_kpa: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`pressure_kpa` (without clipping): the reading a pressure produces.

        Args:
            pressure_kpa: Pressure per taxel [kPa], shape (..., rows * cols).

        Returns:
            Raw readings [counts] (not rounded), same shape as ``pressure_kpa``.
        """
        pressure = self._check_last_axis(pressure_kpa, "pressure_kpa")
        return pressure / self.gain_kpa_per_count + self.offset_counts

    def tare(self, unloaded_samples: np.ndarray) -> TaxelCalibration:
        """New calibration whose offsets are the mean of samples taken with the pad unloaded.

        Gains and area are kept.

        Args:
            unloaded_samples: Raw readings [counts] of the unloaded pad, shape
                (num_samples, rows * cols) with num_samples >= 1, or a single (rows * cols,) frame.

        Returns:
            The re-tared calibration (this one is left unchanged).

        Raises:
            TactileDriverError: If the shape is wrong, there are no samples or a value is not
                finite.
        """
        samples = self._check_last_axis(unloaded_samples, "unloaded_samples")
        samples = samples.reshape(-1, self.num_taxels)
        if samples.shape[0] == 0:
            raise TactileDriverError("unloaded_samples is empty: expected at least one frame")
        if not np.all(np.isfinite(samples)):
            raise TactileDriverError("unloaded_samples contains non-finite values")
        return TaxelCalibration(
            rows=self.rows,
            cols=self.cols,
            offset_counts=samples.mean(axis=0),
            gain_kpa_per_count=self.gain_kpa_per_count,
            taxel_area_m2=self.taxel_area_m2,
        )
