"""Parameters of :class:`~tactile_driver.core.pipeline.SkinProcessor`, with flat (ROS) names.

The node declares every field of :class:`ProcessorParams` as a ROS parameter under its flat name
(:meth:`ProcessorParams.to_flat`: ``tare_frames``, ``contact.threshold_on_n``, ``slip.mu``, ...)
and builds the parameters back with :meth:`ProcessorParams.from_flat`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from tactile_driver.core.baseline import BaselineParams
from tactile_driver.core.contacts import ContactParams
from tactile_driver.core.slip import SlipParams
from tactile_driver.errors import TactileDriverError

_GROUPS = {"baseline": BaselineParams, "contact": ContactParams, "slip": SlipParams}


@dataclass(frozen=True)
class ProcessorParams:
    """Parameters of :class:`SkinProcessor`.

    Attributes:
        tare_frames: Frames averaged per tare (start-up and on request), >= 1.
        noise_floor_kpa: Pressures below this are set to 0 [kPa], >= 0.
        load_kpa: A taxel above this marks its pad loaded (offsets frozen) [kPa], > 0.
        baseline: Offset tracking and taxel health.
        contact: Contact thresholds.
        slip: Slip detection.
    """

    tare_frames: int = 50
    noise_floor_kpa: float = 0.3
    load_kpa: float = 1.0
    baseline: BaselineParams = field(default_factory=BaselineParams)
    contact: ContactParams = field(default_factory=ContactParams)
    slip: SlipParams = field(default_factory=SlipParams)

    def __post_init__(self) -> None:
        tare = self.tare_frames
        if isinstance(tare, bool) or not isinstance(tare, (int, np.integer)) or tare < 1:
            raise TactileDriverError(f"tare_frames = {tare!r}: expected an integer >= 1")
        for name, lowest in (("noise_floor_kpa", 0.0), ("load_kpa", math.ulp(0.0))):
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value < lowest:
                bound = ">= 0" if lowest == 0.0 else "> 0"
                raise TactileDriverError(f"{name} = {value!r}: expected a finite number {bound}")

    def to_flat(self) -> dict[str, Any]:
        """All parameters as ``{"tare_frames": 50, ..., "slip.mu": 0.5, ...}`` (ROS names)."""
        flat: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _GROUPS:
                flat.update({f"{f.name}.{g.name}": getattr(value, g.name) for g in fields(value)})
            else:
                flat[f.name] = value
        return flat

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> ProcessorParams:
        """Parameters from flat names (see :meth:`to_flat`); missing names keep their default.

        Raises:
            TactileDriverError: On an unknown name or an invalid value.
        """
        defaults = cls().to_flat()
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise TactileDriverError(
                f"unknown parameters {unknown}: expected some of {sorted(defaults)}"
            )
        groups: dict[str, dict[str, Any]] = {g: {} for g in _GROUPS}
        top: dict[str, Any] = {}
        for name, value in values.items():
            group, _, key = name.partition(".")
            if key:
                groups[group][key] = value
            else:
                top[name] = value
        built = {g: replace(_GROUPS[g](), **kw) for g, kw in groups.items()}
        return cls(**top, **built)
