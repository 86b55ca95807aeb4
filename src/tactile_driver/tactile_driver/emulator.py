"""E-skin board emulator on a real pseudo-terminal, speaking the wire protocol of PROTOCOL.md.

``tactile_emulator`` opens a pty (``os.openpty``), puts the slave side in raw mode, points a
symlink (``--link``) at the slave device and writes one frame per period to the master side, so
that the ``serial`` backend (or any program reading a serial port) sees a board. It prints
``READY <link>`` on stdout once the link exists.

Signal model of the synthetic readings (the nominal convention of config/tactile/dex3_*.yaml)::

    counts = offset + counts_per_kpa * pressure_kpa + noise,   clipped to [0, 65535]

with ``--offset`` 1000 counts and ``--counts-per-kpa`` 30 by default (100 kPa -> +3000 counts,
i.e. a calibration gain of 1/30 kPa/count), noise N(0, 2 counts) from a seeded generator.
With ``--shear`` every pad also carries shear counts (``counts_per_kpa`` per kPa of traction).

Patterns (``--pattern``):
    idle   every pad unloaded: offset + noise.
    press  a Gaussian blob (sigma 0.8 taxel, up to 60 kPa) pressing one pad at a time: press and
           release over 2 s, the centre wandering slowly (0.25 Hz circle of 0.6 taxel radius),
           then the next pad (every pad gets its turn).
    sim    the simulator's pads, from /<skin>/tactile/sim_pressure (see emulator_sim.py).
    slip   a 50 kPa blob sliding fast across the index fingertip (the pad with index 1, else 0)
           along its columns, one sweep every 0.25 s (~24 taxels/s), with traction along the
           sweep when ``--shear`` is set.

Fault injection (each every Nth frame, N counted from 1, 0 = off): ``--corrupt-every`` (one
payload byte flipped, CRC fails), ``--truncate-every`` (only the first half sent),
``--garbage-every`` (8..64 random bytes written after the frame), ``--wrong-pads-every`` (last pad
left out, valid CRC), ``--drop-every`` (frame not sent, its sequence number skipped).
``--close-after S`` closes the pty (the device disappears, the link is removed); with
``--reopen-after R`` a new pty appears R seconds later and the link points to it; the cycle
repeats. ``--duration S`` stops after S seconds (exit 0); SIGINT/SIGTERM stop too (exit 0).

Frames are paced with ``time.perf_counter`` against absolute deadlines (no drift). The master is
non-blocking: when the reader does not keep up and the pty buffer is full, frames are dropped
(counted in ``dropped_full``; their sequence numbers are skipped as a real board's would be).

The generation of readings is separate from the writer: :class:`PtyEmulator` takes any
``source(t, rng) -> (counts per pad, shear per pad or None)``; :func:`pattern_source` builds one
from a pattern, another (e.g. the simulator's contact pressures) can be plugged in.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import faulthandler
import fcntl
import math
import os
import signal
import sys
import threading
import time
import tty
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tactile_driver.core.frames import RawFrame, RawPad
from tactile_driver.core.protocol import HEADER_SIZE, encode_frame

PATTERNS = ("idle", "press", "slip")
DEFAULT_OFFSET = 1000.0
DEFAULT_COUNTS_PER_KPA = 30.0
NOISE_COUNTS = 2.0
PRESS_PEAK_KPA = 60.0
PRESS_PERIOD_S = 2.0
SLIP_KPA = 50.0
SLIP_PERIOD_S = 0.25
SLIP_TRACTION = 0.4
"""Traction / pressure ratio of the slip pattern's shear (a kinetic friction coefficient)."""
BLOB_SIGMA_TAXELS = 0.8

Source = Callable[[float, np.random.Generator], tuple[list[np.ndarray], list[np.ndarray] | None]]
"""Readings at time t [s]: counts per pad (rows*cols values), and shear per pad ((2, rows*cols)
values) or None."""


def _blob(rows: int, cols: int, r: float, c: float, peak: float) -> np.ndarray:
    rr, cc = np.indices((rows, cols), dtype=np.float64)
    d2 = (rr - r) ** 2 + (cc - c) ** 2
    return (peak * np.exp(-d2 / (2.0 * BLOB_SIGMA_TAXELS**2))).reshape(-1)


def pattern_pressures(
    pattern: str, pad_shapes: Sequence[tuple[int, int]], t: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Noise-free pressure and traction of a pattern at time ``t``.

    Returns:
        Per pad: pressure [kPa] (rows*cols,) and traction [kPa] (2, rows*cols) (x along columns,
        y along rows).
    """
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}: expected one of {PATTERNS}")
    pressure = [np.zeros(r * c) for r, c in pad_shapes]
    traction = [np.zeros((2, r * c)) for r, c in pad_shapes]
    if not pad_shapes or pattern == "idle":
        return pressure, traction
    if pattern == "press":
        k = int(t // PRESS_PERIOD_S) % len(pad_shapes)
        phase = (t % PRESS_PERIOD_S) / PRESS_PERIOD_S
        rows, cols = pad_shapes[k]
        angle = 2.0 * math.pi * 0.25 * t
        r = (rows - 1) / 2.0 + 0.6 * math.sin(angle)
        c = (cols - 1) / 2.0 + 0.6 * math.cos(angle)
        peak = PRESS_PEAK_KPA * 0.5 * (1.0 - math.cos(2.0 * math.pi * phase))
        pressure[k] = _blob(rows, cols, r, c, peak)
    else:  # slip
        k = 1 if len(pad_shapes) > 1 else 0
        rows, cols = pad_shapes[k]
        phase = (t % SLIP_PERIOD_S) / SLIP_PERIOD_S
        c = -0.5 + phase * cols
        pressure[k] = _blob(rows, cols, (rows - 1) / 2.0, c, SLIP_KPA)
        traction[k][0] = SLIP_TRACTION * pressure[k]
    return pressure, traction


def _to_counts(values: np.ndarray, offset: float, counts_per_kpa: float, noise) -> np.ndarray:
    return np.clip(np.rint(offset + counts_per_kpa * values + noise), 0, 65535).astype(np.uint16)


def pattern_counts(
    pattern: str,
    pad_shapes: Sequence[tuple[int, int]],
    t: float,
    rng: np.random.Generator,
    offset: float = DEFAULT_OFFSET,
    counts_per_kpa: float = DEFAULT_COUNTS_PER_KPA,
    noise_counts: float = NOISE_COUNTS,
) -> list[np.ndarray]:
    """Raw counts of each pad for a synthetic pattern at time ``t``.

    Args:
        pattern: "idle", "press" or "slip" (see the module docstring).
        pad_shapes: (rows, cols) of each pad, in board order.
        t: Time since the start of the pattern [s].
        rng: Noise generator (seeded for reproducible streams).
        offset: Unloaded reading [counts].
        counts_per_kpa: Sensitivity [counts/kPa].
        noise_counts: Standard deviation of the reading noise [counts].

    Returns:
        Per pad, uint16 counts of shape (rows*cols,), row-major.
    """
    pressure, _ = pattern_pressures(pattern, pad_shapes, t)
    sizes = [p.size for p in pressure]
    noise = rng.normal(0.0, noise_counts, sum(sizes)) if noise_counts > 0 else np.zeros(sum(sizes))
    out = []
    start = 0
    for p, n in zip(pressure, sizes, strict=True):
        out.append(_to_counts(p, offset, counts_per_kpa, noise[start : start + n]))
        start += n
    return out


def pattern_source(
    pattern: str,
    pad_shapes: Sequence[tuple[int, int]],
    offset: float = DEFAULT_OFFSET,
    counts_per_kpa: float = DEFAULT_COUNTS_PER_KPA,
    noise_counts: float = NOISE_COUNTS,
    shear: bool = False,
) -> Source:
    """A :data:`Source` for :class:`PtyEmulator` from a synthetic pattern."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}: expected one of {PATTERNS}")
    shapes = [(int(r), int(c)) for r, c in pad_shapes]

    def source(t: float, rng: np.random.Generator):
        counts = pattern_counts(pattern, shapes, t, rng, offset, counts_per_kpa, noise_counts)
        if not shear:
            return counts, None
        _, traction = pattern_pressures(pattern, shapes, t)
        values = []
        for tr in traction:
            noise = rng.normal(0.0, noise_counts, tr.shape) if noise_counts > 0 else 0.0
            raw = np.rint(counts_per_kpa * tr + noise)
            values.append(np.clip(raw, -32768, 32767).astype(np.int16))
        return counts, values

    return source


def load_pad_shapes(robot_yaml: str | os.PathLike, skin: str) -> list[tuple[int, int]]:
    """(rows, cols) of each pad of ``skin`` from a robot YAML's ``tactile:`` section."""
    import yaml

    with open(robot_yaml, encoding="utf-8") as stream:
        data = yaml.safe_load(stream) or {}
    skins = data.get("tactile") or {}
    if skin not in skins:
        raise ValueError(f"{robot_yaml}: no skin {skin!r} under 'tactile' (has {sorted(skins)})")
    return [(int(p["rows"]), int(p["cols"])) for p in skins[skin]["pads"]]


def _replace_symlink(target: str, link: Path) -> None:
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


class PtyEmulator:
    """An e-skin board on a pseudo-terminal; run it with :meth:`run` or in a thread (:meth:`start`).

    Args:
        link: Path of the symlink to create/replace, pointing at the pty slave (the "port").
        pad_shapes: (rows, cols) of each pad in board order.
        board_id: Board id written in every frame.
        rate_hz: Frame rate [Hz].
        pattern: Synthetic pattern when ``source`` is None.
        source: Frame content generator (see :data:`Source`); overrides ``pattern``.
        seed: Seed of the noise, garbage and corruption generator.
        offset, counts_per_kpa, shear: Passed to :func:`pattern_source`.
        corrupt_every, truncate_every, garbage_every, wrong_pads_every, drop_every: Faults, every
            Nth frame (0 = never); see the module docstring.
        close_after: Close the pty this long after each open [s] (0 = never).
        reopen_after: Open a new pty this long after a close [s] (0 = never).
        duration: Stop after this long [s] (0 = until :meth:`stop`).
        max_frames: Stop producing after this many frames, keeping the pty open (0 = no limit);
            :attr:`finished` is set then.
        record: Keep :attr:`log` (for tests; grows without bound).

    Attributes:
        counters: What was actually written, by kind: frames (all frames fully written),
            good (written intact with the full layout), corrupted, truncated, wrong_pads,
            garbage_bursts, garbage_bytes, skipped_sequences (--drop-every), dropped_full
            (pty buffer full), partial_writes, late_resets (fell > 0.1 s behind, schedule
            reset), closes, reopens, write_errors.
        log: With ``record``, (sequence, kind) of every sequence number used, kind one of
            good, corrupted, truncated, wrong_pads, skipped, dropped_full, error; else None.
    """

    def __init__(
        self,
        link: str | os.PathLike,
        pad_shapes: Sequence[tuple[int, int]],
        *,
        board_id: int = 1,
        rate_hz: float = 1000.0,
        pattern: str = "idle",
        source: Source | None = None,
        seed: int = 0,
        offset: float = DEFAULT_OFFSET,
        counts_per_kpa: float = DEFAULT_COUNTS_PER_KPA,
        shear: bool = False,
        corrupt_every: int = 0,
        truncate_every: int = 0,
        garbage_every: int = 0,
        wrong_pads_every: int = 0,
        drop_every: int = 0,
        close_after: float = 0.0,
        reopen_after: float = 0.0,
        duration: float = 0.0,
        max_frames: int = 0,
        record: bool = False,
    ):
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.link = Path(link)
        self.pad_shapes = [(int(r), int(c)) for r, c in pad_shapes]
        self.board_id = int(board_id)
        self.period = 1.0 / float(rate_hz)
        self.source = source or pattern_source(
            pattern, self.pad_shapes, offset, counts_per_kpa, shear=shear
        )
        self.rng = np.random.default_rng(seed)
        self.faults = {
            "corrupt": int(corrupt_every),
            "truncate": int(truncate_every),
            "garbage": int(garbage_every),
            "wrong_pads": int(wrong_pads_every),
            "drop": int(drop_every),
        }
        self.close_after = float(close_after)
        self.reopen_after = float(reopen_after)
        self.duration = float(duration)
        self.max_frames = int(max_frames)
        self.counters = dict.fromkeys(
            (
                "frames good corrupted truncated wrong_pads garbage_bursts garbage_bytes "
                "skipped_sequences dropped_full partial_writes late_resets closes reopens "
                "write_errors"
            ).split(),
            0,
        )
        self.log: list[tuple[int, str]] | None = [] if record else None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._pending = b""
        self.slave_name: str | None = None

    # -- pty -------------------------------------------------------------------------------

    def open(self) -> str:
        """Create the pty and point the link at it; returns the slave's device name."""
        master, slave = os.openpty()
        tty.setraw(slave)
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._master, self._slave = master, slave
        self._pending = b""
        self.slave_name = os.ttyname(slave)
        _replace_symlink(self.slave_name, self.link)
        return self.slave_name

    def close(self) -> None:
        """Close the pty (the device disappears) and remove the link."""
        with contextlib.suppress(FileNotFoundError):
            if self.link.is_symlink() and os.readlink(self.link) == self.slave_name:
                self.link.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._pending = b""

    @property
    def is_open(self) -> bool:
        return self._master is not None

    # -- writing ---------------------------------------------------------------------------

    def _write(self, data: bytes) -> str:
        """Write all of ``data`` or nothing new: "ok", "full" (dropped) or "error"."""
        if self._master is None:
            return "error"
        if self._pending:
            try:
                n = os.write(self._master, self._pending)
            except BlockingIOError:
                return "full"
            except OSError:
                self.counters["write_errors"] += 1
                return "error"
            self._pending = self._pending[n:]
            if self._pending:
                return "full"
        try:
            n = os.write(self._master, data)
        except BlockingIOError:
            return "full"
        except OSError as error:
            if error.errno != errno.EAGAIN:
                self.counters["write_errors"] += 1
                return "error"
            return "full"
        if n < len(data):
            # Keep the stream well-formed: the rest goes out before anything else.
            self.counters["partial_writes"] += 1
            self._pending = data[n:]
        return "ok"

    def _emit(self, number: int, sequence: int, t: float) -> None:
        """Produce frame ``number`` (from 1) with sequence number ``sequence``."""

        def due(kind: str) -> bool:
            every = self.faults[kind]
            return every > 0 and number % every == 0

        kind = self._produce(due, sequence, t)
        if self.log is not None:
            self.log.append((sequence, kind))

    def _produce(self, due, sequence: int, t: float) -> str:
        if due("drop"):
            self.counters["skipped_sequences"] += 1
            return "skipped"
        counts, shear = self.source(t, self.rng)
        pads = [
            RawPad(i, r, c, counts[i], None if shear is None else shear[i])
            for i, (r, c) in enumerate(self.pad_shapes)
        ]
        kind = "good"
        if due("wrong_pads") and pads:
            pads = pads[:-1]
            kind = "wrong_pads"
        frame = RawFrame(self.board_id, sequence, int(round(t * 1e6)) & 0xFFFFFFFF, pads)
        data = encode_frame(frame)
        if kind == "good" and due("corrupt") and len(data) > HEADER_SIZE + 2:
            buf = bytearray(data)
            buf[int(self.rng.integers(HEADER_SIZE, len(data) - 2))] ^= 0xFF
            data = bytes(buf)
            kind = "corrupted"
        elif kind == "good" and due("truncate"):
            data = data[: len(data) // 2]
            kind = "truncated"
        garbage = b""
        if due("garbage"):
            garbage = self.rng.integers(0, 256, int(self.rng.integers(8, 65)), np.uint8).tobytes()
        result = self._write(data)
        if result == "full":
            self.counters["dropped_full"] += 1
            return "dropped_full"
        if result != "ok":
            return "error"
        self.counters["frames"] += 1
        self.counters[kind] += 1
        if garbage and self._write(garbage) == "ok":
            self.counters["garbage_bursts"] += 1
            self.counters["garbage_bytes"] += len(garbage)
        return kind

    # -- loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Write frames until :meth:`stop`, ``duration`` or ``max_frames`` (then keep the pty)."""
        if not self.is_open:
            self.open()
        start = time.perf_counter()
        opened_at = start
        closed_at = None
        slot = 0  # frame slot on the absolute schedule
        number = 0  # frames produced (1-based when used)
        sequence = 0
        try:
            while not self._stop.is_set():
                deadline = start + slot * self.period
                now = time.perf_counter()
                if deadline > now:
                    if self._stop.wait(deadline - now):
                        break
                    now = time.perf_counter()
                elif now - deadline > 0.1:
                    # Far behind (machine stalled): restart the schedule, no burst of stale frames.
                    self.counters["late_resets"] += 1
                    slot = math.ceil((now - start) / self.period)
                    deadline = start + slot * self.period
                if self.duration and now - start >= self.duration:
                    break
                if self.is_open and self.close_after and now - opened_at >= self.close_after:
                    self.close()
                    self.counters["closes"] += 1
                    closed_at = now
                    print(f"CLOSED {self.link}", file=sys.stderr, flush=True)
                if (
                    not self.is_open
                    and closed_at is not None
                    and self.reopen_after
                    and now - closed_at >= self.reopen_after
                ):
                    self.open()
                    self.counters["reopens"] += 1
                    opened_at = now
                    closed_at = None
                    print(f"REOPENED {self.link} -> {self.slave_name}", file=sys.stderr, flush=True)
                if self.is_open and not self.finished.is_set():
                    number += 1
                    self._emit(number, sequence, slot * self.period)
                    sequence = (sequence + 1) & 0xFFFFFFFF
                    if self.max_frames and number >= self.max_frames:
                        self.finished.set()
                slot += 1
        finally:
            self.finished.set()

    def start(self) -> PtyEmulator:
        """Open the pty (if needed) and run in a daemon thread."""
        if not self.is_open:
            self.open()
        self._thread = threading.Thread(target=self.run, name="tactile-emulator", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Make :meth:`run` return soon (safe from a signal handler or another thread)."""
        self._stop.set()

    def stop(self, close: bool = True) -> None:
        """Stop writing (joins the thread) and, by default, close the pty and remove the link."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if close:
            self.close()

    def __enter__(self) -> PtyEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tactile_emulator",
        description="Emulate an e-skin board on a pseudo-terminal (wire protocol: PROTOCOL.md).",
    )
    parser.add_argument("--link", required=True, help="symlink to create, pointing at the pty")
    parser.add_argument("--robot", default="config/robots/g1_dex3.yaml", help="robot YAML")
    parser.add_argument("--skin", default="right_hand", help="skin under the YAML's 'tactile'")
    parser.add_argument("--board-id", type=_non_negative_int, default=1)
    parser.add_argument("--rate-hz", type=float, default=1000.0)
    parser.add_argument(
        "--pattern",
        choices=(*PATTERNS, "sim"),
        default="idle",
        help="synthetic pattern, or 'sim': the simulator's pads (see emulator_sim.py)",
    )
    parser.add_argument(
        "--sim-topic", default="", help="with --pattern sim: default /<skin>/tactile/sim_pressure"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--offset", type=float, default=DEFAULT_OFFSET, help="[counts]")
    parser.add_argument("--counts-per-kpa", type=float, default=DEFAULT_COUNTS_PER_KPA)
    parser.add_argument("--shear", action="store_true", help="send shear samples too")
    for name in ("corrupt", "truncate", "garbage", "wrong-pads", "drop"):
        parser.add_argument(f"--{name}-every", type=_non_negative_int, default=0, metavar="N")
    parser.add_argument("--close-after", type=_non_negative_float, default=0.0, metavar="S")
    parser.add_argument("--reopen-after", type=_non_negative_float, default=0.0, metavar="S")
    parser.add_argument("--duration", type=_non_negative_float, default=0.0, metavar="S")
    args = parser.parse_args(argv)
    if args.board_id > 255:
        parser.error("--board-id must be 0..255")
    if not args.rate_hz > 0:
        parser.error("--rate-hz must be > 0")
    try:
        shapes = load_pad_shapes(args.robot, args.skin)
    except (OSError, ValueError, KeyError, TypeError) as error:
        parser.error(str(error))
    source = None
    if args.pattern == "sim":
        from tactile_driver.emulator_sim import SimTopicSource

        source = SimTopicSource(
            args.skin,
            shapes,
            args.offset,
            args.counts_per_kpa,
            NOISE_COUNTS,
            args.shear,
            args.sim_topic,
        )
        source.start()
    emulator = PtyEmulator(
        args.link,
        shapes,
        source=source,
        board_id=args.board_id,
        rate_hz=args.rate_hz,
        pattern="idle" if source else args.pattern,
        seed=args.seed,
        offset=args.offset,
        counts_per_kpa=args.counts_per_kpa,
        shear=args.shear,
        corrupt_every=args.corrupt_every,
        truncate_every=args.truncate_every,
        garbage_every=args.garbage_every,
        wrong_pads_every=args.wrong_pads_every,
        drop_every=args.drop_every,
        close_after=args.close_after,
        reopen_after=args.reopen_after,
        duration=args.duration,
    )

    def on_signal(signum, _frame):
        emulator.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # SIGUSR1 prints every thread's stack to stderr and the emulator runs on: where it hangs.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    emulator.open()
    print(f"READY {emulator.link}", flush=True)
    try:
        emulator.run()
    finally:
        emulator.close()
        counters = dict(emulator.counters)
        if source is not None:
            source.stop()
            counters.update(source.counters)
        summary = " ".join(f"{k}={v}" for k, v in counters.items())
        print(f"STOPPED {summary}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
