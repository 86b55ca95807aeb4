"""A short history of stamped samples, looked up by stamp.

A detection is measured at its image's instant and arrives later (rendering or exposure,
inference, transport): placed with the robot's pose at its arrival, it is off by however far
the robot moved meanwhile (in the whole chain: 1-2 cm at walking speed, in the grasp goal).
Keeping the last second of poses and taking the one nearest the image's stamp removes that,
as tf2's lookup at a stamp does (REP 105 frames, ``tf2::BufferCore::lookupTransform``).
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Generic, TypeVar

from humanoid_brain.errors import HumanoidBrainError

T = TypeVar("T")


class StampedHistory(Generic[T]):
    """The newest samples, ``span_ns`` deep, in stamp order.

    Args:
        span_ns: Keep samples at most this much older than the newest [ns], > 0.
    """

    def __init__(self, span_ns: int) -> None:
        if span_ns <= 0:
            raise HumanoidBrainError(f"history span {span_ns} ns: expected > 0")
        self.span_ns = int(span_ns)
        self._stamps: deque[int] = deque()
        self._items: deque[T] = deque()

    def __len__(self) -> int:
        return len(self._stamps)

    def clear(self) -> None:
        self._stamps.clear()
        self._items.clear()

    def add(self, stamp_ns: int, item: T) -> None:
        """Add a sample; one older than the newest (out of order) is inserted in place, and a
        stamp earlier than the span (a clock reset) starts the history over."""
        stamps = self._stamps
        if stamps and stamp_ns < stamps[-1] - self.span_ns:
            self.clear()
        if not stamps or stamp_ns >= stamps[-1]:
            stamps.append(stamp_ns)
            self._items.append(item)
        else:
            index = bisect.bisect_right(stamps, stamp_ns)
            stamps.insert(index, stamp_ns)
            self._items.insert(index, item)
        while stamps[-1] - stamps[0] > self.span_ns:
            stamps.popleft()
            self._items.popleft()

    def nearest(self, stamp_ns: int, tolerance_ns: int) -> T | None:
        """The sample whose stamp is nearest ``stamp_ns``, if within ``tolerance_ns``; else
        None (the history does not cover that instant)."""
        stamps = self._stamps
        if not stamps:
            return None
        index = bisect.bisect_left(stamps, stamp_ns)
        best = None
        for candidate in (index - 1, index):
            if 0 <= candidate < len(stamps):
                gap = abs(stamps[candidate] - stamp_ns)
                if gap <= tolerance_ns and (best is None or gap < best[0]):
                    best = (gap, candidate)
        return None if best is None else self._items[best[1]]

    def newest(self) -> T | None:
        return self._items[-1] if self._items else None
