"""The backend contract: a source of ``RawFrame`` objects for one skin.

A backend is chosen by name in the driver's configuration (parameter ``backend``) and found
through the entry-point group ``tactile_driver.backends`` (see :mod:`registry`). The driver
calls ``start`` once, then ``read`` in a loop from its IO thread, then ``stop``. A backend never
raises out of ``read`` for bad data or a lost device: it counts, reconnects and reports through
``stats``; it raises ``BackendError`` only for configuration it cannot work with.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tactile_driver.core.frames import RawFrame
from tactile_driver.errors import TactileDriverError


class BackendError(TactileDriverError):
    """A backend cannot start with the configuration it was given (the message says why)."""


@dataclass(frozen=True)
class PadShape:
    """What the driver expects of one pad: its name and taxel grid."""

    name: str
    rows: int
    cols: int


@dataclass
class BackendContext:
    """What a backend gets besides its own options.

    Attributes:
        skin: Skin name, e.g. "right_hand".
        board_id: Expected board id (frames from another board are rejected).
        pads: Expected pads in board order.
        node: The ROS node, for backends that read topics (sim, replay); None in pure tests.
        logger: Something with ``info``/``warning``/``error`` methods.
    """

    skin: str
    board_id: int
    pads: tuple[PadShape, ...]
    node: Any = None
    logger: Any = None


class TactileBackend(abc.ABC):
    """Base class of tactile frame sources.

    Args:
        options: Backend-specific options (from the driver's ``backend_options`` parameter,
            a YAML mapping); unknown keys must be rejected with BackendError.
        context: Skin, expected pads, node and logger.
    """

    def __init__(self, options: Mapping[str, Any], context: BackendContext):
        self.options = dict(options)
        self.context = context

    @abc.abstractmethod
    def start(self) -> None:
        """Open the source (may retry in the background; must not block for long)."""

    @abc.abstractmethod
    def read(self, timeout: float) -> list[RawFrame]:
        """Frames that arrived, waiting up to ``timeout`` seconds for at least one.

        Returns:
            Complete, verified frames in arrival order (possibly empty on timeout).
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Close the source; ``read`` is not called again."""

    def stats(self) -> dict[str, float]:
        """Counters for /diagnostics (e.g. crc_errors, resyncs, reconnects, connected)."""
        return {}

    def _unknown_options(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise BackendError(
                f"backend '{type(self).__name__}': unknown options {unknown}; "
                f"allowed: {sorted(allowed)}"
            )
