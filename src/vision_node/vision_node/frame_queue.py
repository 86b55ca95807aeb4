"""A bounded frame queue that drops the oldest frame when full.

A camera faster than the processing must not build a backlog: the newest frames are the ones
worth processing, so ``put`` on a full queue discards the oldest and counts it.
"""

from __future__ import annotations

import collections
import threading
from typing import Any


class FrameQueue:
    """Thread-safe bounded FIFO.

    Args:
        capacity: Most frames held, >= 1.
    """

    def __init__(self, capacity: int = 1):
        if capacity < 1:
            raise ValueError(f"capacity = {capacity}: expected >= 1")
        self._items: collections.deque = collections.deque()
        self._capacity = capacity
        self._condition = threading.Condition()
        self.dropped = 0
        self.received = 0
        self.high_water = 0

    def put(self, item: Any) -> None:
        """Add an item; when full, drop the oldest first."""
        with self._condition:
            self.received += 1
            if len(self._items) >= self._capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            self._condition.notify()

    def get(self, timeout: float) -> Any | None:
        """The oldest item, waiting up to ``timeout`` [s]; None on timeout."""
        with self._condition:
            if not self._items and not self._condition.wait_for(lambda: self._items, timeout):
                return None
            return self._items.popleft()

    def clear(self) -> int:
        """Drop every waiting item (counted as dropped); returns how many."""
        with self._condition:
            count = len(self._items)
            self._items.clear()
            self.dropped += count
            return count

    def __len__(self) -> int:
        with self._condition:
            return len(self._items)
