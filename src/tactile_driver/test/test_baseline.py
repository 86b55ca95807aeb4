"""Tests of baseline tracking (drift followed only while unloaded) and dead / stuck taxels."""

import math

import numpy as np
import pytest

from tactile_driver.core.baseline import (
    STATUS_DEAD,
    STATUS_OK,
    STATUS_STUCK,
    BaselineParams,
    BaselineTracker,
)
from tactile_driver.errors import TactileDriverError

ROWS, COLS = 3, 4
N = ROWS * COLS
GAIN = 1.0 / 30.0  # kPa/count
LOAD_KPA = 1.0
DT = 0.01  # 100 Hz: every frame is a housekeeping frame


def _offsets(seed=0):
    return np.random.default_rng(seed).uniform(950.0, 1050.0, N)


def _counts(true_offsets, pressure_kpa, rng, noise=2.0):
    raw = true_offsets + pressure_kpa / GAIN + rng.normal(0.0, noise, N)
    return np.clip(np.round(raw), 0, 65535).astype(np.uint16)


def _pressure(tracker, counts):
    return np.maximum((counts - tracker.offsets_counts) * GAIN, 0.0)


def _run(tracker, true_offsets, pressure_kpa, seconds, rng, gate=True, drift_per_s=0.0):
    """Feed frames; the pad counts as loaded (as in the pipeline) if a taxel exceeds LOAD_KPA."""
    offsets = true_offsets.copy()
    for _ in range(int(round(seconds / DT))):
        offsets += drift_per_s * DT
        counts = _counts(offsets, pressure_kpa, rng)
        loaded = bool((_pressure(tracker, counts) > LOAD_KPA).any()) if gate else False
        tracker.update(counts, loaded, DT)
    return offsets


def test_tare_sets_offsets_to_the_mean():
    tracker = BaselineTracker(ROWS, COLS, 1000.0, BaselineParams())
    rng = np.random.default_rng(1)
    truth = _offsets()
    samples = np.stack([_counts(truth, np.zeros(N), rng) for _ in range(400)])
    tracker.tare(samples)
    np.testing.assert_allclose(tracker.offsets_counts, samples.mean(axis=0))
    np.testing.assert_allclose(tracker.offsets_counts, truth, atol=0.5)
    with pytest.raises(TactileDriverError, match=r"shape \(5, 3\).*expected \(k >= 1, 12\)"):
        tracker.tare(np.zeros((5, 3)))
    with pytest.raises(TactileDriverError, match="non-finite"):
        tracker.tare(np.full(N, np.nan))


def test_persistent_press_is_never_erased():
    truth = _offsets()
    press = np.zeros(N)
    press[[5, 6]] = 40.0
    press[[1, 9]] = 8.0
    tracker = BaselineTracker(ROWS, COLS, truth, BaselineParams(drift_time_constant_s=5.0))
    rng = np.random.default_rng(2)
    _run(tracker, truth, press, seconds=60.0, rng=rng)  # 12 drift time constants
    counts = _counts(truth, press, rng, noise=0.0)
    force = _pressure(tracker, counts).sum()
    assert force == pytest.approx(press.sum(), rel=1e-3)
    np.testing.assert_array_equal(tracker.offsets_counts, truth)
    # Without the load gate the same press would be tared away: the gate is what keeps it.
    ungated = BaselineTracker(ROWS, COLS, truth, BaselineParams(drift_time_constant_s=5.0))
    _run(ungated, truth, press, seconds=60.0, rng=rng, gate=False)
    assert _pressure(ungated, counts).sum() < 0.01 * press.sum()


def test_slow_drift_without_load_is_tracked():
    truth = _offsets()
    params = BaselineParams(drift_time_constant_s=10.0)
    tracker = BaselineTracker(ROWS, COLS, truth, params)
    rng = np.random.default_rng(3)
    drift = 0.5  # counts/s, 30 counts (1 kPa) in a minute
    final = _run(tracker, truth, np.zeros(N), seconds=60.0, rng=rng, drift_per_s=drift)
    # A first-order tracker lags a ramp by rate * tau = 5 counts.
    error = final - tracker.offsets_counts
    np.testing.assert_allclose(error, drift * params.drift_time_constant_s, atol=2.0)
    assert np.all(tracker.status == STATUS_OK)


def test_saturated_and_zero_taxels_are_flagged_after_stuck_time():
    params = BaselineParams(stuck_time_s=0.5)
    tracker = BaselineTracker(ROWS, COLS, 1000.0, params)
    status = None
    for k in range(40):  # 0.4 s: not yet
        counts = np.full(N, 1000 + k % 3, dtype=np.uint16)
        counts[2], counts[7] = 65535, 0
        status = tracker.update(counts, True, DT)
    assert np.all(status == STATUS_OK)
    for _ in range(20):
        status = tracker.update(counts, True, DT)
    assert status[2] == STATUS_STUCK and status[7] == STATUS_DEAD
    assert np.count_nonzero(status) == 2 and status.dtype == np.uint8
    # Offsets of flagged taxels stay put even while the pad is unloaded.
    offsets = tracker.offsets_counts.copy()
    for _ in range(100):
        tracker.update(counts, False, DT)
    assert tracker.offsets_counts[2] == offsets[2] and tracker.offsets_counts[7] == offsets[7]
    # Recovered taxels are OK again.
    counts[2] = counts[7] = 1000
    assert np.all(tracker.update(counts, False, DT) == STATUS_OK)


def test_frozen_taxel_is_flagged_while_neighbours_vary():
    params = BaselineParams(frozen_window_s=1.0)
    tracker = BaselineTracker(ROWS, COLS, 1000.0, params)
    rng = np.random.default_rng(4)
    frozen = 6
    status = tracker.status
    for k in range(250):  # 2.5 s: a varying press on the whole pad, one taxel frozen
        press = np.full(N, 20.0 + 15.0 * np.sin(2 * np.pi * 1.3 * k * DT))
        counts = _counts(np.full(N, 1000.0), press, rng)
        counts[frozen] = 1234
        status = tracker.update(counts, True, DT)
    assert status[frozen] == STATUS_DEAD
    assert np.count_nonzero(status) == 1
    # Quiet, unloaded pad for two windows: no evidence either way, the flag stays, and the
    # flagged taxel's offset does not drift towards its frozen reading.
    offset = tracker.offsets_counts[frozen]
    for _ in range(300):
        counts = _counts(np.full(N, 1000.0), np.zeros(N), rng)
        counts[frozen] = 1234
        status = tracker.update(counts, False, DT)
    assert status[frozen] == STATUS_DEAD
    assert tracker.offsets_counts[frozen] == offset
    # It varies again: cleared at the end of the next window.
    for _ in range(250):
        status = tracker.update(_counts(np.full(N, 1000.0), np.zeros(N), rng), False, DT)
    assert np.all(status == STATUS_OK)


def test_quiet_constant_pad_is_not_flagged():
    tracker = BaselineTracker(ROWS, COLS, 1000.0, BaselineParams(frozen_window_s=0.5))
    for _ in range(300):
        status = tracker.update(np.full(N, 1000, dtype=np.uint16), False, DT)
    assert np.all(status == STATUS_OK)


def test_multi_pad_tracker_keeps_neighbours_within_a_pad():
    # Pad A is a single taxel (no neighbours); pad B (2x2) varies strongly next to it.
    params = BaselineParams(frozen_window_s=0.5)
    tracker = BaselineTracker.for_pads([(1, 1), (2, 2)], 1000.0, params)
    rng = np.random.default_rng(5)
    for k in range(120):
        counts = np.full(5, 1000.0)
        counts[1:] += 500.0 * (k % 2) + rng.normal(0.0, 2.0, 4)
        status = tracker.update(counts.astype(np.uint16), np.array([False] + [True] * 4), DT)
    assert np.all(status == STATUS_OK)
    # Per-taxel load: the unloaded pad A followed its (constant) reading, pad B did not adapt.
    np.testing.assert_array_equal(tracker.offsets_counts[1:], 1000.0)


def test_housekeeping_is_rate_limited_but_time_exact():
    # At 1 kHz frames, housekeeping runs every 5 ms with the elapsed time: the drift filter
    # converges like the per-frame filter would.
    params = BaselineParams(drift_time_constant_s=0.2)
    tracker = BaselineTracker(1, 1, 0.0, params)
    for _ in range(200):  # 0.2 s = one time constant
        tracker.update(np.array([100], dtype=np.uint16), False, 0.001)
    assert tracker.offsets_counts[0] == pytest.approx(100.0 * (1 - np.exp(-1.0)), rel=0.03)


def test_errors_name_the_value():
    tracker = BaselineTracker(ROWS, COLS, 1000.0, BaselineParams())
    with pytest.raises(TactileDriverError, match=r"counts has shape \(5,\): expected \(12,\)"):
        tracker.update(np.zeros(5), False, DT)
    with pytest.raises(TactileDriverError, match="dt = -0.1"):
        tracker.update(np.zeros(N), False, -0.1)
    with pytest.raises(TactileDriverError, match="offsets_counts has shape"):
        BaselineTracker(ROWS, COLS, np.zeros(3), BaselineParams())
    with pytest.raises(TactileDriverError, match="stuck_time_s = -1"):
        BaselineParams(stuck_time_s=-1)
    with pytest.raises(TactileDriverError, match="neighbour_variance_counts2"):
        BaselineParams(frozen_variance_counts2=10.0, neighbour_variance_counts2=5.0)
    with pytest.raises(TactileDriverError, match="rows, cols >= 1"):
        BaselineTracker(0, 3, 1000.0, BaselineParams())


class _FullHousekeeping(BaselineTracker):
    """The tracker with the whole flagging arithmetic on every housekeeping frame (the tracker
    skips it on frames with no taxel at a rail and none frozen): the reference."""

    def _housekeeping(self, raw, loaded, elapsed):
        params = self.params
        at_zero = raw == 0
        at_max = raw == 65535
        self._zero_time += elapsed
        self._zero_time *= at_zero
        self._saturated_time += elapsed
        self._saturated_time *= at_max
        self._accumulate(raw, elapsed)
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
            adapt &= ~loaded
        elif loaded:
            return
        if elapsed > 0.0:
            alpha = -math.expm1(-elapsed / params.drift_time_constant_s)
            self._offsets += (raw - self._offsets) * (alpha * adapt)


@pytest.mark.parametrize("seed", range(4))
def test_clean_frames_track_exactly_as_the_full_arithmetic(seed):
    """Offsets and status bit for bit equal to the full computation, through clean frames,
    rails (0 and 65535) that come and go, a frozen taxel, and whole-pad or per-taxel loads."""
    rng = np.random.default_rng(seed)
    shapes = [(ROWS, COLS), (2, 2)]
    n = N + 4
    params = BaselineParams(stuck_time_s=0.05, frozen_window_s=0.1)
    start = rng.uniform(950.0, 1050.0, n)
    fast = BaselineTracker.for_pads(shapes, start, params)
    full = _FullHousekeeping.for_pads(shapes, start, params)
    truth = start + rng.normal(0.0, 5.0, n)
    flagged = 0
    for k in range(400):
        counts = truth + rng.normal(0.0, 20.0, n)
        phase = (k // 40) % 5
        if phase == 1:
            counts[3] = 0.0  # dead for a while, then back
        elif phase == 2:
            counts[N + 1] = 65535.0
        elif phase == 3:
            counts[5] = 1234.0  # frozen while its neighbours vary
        counts = np.clip(np.round(counts), 0, 65535).astype(np.uint16)
        loaded = [False, True, rng.random(n) < 0.3][k % 3]
        dt = [0.01, 0.002, 0.0][k % 7 % 3]
        np.testing.assert_array_equal(
            fast.update(counts, loaded, dt), full.update(counts, loaded, dt)
        )
        np.testing.assert_array_equal(fast.offsets_counts, full.offsets_counts)
        assert fast.all_ok == full.all_ok
        flagged += not full.all_ok
    assert 0 < flagged < 400  # the sequence went through flagged and clean states
