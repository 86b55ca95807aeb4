"""StampedHistory: the sample nearest a stamp, bounded depth, out-of-order and reset stamps."""

from __future__ import annotations

import pytest

from humanoid_brain.core.history import StampedHistory
from humanoid_brain.errors import HumanoidBrainError

MS = 1_000_000


def test_nearest_within_tolerance() -> None:
    history = StampedHistory(1000 * MS)
    for k in range(10):
        history.add(k * 10 * MS, f"s{k}")
    assert history.nearest(31 * MS, 5 * MS) == "s3"
    assert history.nearest(36 * MS, 5 * MS) == "s4"
    assert history.nearest(0, 1) == "s0"
    assert history.nearest(200 * MS, 50 * MS) is None  # after the newest, beyond tolerance
    assert history.newest() == "s9"


def test_span_drops_the_oldest_and_a_clock_reset_starts_over() -> None:
    history = StampedHistory(100 * MS)
    for k in range(30):
        history.add(k * 10 * MS, k)
    assert len(history) == 11  # 190..290 ms
    assert history.nearest(100 * MS, 5 * MS) is None
    history.add(5 * MS, "reset")  # far before the span: the simulator restarted
    assert len(history) == 1 and history.nearest(0, 10 * MS) == "reset"


def test_out_of_order_samples_are_placed_by_stamp() -> None:
    history = StampedHistory(1000 * MS)
    history.add(30 * MS, "c")
    history.add(10 * MS, "a")
    history.add(20 * MS, "b")
    assert [history.nearest(t * MS, 1) for t in (10, 20, 30)] == ["a", "b", "c"]
    assert history.newest() == "c"


def test_empty_and_bad_span() -> None:
    assert StampedHistory(MS).nearest(0, MS) is None
    with pytest.raises(HumanoidBrainError, match="span"):
        StampedHistory(0)
