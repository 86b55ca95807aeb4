"""Raw tactile frames as e-skin boards deliver them: per-pad taxel counts, before calibration.

Every backend (serial, sim, replay, third-party) produces ``RawFrame`` objects; everything
downstream (calibration, contacts, slip) consumes them, so a new device is a new backend only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RawPad:
    """One pad's samples.

    Attributes:
        index: Pad index on the board (position in the skin's pad list).
        rows: Taxel rows.
        cols: Taxel columns.
        counts: Raw readings, row-major, shape (rows * cols,), uint16 [counts].
        shear: Optional raw tangential readings, shape (2, rows * cols) (x then y), int16
            [counts]; None when the skin has no shear sensing.
    """

    index: int
    rows: int
    cols: int
    counts: np.ndarray
    shear: np.ndarray | None = None


@dataclass
class RawFrame:
    """All pads of one board at one sampling instant.

    Attributes:
        board_id: Board identifier (one board per skin, e.g. one per hand).
        sequence: Frame counter of the device (uint32, wraps); gaps mean dropped frames.
        device_time_us: Device clock at sampling [us] (uint32, wraps).
        pads: The pads, in board order.
        receive_time_ns: Host monotonic time when the last byte of the frame arrived [ns]
            (``time.monotonic_ns()``); 0 if unknown. For latency accounting.
        stamp_ns: Time of the measurement on the ROS clock [ns] when the source knows it
            (simulation, replay); 0 means "use the receive time".
    """

    board_id: int
    sequence: int
    device_time_us: int
    pads: list[RawPad] = field(default_factory=list)
    receive_time_ns: int = 0
    stamp_ns: int = 0
