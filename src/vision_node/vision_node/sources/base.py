"""The frame-source contract: frames in, pushed into the node's bounded queue.

A source is built with its options and a :class:`SourceContext`, then ``start`` is called once
and ``stop`` once. It delivers :class:`Packet` objects through ``context.sink`` from its own
thread or from ROS callbacks; a packet is decoded into a :class:`vision_node.pipeline.Frame`
only when the node takes it from the queue, so frames dropped for being stale cost nothing.
Configuration a source cannot work with (a missing file, a camera that cannot be opened)
raises :class:`SourceError` from ``start`` and the node refuses to start.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vision_node.core.projection import CameraIntrinsics
from vision_node.errors import SourceError
from vision_node.pipeline import Frame


@dataclass
class Packet:
    """A frame waiting in the queue.

    Attributes:
        received_ns: ``time.monotonic_ns()`` when it arrived (for latency figures).
        decode: Turns it into a Frame; may raise InputError for a frame that cannot be used.
    """

    received_ns: int
    decode: Callable[[], Frame]


@dataclass
class SourceContext:
    """What a source gets besides its own options.

    Attributes:
        sink: Where packets go (the node's bounded queue ``put``).
        node: The ROS node, for sources that subscribe or need the clock; None in pure tests.
        intrinsics: Intrinsics from the calibration file, if one is configured.
        frame_id: Optical frame name for sources whose frames carry none.
        now_ns: Clock for stamping frames that carry no stamp [ns].
        logger: Something with ``info``/``warning``/``error`` methods.
    """

    sink: Callable[[Packet], None]
    node: Any = None
    intrinsics: CameraIntrinsics | None = None
    frame_id: str = "camera_color_optical_frame"
    now_ns: Callable[[], int] = time.time_ns
    logger: Any = None


class FrameSource(abc.ABC):
    """Base class of frame sources.

    Args:
        options: Source-specific options (from the node's ``source_options``); unknown keys
            are rejected with SourceError.
        context: Sink, node, intrinsics and frame name.
    """

    allowed_options: frozenset[str] = frozenset()

    def __init__(self, options: Mapping[str, Any], context: SourceContext):
        self.options = dict(options or {})
        self.context = context
        unknown = sorted(set(self.options) - self.allowed_options)
        if unknown:
            raise SourceError(
                f"source '{type(self).__name__}': unknown options {unknown}; "
                f"allowed: {sorted(self.allowed_options)}"
            )
        self.counters: dict[str, int] = {}

    @abc.abstractmethod
    def start(self) -> None:
        """Open the source and begin delivering packets."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop delivering and release the device or file. ``start`` may follow again (the
        node pauses its source through its ``~/enable`` service)."""

    def stats(self) -> dict[str, float]:
        """Counters for /diagnostics."""
        return dict(self.counters)

    def count(self, key: str, amount: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + amount

    def describe(self) -> str:
        """One line for the start-up log."""
        return f"{type(self).__name__} {self.options}"
