"""Time windows, rate pacing and /clock ticks (no ROS graph, time passed in)."""

import math

import numpy as np
import pytest

from humanoid_bag.core.timing import (
    NS_PER_S,
    ClockTicker,
    PlayWindow,
    RateSchedule,
    TimingError,
    check_rate,
    select_window,
)

START = 1_700_000_000 * NS_PER_S
END = START + 10 * NS_PER_S  # last message 10 s after the first


def test_whole_bag_includes_the_last_message():
    assert select_window(START, END) == PlayWindow(START, END + 1)


def test_offset_and_duration_select_a_window():
    window = select_window(START, END, start_offset_s=2.5, duration_s=3.0)
    assert window == PlayWindow(START + 2_500_000_000, START + 5_500_000_000)
    assert window.duration_s == pytest.approx(3.0)
    # A duration reaching past the end stops at the last message.
    assert select_window(START, END, 8.0, 100.0).stop_ns == END + 1
    # An offset exactly at the last message still plays it.
    assert select_window(START, END, 10.0) == PlayWindow(END, END + 1)


@pytest.mark.parametrize(
    ("offset", "duration", "match"),
    [
        (-1.0, None, "start offset"),
        (math.nan, None, "start offset"),
        (10.5, None, "past the bag's last message"),
        (0.0, 0.0, "duration"),
        (0.0, -2.0, "duration"),
        (0.0, math.inf, "duration"),
    ],
)
def test_bad_windows_are_refused(offset, duration, match):
    with pytest.raises(TimingError, match=match):
        select_window(START, END, offset, duration)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf, "2", True])
def test_bad_rates_are_refused(rate):
    with pytest.raises(TimingError, match="rate"):
        check_rate(rate)


def test_schedule_scales_bag_time_and_inverts_for_the_clock():
    rng = np.random.default_rng(7)
    for rate in (0.25, 1.0, 3.0, 40.0):
        schedule = RateSchedule(rate, START, wall_start_s=100.0)
        for offset_ns in sorted(rng.integers(0, 10 * NS_PER_S, 50)):
            bag_ns = START + int(offset_ns)
            due = schedule.due_s(bag_ns)
            assert due == pytest.approx(100.0 + offset_ns / NS_PER_S / rate)
            # The clock at a message's due time is that message's time (to 1 us).
            assert abs(schedule.bag_time_ns(due) - bag_ns) < 1000
        assert schedule.bag_time_ns(50.0) == START  # never before the start
        assert schedule.bag_time_ns(1e9, limit_ns=END) == END  # never past the window
        schedule.mark_published(START + 10**9)  # sent a little early: the clock follows it
        assert schedule.bag_time_ns(100.0) == START + 10**9


def test_schedule_is_monotonic_in_bag_time():
    schedule = RateSchedule(2.0, START, 0.0)
    times = [schedule.due_s(START + k * 1_000_000) for k in range(1000)]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))


def test_unpaced_schedule_is_due_at_once_and_clock_follows_messages():
    schedule = RateSchedule(math.inf, START, 5.0)
    assert schedule.due_s(END) == 5.0
    schedule.mark_published(START + 123)
    schedule.mark_published(START + 50)  # out of order: the clock never goes back
    assert schedule.bag_time_ns(1e6) == START + 123
    schedule.restart(START, 9.0)
    assert schedule.bag_time_ns(9.5) == START


def test_clock_ticker_keeps_its_rate_and_does_not_burst_after_a_stall():
    ticker = ClockTicker(40.0, first_s=0.0)
    ticks = sum(ticker.due(k * 0.001) for k in range(1000))  # 1 s polled at 1 kHz
    assert ticks == 40
    assert ticker.due(10.0)  # after a 9 s stall: one tick, then the rate again
    assert not ticker.due(10.01)
    assert ticker.due(10.03)
    with pytest.raises(TimingError, match="clock rate"):
        ClockTicker(0.0, 0.0)
