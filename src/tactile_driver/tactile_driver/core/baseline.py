"""Baseline (zero offset) tracking and dead / stuck taxel detection, per pad or per skin.

Offsets drift slowly (temperature, elastomer creep). :class:`BaselineTracker` follows the drift
with a first-order filter of time constant ``drift_time_constant_s``, but only for taxels whose pad
is unloaded, so a persistent contact is never "tared away". It also flags taxels that cannot be
trusted, with the ``TactilePad.STATUS_*`` codes:

* ``STATUS_DEAD`` (1): the reading sits at 0 (no signal, open line) for longer than
  ``stuck_time_s``, or it is frozen: its variance over a ``frozen_window_s`` window stays below
  ``frozen_variance_counts2`` while a neighbour (8-connected, same pad) varies by more than
  ``neighbour_variance_counts2``. A frozen flag is kept until the taxel varies again.
* ``STATUS_STUCK`` (2): the reading sits at 65535 (saturated) for longer than ``stuck_time_s``.

Flagged taxels keep their offsets (no drift tracking) and are masked (zero pressure) downstream.

Cost: health checks and drift tracking run on "housekeeping" frames at most every
``sample_period_s`` (with the time elapsed since the previous one); other frames cost a few
Python operations. Slow drift and second-long detection times lose nothing by it.

One tracker can cover several pads (:meth:`BaselineTracker.for_pads`) with their taxels
concatenated in pad order; neighbours never cross pads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from tactile_driver.errors import TactileDriverError

STATUS_OK = 0
STATUS_DEAD = 1
STATUS_STUCK = 2
STATUS_MASKED = 3

RAW_MIN = 0
RAW_MAX = 65535


@dataclass(frozen=True)
class BaselineParams:
    """Parameters of :class:`BaselineTracker`.

    Attributes:
        drift_time_constant_s: Time constant of the offset drift filter while unloaded [s].
        stuck_time_s: Time a taxel may read 0 or 65535 before it is flagged [s].
        frozen_window_s: Window over which taxel variances are compared [s].
        frozen_variance_counts2: Variance below which a taxel counts as frozen [counts^2].
        neighbour_variance_counts2: Variance above which a neighbour counts as varying
            [counts^2], > ``frozen_variance_counts2``.
        sample_period_s: Minimum time between housekeeping frames [s].
    """

    drift_time_constant_s: float = 10.0
    stuck_time_s: float = 0.5
    frozen_window_s: float = 2.0
    frozen_variance_counts2: float = 0.1
    neighbour_variance_counts2: float = 100.0
    sample_period_s: float = 0.005

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or value <= 0.0:
                raise TactileDriverError(f"{f.name} = {value!r}: expected a finite number > 0")
        if self.neighbour_variance_counts2 <= self.frozen_variance_counts2:
            raise TactileDriverError(
                f"neighbour_variance_counts2 = {self.neighbour_variance_counts2!r}: expected > "
                f"frozen_variance_counts2 = {self.frozen_variance_counts2!r}"
            )
        if self.sample_period_s * 3 > self.frozen_window_s:
            raise TactileDriverError(
                f"sample_period_s = {self.sample_period_s!r}: expected <= frozen_window_s / 3 = "
                f"{self.frozen_window_s / 3!r} (at least 3 samples per window)"
            )


def _neighbour_table(shapes: Sequence[tuple[int, int]]) -> np.ndarray:
    """(n, 8) indices of the 8-connected neighbours of each taxel; n (a sentinel) where none."""
    n = sum(rows * cols for rows, cols in shapes)
    table = np.full((n, 8), n, dtype=np.intp)
    steps = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    start = 0
    for rows, cols in shapes:
        row, col = np.divmod(np.arange(rows * cols), cols)
        for k, (dr, dc) in enumerate(steps):
            r, c = row + dr, col + dc
            inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
            table[start + np.flatnonzero(inside), k] = start + r[inside] * cols + c[inside]
        start += rows * cols
    return table


class BaselineTracker:
    """Offsets and taxel health of one pad.

    Args:
        rows: Taxel rows.
        cols: Taxel columns.
        offsets_counts: Initial offsets [counts], scalar or (rows * cols,) (e.g. the
            calibration's ``offset_counts``).
        params: Tracking and detection parameters.

    Raises:
        TactileDriverError: If the size is not positive or the offsets have the wrong shape.
    """

    def __init__(
        self, rows: int, cols: int, offsets_counts: np.ndarray | float, params: BaselineParams
    ) -> None:
        self._init([(rows, cols)], offsets_counts, params)

    @classmethod
    def for_pads(
        cls,
        shapes: Sequence[tuple[int, int]],
        offsets_counts: np.ndarray | float,
        params: BaselineParams,
    ) -> BaselineTracker:
        """One tracker for several pads, taxels concatenated in pad order.

        Args:
            shapes: (rows, cols) of each pad.
            offsets_counts: Initial offsets [counts], scalar or (total taxels,).
            params: Tracking and detection parameters.
        """
        tracker = cls.__new__(cls)
        tracker._init(list(shapes), offsets_counts, params)
        return tracker

    def _init(self, shapes, offsets_counts, params: BaselineParams) -> None:
        if not shapes or any(rows < 1 or cols < 1 for rows, cols in shapes):
            raise TactileDriverError(f"pad sizes {shapes}: expected rows, cols >= 1 per pad")
        self.shapes = tuple((int(r), int(c)) for r, c in shapes)
        self.params = params
        self.num_taxels = n = sum(r * c for r, c in self.shapes)
        offsets = np.asarray(offsets_counts, dtype=float)
        self._offsets = np.array(np.broadcast_to(offsets, (n,)) if offsets.ndim == 0 else offsets)
        self._check(self._offsets, "offsets_counts")
        self._offsets_view = self._offsets.view()
        self._offsets_view.setflags(write=False)
        self._neighbours = _neighbour_table(self.shapes)
        self._ok_status = np.zeros(n, dtype=np.uint8)
        self._ok_status.setflags(write=False)
        self._status = self._ok_status
        self._zero_time = np.zeros(n)
        self._saturated_time = np.zeros(n)
        self._frozen = np.zeros(n, dtype=bool)
        self._frozen_any = False
        self._timers_clear = True  # _zero_time and _saturated_time all 0
        self._since_sample = math.inf  # the first frame is a housekeeping frame
        self._reset_window()

    def _check(self, values: np.ndarray, what: str) -> np.ndarray:
        if values.shape != (self.num_taxels,):
            raise TactileDriverError(
                f"{what} has shape {values.shape}: expected ({self.num_taxels},) for pads "
                f"{list(self.shapes)} (rows, cols)"
            )
        return values

    def _reset_window(self) -> None:
        self._window_ref: np.ndarray | None = None
        self._window_sum = np.zeros(self.num_taxels)
        self._window_sum_sq = np.zeros(self.num_taxels)
        self._window_samples = 0
        self._window_time = 0.0

    @property
    def offsets_counts(self) -> np.ndarray:
        """Current per-taxel offsets [counts] (read-only view, updated in place)."""
        return self._offsets_view

    @property
    def status(self) -> np.ndarray:
        """Status of each taxel (``STATUS_*``), uint8, read-only; a new array when it changes."""
        return self._status

    @property
    def all_ok(self) -> bool:
        """True if no taxel is flagged (``status`` is all ``STATUS_OK``)."""
        return self._status is self._ok_status

    def tare(self, samples: np.ndarray) -> None:
        """Set the offsets to the mean of readings taken with the pad unloaded.

        Args:
            samples: Raw readings [counts], shape (num_samples, num_taxels) or (num_taxels,).

        Raises:
            TactileDriverError: If the shape is wrong, there are no samples or values are not
                finite.
        """
        arr = np.asarray(samples, dtype=float)
        if arr.ndim == 1:
            arr = arr[np.newaxis]
        if arr.ndim != 2 or arr.shape[1] != self.num_taxels or arr.shape[0] == 0:
            raise TactileDriverError(
                f"tare samples have shape {np.shape(samples)}: expected (k >= 1, "
                f"{self.num_taxels}) raw readings of the unloaded pad"
            )
        if not np.all(np.isfinite(arr)):
            raise TactileDriverError("tare samples contain non-finite values: expected finite")
        self._offsets[:] = arr.mean(axis=0)

    def update(self, counts: np.ndarray, loaded: bool | np.ndarray, dt: float) -> np.ndarray:
        """Take one frame: update taxel health, then follow the drift of unloaded taxels.

        Args:
            counts: Raw readings [counts], shape (num_taxels,).
            loaded: Whether the pad carries a load (in contact or a taxel above the load
                threshold), or a per-taxel bool array (num_taxels,) (e.g. its pad's flag);
                offsets of loaded taxels are frozen.
            dt: Time since the previous frame [s], >= 0.

        Returns:
            Status of each taxel (``STATUS_*``), uint8, (num_taxels,), read-only.

        Raises:
            TactileDriverError: If ``counts`` has the wrong shape or ``dt`` is negative.
        """
        raw = self._check(np.asarray(counts), "counts")
        if not dt >= 0.0:
            raise TactileDriverError(f"dt = {dt!r}: expected a time step >= 0 [s]")
        self._since_sample += dt
        if self._since_sample < self.params.sample_period_s:
            return self._status
        elapsed = self._since_sample if math.isfinite(self._since_sample) else 0.0
        self._since_sample = 0.0
        self._housekeeping(raw, loaded, elapsed)
        return self._status

    def _housekeeping(self, raw: np.ndarray, loaded: bool | np.ndarray, elapsed: float) -> None:
        params = self.params
        # The usual frame: no taxel at a rail (0 or 65535) and none frozen. Then nothing is
        # flagged and every taxel may adapt, which takes a few numpy calls instead of twenty.
        clean = bool(raw.min() > RAW_MIN and raw.max() < RAW_MAX)
        if clean:
            # The rail timers restart from 0 ((t + elapsed) * False, as below).
            if not self._timers_clear:
                self._zero_time.fill(0.0)
                self._saturated_time.fill(0.0)
                self._timers_clear = True
        else:
            at_zero = raw == RAW_MIN
            at_max = raw == RAW_MAX
            self._zero_time += elapsed
            self._zero_time *= at_zero
            self._saturated_time += elapsed
            self._saturated_time *= at_max
            self._timers_clear = False
        self._accumulate(raw, elapsed)
        adapt: np.ndarray | None = None  # None: every taxel
        if clean and not self._frozen_any:
            self._status = self._ok_status
        else:
            if clean:
                at_zero = at_max = np.zeros(self.num_taxels, dtype=bool)
            dead = self._frozen | (self._zero_time > params.stuck_time_s)
            stuck = self._saturated_time > params.stuck_time_s
            if dead.any() or stuck.any():
                status = np.where(stuck, STATUS_STUCK, np.where(dead, STATUS_DEAD, STATUS_OK))
                status = status.astype(np.uint8)
                status.setflags(write=False)
                if not np.array_equal(status, self._status):
                    self._status = status
            else:
                self._status = self._ok_status
            adapt = ~(at_zero | at_max | dead | stuck)
        if isinstance(loaded, np.ndarray):
            if adapt is None and loaded.dtype == bool:
                adapt = ~loaded  # (all True) & ~loaded
            else:
                if adapt is None:
                    adapt = np.ones(self.num_taxels, dtype=bool)
                adapt &= ~loaded
        elif loaded:
            return
        if elapsed > 0.0:
            alpha = -math.expm1(-elapsed / params.drift_time_constant_s)
            if adapt is None:  # alpha * (all True) is alpha: the same product
                self._offsets += (raw - self._offsets) * alpha
            else:
                self._offsets += (raw - self._offsets) * (alpha * adapt)

    def _accumulate(self, raw: np.ndarray, elapsed: float) -> None:
        """Add a sample to the variance window; judge frozen taxels when the window is full."""
        if self._window_ref is None:
            self._window_ref = raw.astype(float)
        delta = raw - self._window_ref
        self._window_sum += delta
        self._window_sum_sq += delta * delta
        self._window_samples += 1
        self._window_time += elapsed
        if self._window_time < self.params.frozen_window_s or self._window_samples < 3:
            return
        samples = self._window_samples
        mean = self._window_sum / samples
        variance = np.maximum(self._window_sum_sq / samples - mean * mean, 0.0)
        neighbour_max = np.append(variance, 0.0)[self._neighbours].max(axis=1)
        still = variance < self.params.frozen_variance_counts2
        evidence = neighbour_max > self.params.neighbour_variance_counts2
        self._frozen = still & (evidence | self._frozen)
        self._frozen_any = bool(self._frozen.any())
        self._reset_window()
