"""The sim backend's conversion of simulator frames (CDR bytes) into raw frames.

Frames of a layout that matches the skin go through the gathered-array path
(``cdr.read_tactile_taxels``); every frame must give exactly the raw frame of the per-pad
path (``SimBackend._on_frame``), the reference, and the counters must count the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_common import cdr
from tactile_driver.backends.base import BackendContext, PadShape
from tactile_driver.backends.sim_backend import SimBackend, pressures_to_counts, shear_to_counts

PADS = (PadShape("thumb", 3, 3), PadShape("index", 2, 4), PadShape("palm", 5, 6))


def _layouts(pads=PADS) -> list[cdr.PadLayout]:
    return [
        cdr.PadLayout(p.name, f"{p.name}_link", (0, 0, 0, 0, 0, 0, 1), p.rows, p.cols, 0.004, 0.004)
        for p in pads
    ]


def _backend() -> SimBackend:
    context = BackendContext(skin="right_hand", board_id=2, pads=PADS, node=object())
    return SimBackend({"offset_counts": 1000.0, "counts_per_kpa": 30.0}, context)


def _frame(rng, stamp_ns, sequence, layouts, shear=True, short_pad=None):
    """Random pressures (some negative, some past the uint16 range) and shear."""
    sizes = [lay.rows * lay.cols for lay in layouts]
    pressures = [rng.uniform(-50.0, 2500.0, n) for n in sizes]
    if short_pad is not None:
        pressures[short_pad] = pressures[short_pad][:-1]
    shears = None
    if shear:
        shears = [[rng.uniform(-1200.0, 1200.0, n) for n in sizes] for _ in range(2)]
    return cdr.write_tactile_frame(
        stamp_ns,
        "base",
        "right_hand",
        sequence,
        layouts,
        pressures,
        None if shears is None else shears[0],
        None if shears is None else shears[1],
    )


def _reference(backend: SimBackend, raw: bytes) -> None:
    """The per-pad path on the same bytes."""
    frame = cdr.read_tactile_frame(raw)
    pads = [
        (p.layout.name, p.layout.rows, p.layout.cols, p.pressure, p.shear_x, p.shear_y)
        for p in frame.pads
    ]
    backend._on_frame(frame.stamp_ns, frame.sequence, pads)


def _assert_same(fast, slow) -> None:
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert (a.board_id, a.sequence, a.device_time_us, a.stamp_ns) == (
            b.board_id,
            b.sequence,
            b.device_time_us,
            b.stamp_ns,
        )
        assert len(a.pads) == len(b.pads)
        for pa, pb in zip(a.pads, b.pads, strict=True):
            assert (pa.index, pa.rows, pa.cols) == (pb.index, pb.rows, pb.cols)
            assert pa.counts.dtype == pb.counts.dtype == np.uint16
            np.testing.assert_array_equal(pa.counts, pb.counts)
            if pb.shear is None:
                assert pa.shear is None
            else:
                assert pa.shear.dtype == pb.shear.dtype == np.int16
                np.testing.assert_array_equal(pa.shear, pb.shear)


@pytest.mark.parametrize("case", ["shear", "no_shear", "mixed", "short", "renamed"])
def test_frames_convert_as_the_per_pad_path(case: str) -> None:
    rng = np.random.default_rng(len(case))
    layouts = _layouts()
    if case == "renamed":
        layouts[1] = cdr.PadLayout("middle", *list(layouts[1].__dict__.values())[1:])
    fast, slow = _backend(), _backend()
    stamp = 1_000_000_000
    for sequence in range(6):
        raw = _frame(
            rng,
            stamp,
            sequence,
            layouts,
            shear=case != "no_shear",
            short_pad=1 if case == "short" else None,
        )
        if case == "mixed":  # one pad without shear: that pad gets none, the others theirs
            data = cdr.read_tactile_frame(raw)
            raw = cdr.write_tactile_frame(
                data.stamp_ns,
                "base",
                "right_hand",
                data.sequence,
                layouts,
                [p.pressure for p in data.pads],
                [p.shear_x if i != 2 else [] for i, p in enumerate(data.pads)],
                [p.shear_y if i != 2 else [] for i, p in enumerate(data.pads)],
            )
        fast._on_raw(raw)
        _reference(slow, raw)
        if sequence % 2:  # the lockstep's repeated state: same stamp again
            fast._on_raw(raw)
            _reference(slow, raw)
        stamp += 10_000_000
    # Only frames of the skin's layout with shear on every pad or none take the gathered path.
    assert (fast._fast_pads is not None) == (case in ("shear", "no_shear"))
    got, expected = fast.read(0.0), slow.read(0.0)
    _assert_same(got, expected)
    assert fast.stats() == slow.stats()
    if case == "renamed":
        assert fast.stats()["wrong_layout"] == 9 and not got
    else:
        assert fast.stats()["repeated"] == 3 and len(got) == 6


def test_counts_are_rounded_and_clipped() -> None:
    pressure = np.array([-40.0, 0.0, 0.0166, 1.0, 2200.0, 1e9])
    np.testing.assert_array_equal(
        pressures_to_counts(pressure, 1000.0, 30.0), [0, 1000, 1000, 1030, 65535, 65535]
    )
    np.testing.assert_array_equal(
        shear_to_counts([-2000.0, 0.05, 1.0], [2000.0, -0.05, 0.0], 30.0),
        [[-32768, 2, 30], [32767, -2, 0]],
    )
