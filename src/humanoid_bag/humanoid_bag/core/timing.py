"""Which part of a bag to play, and when each message is due: no ROS, time passed in.

Bag times are integers in [ns] (rosbag2 receive timestamps); wall times are floats in [s] on a
monotonic clock. A playback pass maps bag time ``t`` to wall time
``wall_start + (t - window.start_ns) / rate``; ``rate = inf`` publishes as fast as possible.
The same mapping, inverted, gives the bag time to publish on ``/clock``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from humanoid_bag.errors import HumanoidBagError

NS_PER_S = 1_000_000_000


class TimingError(HumanoidBagError):
    """A rate, offset or duration is out of range (the message names it)."""


class PlayWindow(NamedTuple):
    """The part of a bag to play: messages with ``start_ns <= t < stop_ns``.

    Attributes:
        start_ns: First bag time played [ns].
        stop_ns: First bag time no longer played [ns].
    """

    start_ns: int
    stop_ns: int

    @property
    def duration_s(self) -> float:
        """Length of the window [s]."""
        return (self.stop_ns - self.start_ns) / NS_PER_S


def check_rate(rate: float) -> float:
    """A playback rate: finite and > 0 (1.0 = recorded speed).

    Raises:
        TimingError: Naming the value.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise TimingError(f"rate {rate!r}: expected a number > 0")
    if not (math.isfinite(rate) and rate > 0.0):
        raise TimingError(f"rate {rate!r}: expected a finite number > 0 (1.0 = recorded speed)")
    return float(rate)


def select_window(
    bag_start_ns: int,
    bag_end_ns: int,
    start_offset_s: float = 0.0,
    duration_s: float | None = None,
) -> PlayWindow:
    """The window of a bag whose messages span ``[bag_start_ns, bag_end_ns]`` (inclusive).

    Args:
        bag_start_ns: Time of the first message [ns].
        bag_end_ns: Time of the last message [ns], >= ``bag_start_ns``.
        start_offset_s: Skip this much of the bag's beginning [s], >= 0 and within the bag.
        duration_s: Play at most this much bag time [s], > 0; None: to the end.

    Raises:
        TimingError: For a negative or non-finite offset, an offset past the last message, or
            a non-positive duration.
    """
    if bag_end_ns < bag_start_ns:
        raise TimingError(f"bag end {bag_end_ns} ns is before its start {bag_start_ns} ns")
    if not (math.isfinite(start_offset_s) and start_offset_s >= 0.0):
        raise TimingError(f"start offset {start_offset_s!r} s: expected a finite value >= 0")
    start_ns = bag_start_ns + round(start_offset_s * NS_PER_S)
    if start_ns > bag_end_ns:
        span = (bag_end_ns - bag_start_ns) / NS_PER_S
        raise TimingError(
            f"start offset {start_offset_s} s is past the bag's last message ({span:.3f} s "
            "after its first)"
        )
    stop_ns = bag_end_ns + 1
    if duration_s is not None:
        if not (math.isfinite(duration_s) and duration_s > 0.0):
            raise TimingError(f"duration {duration_s!r} s: expected a finite value > 0")
        stop_ns = min(stop_ns, start_ns + round(duration_s * NS_PER_S))
    return PlayWindow(start_ns, stop_ns)


class RateSchedule:
    """Maps bag time to wall time for one playback pass at a fixed rate.

    Args:
        rate: Playback speed relative to the recording, > 0; ``math.inf``: no pacing.
        bag_start_ns: Bag time that plays at ``wall_start_s`` [ns].
        wall_start_s: Wall time of the pass's start [s] (monotonic clock).
    """

    def __init__(self, rate: float, bag_start_ns: int, wall_start_s: float) -> None:
        if rate != math.inf:
            check_rate(rate)
        self.rate = float(rate)
        self.restart(bag_start_ns, wall_start_s)

    def restart(self, bag_start_ns: int, wall_start_s: float) -> None:
        """Start a new pass (a loop, or resuming after a pause) at these times."""
        self.bag_start_ns = int(bag_start_ns)
        self.wall_start_s = float(wall_start_s)
        self.last_bag_ns = int(bag_start_ns)

    def due_s(self, bag_ns: int) -> float:
        """Wall time [s] at which the message stamped ``bag_ns`` is due."""
        if self.rate == math.inf:
            return self.wall_start_s
        return self.wall_start_s + (bag_ns - self.bag_start_ns) / NS_PER_S / self.rate

    def mark_published(self, bag_ns: int) -> None:
        """Record that the message stamped ``bag_ns`` went out (drives /clock without pacing)."""
        self.last_bag_ns = max(self.last_bag_ns, int(bag_ns))

    def bag_time_ns(self, wall_s: float, limit_ns: int | None = None) -> int:
        """Bag time [ns] reached at wall time ``wall_s``, for ``/clock``.

        Never before the pass's start nor behind a published message (a message may go out a
        little early); never past ``limit_ns`` (the window's end) when given. Without pacing,
        the time of the newest published message.
        """
        now_ns = self.last_bag_ns
        if self.rate != math.inf:
            elapsed_s = max(0.0, wall_s - self.wall_start_s)
            now_ns = max(now_ns, self.bag_start_ns + int(elapsed_s * self.rate * NS_PER_S))
        return now_ns if limit_ns is None else min(now_ns, limit_ns)


class ClockTicker:
    """Fixed-rate ticks of the ``/clock`` publisher.

    Args:
        rate_hz: Ticks per second of wall time, > 0.
        first_s: Wall time of the first tick [s].
    """

    def __init__(self, rate_hz: float, first_s: float) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0.0):
            raise TimingError(f"clock rate {rate_hz!r} Hz: expected a finite value > 0")
        self.period_s = 1.0 / rate_hz
        self.next_s = first_s

    def due(self, now_s: float) -> bool:
        """Whether a tick is due at ``now_s``; if so, schedule the next one.

        A late tick is not repeated: after a stall the ticks resume from ``now_s``.
        """
        if now_s < self.next_s:
            return False
        self.next_s += self.period_s
        if self.next_s <= now_s:
            self.next_s = now_s + self.period_s
        return True
