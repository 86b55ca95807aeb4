"""Contact estimation on one pad: total force, centre of pressure, area, shear, contact state.

From the calibrated pressures of a pad (kPa per taxel) and its geometry:

* ``force_n = sum(p_i) * 1000 * taxel_area`` [N];
* ``cop_pad`` = pressure-weighted mean of the taxel centres in the pad frame (z = 0) [m]; the pad
  origin when nothing is loaded (never NaN);
* ``cop_link = origin_link + R_link_pad @ cop_pad``; ``normal_link = R_link_pad[:, 2]``;
* ``area_m2`` = number of taxels above ``min_loaded_kpa`` x taxel area [m^2];
* ``shear_n_link`` = summed shear stress x taxel area, rotated into the link frame [N];
* ``in_contact`` with hysteresis: switches on when the force reaches ``threshold_on_n`` and off
  when it falls below ``threshold_off_n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tactile_driver.core.pad_geometry import PadGeometry
from tactile_driver.errors import TactileDriverError

_PA_PER_KPA = 1000.0


@dataclass(frozen=True)
class ContactParams:
    """Parameters of :class:`ContactEstimator`.

    Attributes:
        threshold_on_n: Force at which a contact starts [N].
        threshold_off_n: Force below which a contact ends [N], > 0 and <= ``threshold_on_n``.
        min_loaded_kpa: Pressure above which a taxel counts towards the contact area [kPa].
    """

    threshold_on_n: float = 0.2
    threshold_off_n: float = 0.1
    min_loaded_kpa: float = 1.0

    def __post_init__(self) -> None:
        for name in ("threshold_on_n", "threshold_off_n", "min_loaded_kpa"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TactileDriverError(f"{name} = {value!r}: expected a number")
            lowest_ok = 0.0 if name == "min_loaded_kpa" else math.ulp(0.0)
            if not (math.isfinite(value) and value >= lowest_ok):
                bound = ">= 0" if name == "min_loaded_kpa" else "> 0"
                raise TactileDriverError(f"{name} = {value!r}: expected a finite number {bound}")
        if self.threshold_off_n > self.threshold_on_n:
            raise TactileDriverError(
                f"threshold_off_n = {self.threshold_off_n!r}: expected <= threshold_on_n = "
                f"{self.threshold_on_n!r} (hysteresis)"
            )


class PadContact(NamedTuple):
    """The contact on one pad at one instant (fields of ``humanoid_interfaces/Contact``).

    Attributes:
        in_contact: Contact state after hysteresis.
        force_n: Total normal force [N], >= 0.
        cop_pad: Centre of pressure in the pad frame [m], shape (3,), z = 0.
        cop_link: Centre of pressure in the link frame [m], shape (3,).
        normal_link: Unit contact normal (out of the skin) in the link frame, shape (3,).
        shear_n_link: Tangential force in the link frame [N], shape (3,); zero without shear.
        area_m2: Contact area (loaded taxels x taxel area) [m^2].
        has_shear: Whether the skin measured shear in this frame.
    """

    in_contact: bool
    force_n: float
    cop_pad: np.ndarray
    cop_link: np.ndarray
    normal_link: np.ndarray
    shear_n_link: np.ndarray
    area_m2: float
    has_shear: bool = False


class ContactEstimator:
    """Contact estimation with hysteresis for one pad.

    :meth:`update` takes the pad's pressures; :meth:`update_from_sums` takes the sums they reduce
    to, so a caller can compute them for many pads at once.

    Args:
        geometry: The pad's geometry.
        params: Thresholds.
    """

    def __init__(self, geometry: PadGeometry, params: ContactParams) -> None:
        self.geometry = geometry
        self.params = params
        self._in_contact = False
        self._n = geometry.num_taxels
        # Columns: 1, x, y -> p @ moments = (sum p, sum p x, sum p y).
        self.moments = np.column_stack([np.ones(self._n), geometry.taxel_xy_pad])
        self._scale = _PA_PER_KPA * geometry.taxel_area
        self._origin = tuple(float(v) for v in geometry.origin_link)
        self._rot = tuple(tuple(float(v) for v in row) for row in geometry.rotation_link_pad)
        self._normal = np.array(geometry.rotation_link_pad[:, 2])
        self._zero3 = np.zeros(3)
        for arr in (self._normal, self._zero3):
            arr.setflags(write=False)

    @property
    def in_contact(self) -> bool:
        """Contact state after the last update."""
        return self._in_contact

    def reset(self) -> None:
        """Forget the contact state (next update starts out of contact)."""
        self._in_contact = False

    def update(self, pressure_kpa: np.ndarray, shear_kpa: np.ndarray | None = None) -> PadContact:
        """Estimate the contact from one frame.

        Args:
            pressure_kpa: Normal pressure per taxel [kPa], shape (rows * cols,), >= 0 (masked
                taxels at 0).
            shear_kpa: Optional tangential stress per taxel [kPa], shape (2, rows * cols) (pad x
                then pad y).

        Returns:
            The pad's contact.

        Raises:
            TactileDriverError: If an array has the wrong shape.
        """
        p = np.asarray(pressure_kpa, dtype=float)
        if p.shape != (self._n,):
            raise TactileDriverError(
                f"pad {self.geometry.name!r} pressure has shape {p.shape}: expected ({self._n},)"
            )
        shear_sum = None
        if shear_kpa is not None:
            s = np.asarray(shear_kpa, dtype=float)
            if s.shape != (2, self._n):
                raise TactileDriverError(
                    f"pad {self.geometry.name!r} shear has shape {s.shape}: expected "
                    f"(2, {self._n}) (pad x, pad y)"
                )
            shear_sum = s.sum(axis=1).tolist()
        total, sum_x, sum_y = (p @ self.moments).tolist()
        loaded = int(np.count_nonzero(p > self.params.min_loaded_kpa))
        return self.update_from_sums(total, sum_x, sum_y, loaded, shear_sum)

    def update_from_sums(
        self,
        total_kpa: float,
        sum_x: float,
        sum_y: float,
        loaded_taxels: int,
        shear_sum_kpa: Sequence[float] | None = None,
    ) -> PadContact:
        """Estimate the contact from the pad's pressure sums.

        Args:
            total_kpa: Sum of the taxel pressures [kPa].
            sum_x: Sum of pressure x taxel pad x [kPa m].
            sum_y: Sum of pressure x taxel pad y [kPa m].
            loaded_taxels: Number of taxels above ``min_loaded_kpa``.
            shear_sum_kpa: Sums of the shear stress along pad x and pad y [kPa], or None.

        Returns:
            The pad's contact.
        """
        ox, oy, oz = self._origin
        if total_kpa > 0.0:
            force = total_kpa * self._scale
            cx, cy = sum_x / total_kpa, sum_y / total_kpa
        else:
            force, cx, cy = 0.0, 0.0, 0.0
        (r00, r01, _), (r10, r11, _), (r20, r21, _) = self._rot
        cop_link = np.array(
            (ox + r00 * cx + r01 * cy, oy + r10 * cx + r11 * cy, oz + r20 * cx + r21 * cy)
        )
        if self._in_contact:
            self._in_contact = force >= self.params.threshold_off_n
        else:
            self._in_contact = force >= self.params.threshold_on_n
        if shear_sum_kpa is None:
            shear_link = self._zero3
        else:
            sx, sy = shear_sum_kpa[0] * self._scale, shear_sum_kpa[1] * self._scale
            shear_link = np.array((r00 * sx + r01 * sy, r10 * sx + r11 * sy, r20 * sx + r21 * sy))
        return PadContact(
            self._in_contact,
            force,
            np.array((cx, cy, 0.0)),
            cop_link,
            self._normal,
            shear_link,
            loaded_taxels * self.geometry.taxel_area,
            shear_sum_kpa is not None,
        )
