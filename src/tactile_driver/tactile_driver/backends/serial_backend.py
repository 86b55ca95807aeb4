"""The ``serial`` backend: an e-skin board on a serial port speaking the protocol of PROTOCOL.md.

A background thread reads the port (pyserial, non-blocking, woken by ``select``), feeds the bytes
to a :class:`~tactile_driver.core.protocol.FrameDecoder`, checks each frame's layout against the
context (board id, pad count and grids) and queues the good ones; ``read`` hands them over.

Options (``backend_options``):
    port: Device path, e.g. ``/dev/ttyACM0`` or the emulator's link (required).
    baudrate: Line rate [bit/s] (default 3000000; USB CDC and ptys ignore it).
    reconnect_min_s: First retry delay after the device is lost or cannot be opened [s]
        (default 0.05); it doubles on every failed attempt ...
    reconnect_max_s: ... up to this [s] (default 2.0).
    queue_size: Frames kept for ``read`` (default 64); older ones are dropped when the
        consumer falls behind (counted as ``dropped_queue``).

The device may come and go: a read or open error (``SerialException``/``OSError``, e.g. EIO when a
USB device is unplugged or the emulator's pty is closed) closes the port, sets ``connected`` to
False and retries with exponential back-off; the decoder's buffer is cleared on reconnect.
Nothing raises out of ``read``; see :meth:`SerialBackend.stats` for the counters.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import serial

from tactile_driver.backends.base import BackendContext, BackendError, TactileBackend
from tactile_driver.core.frames import RawFrame
from tactile_driver.core.protocol import FrameDecoder, FrameValidator

_OPTIONS = {"port", "baudrate", "reconnect_min_s", "reconnect_max_s", "queue_size"}
_READ_SIZE = 65536
_POLL_S = 0.05  # select timeout: how fast the thread notices stop()


def _number(options: Mapping[str, Any], key: str, default: float, kind=float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BackendError(f"backend 'serial': option {key} = {value!r}: expected a number")
    if kind is int and int(value) != value:
        raise BackendError(f"backend 'serial': option {key} = {value!r}: expected an integer")
    if not value > 0:
        raise BackendError(f"backend 'serial': option {key} = {value!r}: expected > 0")
    return kind(value)


class SerialBackend(TactileBackend):
    """Frames from an e-skin board on a serial port (see the module docstring for options)."""

    def __init__(self, options: Mapping[str, Any], context: BackendContext):
        super().__init__(options, context)
        self._unknown_options(_OPTIONS)
        port = self.options.get("port")
        if not isinstance(port, str) or not port:
            raise BackendError(
                f"backend 'serial': option 'port' is required (a device path), got {port!r}"
            )
        self.port = port
        self.baudrate = _number(self.options, "baudrate", 3_000_000, int)
        self.reconnect_min_s = _number(self.options, "reconnect_min_s", 0.05)
        self.reconnect_max_s = _number(self.options, "reconnect_max_s", 2.0)
        if self.reconnect_max_s < self.reconnect_min_s:
            raise BackendError(
                f"backend 'serial': reconnect_max_s ({self.reconnect_max_s}) < "
                f"reconnect_min_s ({self.reconnect_min_s})"
            )
        queue_size = _number(self.options, "queue_size", 64, int)
        self._queue: deque[RawFrame] = deque(maxlen=queue_size)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial = None
        self.decoder = FrameDecoder()
        self.validator = FrameValidator.from_context(context)
        self._last_sequence: int | None = None
        self.connected = False
        self.frames = 0
        self.dropped_frames = 0
        self.sequence_resets = 0
        self.dropped_queue = 0
        self.disconnects = 0
        self.reconnects = 0
        self.open_errors = 0
        self.last_error = ""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread; it opens the port (retrying in the background)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"tactile-serial-{self.context.skin}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, close the port and wake a waiting ``read``."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close()

    def read(self, timeout: float) -> list[RawFrame]:
        """Every queued frame, waiting up to ``timeout`` [s] for at least one."""
        with self._cond:
            if not self._queue and timeout > 0 and not self._stop.is_set():
                self._cond.wait_for(lambda: self._queue or self._stop.is_set(), timeout)
            frames = list(self._queue)
            self._queue.clear()
        return frames

    def stats(self) -> dict[str, float]:
        """Decoder counters (frames_decoded, crc_errors, bad_headers, malformed, resyncs,
        garbage_bytes, bytes_in) and backend counters (frames: accepted into the queue,
        wrong_layout, dropped_frames: sequence gaps, sequence_resets, dropped_queue,
        disconnects, reconnects, open_errors, connected: 1.0/0.0)."""
        with self._cond:
            decoded = self.decoder.counters()
            stats = {
                "frames": self.frames,
                "frames_decoded": decoded.pop("frames"),
                **decoded,
                "wrong_layout": self.validator.wrong_layout,
                "dropped_frames": self.dropped_frames,
                "sequence_resets": self.sequence_resets,
                "dropped_queue": self.dropped_queue,
                "disconnects": self.disconnects,
                "reconnects": self.reconnects,
                "open_errors": self.open_errors,
                "connected": 1.0 if self.connected else 0.0,
            }
        return {key: float(value) for key, value in stats.items()}

    # -- reader thread ---------------------------------------------------------------------------

    def _log(self, level: str, message: str) -> None:
        logger = self.context.logger
        if logger is None:
            return
        # One call site per severity: rclpy loggers refuse a call site whose severity changes.
        if level == "error":
            logger.error(message)
        elif level == "warning":
            logger.warning(message)
        else:
            logger.info(message)

    def _open(self) -> bool:
        try:
            port = serial.Serial(self.port, self.baudrate, timeout=0)
        except (serial.SerialException, OSError, ValueError) as error:
            self.open_errors += 1
            self.last_error = str(error)
            return False
        with self._cond:
            self._serial = port
            self.decoder.reset()
            self._last_sequence = None
            self.connected = True
        return True

    def _close(self, lost: bool = False) -> None:
        with self._cond:
            port, self._serial = self._serial, None
            self.connected = False
            if lost:
                self.disconnects += 1
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

    def _run(self) -> None:
        ever_connected = False
        delay = self.reconnect_min_s
        while not self._stop.is_set():
            if self._serial is None:
                if not self._open():
                    if delay == self.reconnect_min_s:
                        self._log(
                            "warning",
                            f"tactile serial: cannot open {self.port} ({self.last_error}); "
                            f"retrying every {self.reconnect_min_s:g}..{self.reconnect_max_s:g} s",
                        )
                    self._stop.wait(delay)
                    delay = min(2.0 * delay, self.reconnect_max_s)
                    continue
                delay = self.reconnect_min_s
                if ever_connected:
                    self.reconnects += 1
                    self._log("info", f"tactile serial: {self.port} reconnected")
                else:
                    self._log("info", f"tactile serial: {self.port} open")
                ever_connected = True
            try:
                ready, _, _ = select.select([self._serial.fileno()], [], [], _POLL_S)
                if not ready:
                    continue
                data = self._serial.read(_READ_SIZE)
            except (serial.SerialException, OSError, ValueError, TypeError) as error:
                # TypeError/ValueError: the port was closed under us (stop()).
                if self._stop.is_set():
                    break
                self.last_error = str(error)
                self._close(lost=True)
                self._log("warning", f"tactile serial: lost {self.port} ({error}); reconnecting")
                self._stop.wait(delay)
                continue
            if data:
                self._handle(data, time.monotonic_ns())

    def _handle(self, data: bytes, now_ns: int) -> None:
        frames = self.decoder.feed(data, now_ns)
        accepted = []
        for frame in frames:
            if frame.board_id == self.validator.board_id:
                self._track_sequence(frame.sequence)
            if self.validator.check(frame) is None:
                accepted.append(frame)
        if not accepted:
            return
        with self._cond:
            for frame in accepted:
                if len(self._queue) == self._queue.maxlen:
                    self.dropped_queue += 1
                self._queue.append(frame)
            self.frames += len(accepted)
            self._cond.notify_all()

    def _track_sequence(self, sequence: int) -> None:
        last = self._last_sequence
        self._last_sequence = sequence
        if last is None:
            return
        gap = (sequence - last - 1) & 0xFFFFFFFF
        if gap == 0:
            return
        if gap >= 0x80000000:  # went backwards (or repeated): board reset, not a loss
            self.sequence_resets += 1
        else:
            self.dropped_frames += gap
