"""The e-skin wire protocol (see ``PROTOCOL.md`` of this package): encoder and streaming decoder.

A frame on the wire (all integers little-endian)::

    offset size  field
    0      2     sync            0xA5 0x5A
    2      1     version         1
    3      1     board_id
    4      4     sequence        u32, wraps
    8      4     device_time_us  u32, wraps
    12     1     pad_count
    13     1     flags           bit0: shear present; other bits 0
    14     2     payload_length  bytes of the pad blocks that follow (<= MAX_PAYLOAD)
    16     L     pad blocks      pad_count times: pad_index u8, rows u8, cols u8, reserved u8 (0),
                                 rows*cols u16 counts (row-major), then, with the shear flag,
                                 2*rows*cols i16 (all x, then all y)
    16+L   2     crc             CRC-16/CCITT-FALSE over bytes [2, 16+L)

No ROS and no serial port here: bytes in, ``RawFrame`` out (and back). The decoder never raises
on its input and never returns a frame whose CRC did not check.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

import numpy as np

from tactile_driver.core.frames import RawFrame, RawPad

SYNC = b"\xa5\x5a"
VERSION = 1
HEADER = struct.Struct("<2sBBIIBBH")
PAD_HEADER = struct.Struct("<BBBB")
CRC = struct.Struct("<H")
HEADER_SIZE = HEADER.size  # 16
PAD_HEADER_SIZE = PAD_HEADER.size  # 4
CRC_SIZE = CRC.size  # 2
FLAG_SHEAR = 0x01
MAX_PAYLOAD = 8192
"""Largest payload_length a receiver accepts: a corrupted length cannot stall the parser longer
than this many bytes (about 1300 taxels with shear, 2000 without)."""

_Bytes = bytes | bytearray | memoryview
_U16 = np.dtype("<u2")
_I16 = np.dtype("<i2")
_U32_MASK = 0xFFFFFFFF


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout).

    ``crc16(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(frame: RawFrame) -> bytes:
    """The wire bytes of a frame.

    ``sequence`` and ``device_time_us`` are taken modulo 2**32. Either every pad has shear or
    none has (the flag is per frame).

    Raises:
        ValueError: If the frame cannot be represented: a count outside [0, 65535], a shear value
            outside int16, a pad whose sample count is not rows * cols, mixed shear, more than
            255 pads, a field outside u8, or a payload above MAX_PAYLOAD.
    """
    pads = frame.pads
    if len(pads) > 255:
        raise ValueError(f"{len(pads)} pads: at most 255 fit in a frame")
    with_shear = [pad.shear is not None for pad in pads]
    shear = bool(pads) and all(with_shear)
    if any(with_shear) and not shear:
        raise ValueError("some pads have shear and some do not: the shear flag is per frame")
    if not 0 <= frame.board_id <= 255:
        raise ValueError(f"board_id {frame.board_id}: expected 0..255")
    per_taxel = 3 if shear else 1  # 16-bit words per taxel
    sizes = [pad.rows * pad.cols for pad in pads]
    length = 2 * sum(2 + per_taxel * n for n in sizes)
    if length > MAX_PAYLOAD:
        raise ValueError(f"payload of {length} bytes: at most {MAX_PAYLOAD}")
    # All blocks are 16-bit words: fill one int64 buffer, range-check it once, convert once.
    # Shear is stored offset by 0x8000 (so every valid word is in [0, 65535]); flipping bit 15
    # afterwards turns v + 0x8000 into the two's complement of v.
    words = np.empty(length // 2, np.int64)
    shear_slices = []
    w = 0
    for pad, n in zip(pads, sizes, strict=True):
        if not (0 <= pad.index <= 255 and 1 <= pad.rows <= 255 and 1 <= pad.cols <= 255):
            raise ValueError(
                f"pad index {pad.index} {pad.rows}x{pad.cols}: index 0..255, rows/cols 1..255"
            )
        counts = np.asarray(pad.counts).reshape(-1)
        if counts.size != n:
            raise ValueError(f"pad {pad.index}: {counts.size} counts, expected rows*cols = {n}")
        words[w] = pad.index | (pad.rows << 8)
        words[w + 1] = pad.cols
        words[w + 2 : w + 2 + n] = counts
        if shear:
            values = np.asarray(pad.shear).reshape(-1)
            if values.size != 2 * n:
                raise ValueError(f"pad {pad.index}: {values.size} shear values, expected {2 * n}")
            section = slice(w + 2 + n, w + 2 + 3 * n)
            words[section] = values
            words[section] += 0x8000
            shear_slices.append(section)
        w += 2 + per_taxel * n
    if words.size and (words.min() < 0 or words.max() > 0xFFFF):
        for pad in pads:  # slow path, only to name the culprit
            counts = np.asarray(pad.counts)
            if counts.min() < 0 or counts.max() > 0xFFFF:
                raise ValueError(f"pad {pad.index}: counts outside [0, 65535]")
        raise ValueError("shear outside int16")
    for section in shear_slices:
        words[section] ^= 0x8000
    head = HEADER.pack(
        SYNC,
        VERSION,
        frame.board_id,
        frame.sequence & _U32_MASK,
        frame.device_time_us & _U32_MASK,
        len(pads),
        FLAG_SHEAR if shear else 0,
        length,
    )
    body = head + words.astype(_U16).tobytes()
    return body + CRC.pack(crc16(memoryview(body)[2:]))


def frame_crc_ok(data: bytes) -> bool:
    """Whether ``data`` is exactly one frame with a valid header length and CRC."""
    if len(data) < HEADER_SIZE + CRC_SIZE or data[:2] != SYNC:
        return False
    length = HEADER.unpack_from(data)[7]
    end = HEADER_SIZE + length
    if len(data) != end + CRC_SIZE:
        return False
    return crc16(memoryview(data)[2:end]) == CRC.unpack_from(data, end)[0]


class FrameDecoder:
    """Streaming decoder: feed it bytes as they arrive, get complete, CRC-checked frames.

    Framing rules (PROTOCOL.md, "Receiving"): search for the sync word; check version, flags and
    payload_length; wait for the whole frame; check the CRC. On a failure discard the first sync
    byte only and search again, so a truncated frame costs itself and nothing after it. A frame
    whose CRC checks but whose pad blocks do not add up to payload_length is dropped whole
    (its boundaries are trustworthy) and counted as ``malformed``.

    Counters (cumulative, survive :meth:`reset`):
        frames: Frames returned.
        crc_errors: Candidate frames whose CRC did not match.
        bad_headers: Candidates rejected on version, flags or payload_length.
        malformed: CRC-valid frames whose pad blocks are inconsistent with payload_length.
        resyncs: Times the decoder lost frame alignment (failed candidate or bytes other than a
            sync word where a frame should start) and had to search; one per loss, however many
            bytes the search skips.
        garbage_bytes: Bytes discarded (not part of any returned frame).
        bytes_in: Bytes fed.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._searching = False
        self.frames = 0
        self.crc_errors = 0
        self.bad_headers = 0
        self.malformed = 0
        self.resyncs = 0
        self.garbage_bytes = 0
        self.bytes_in = 0

    @property
    def pending(self) -> int:
        """Bytes buffered (an incomplete frame or a partial sync word)."""
        return len(self._buf)

    def counters(self) -> dict[str, int]:
        """All counters by name."""
        return {
            "frames": self.frames,
            "crc_errors": self.crc_errors,
            "bad_headers": self.bad_headers,
            "malformed": self.malformed,
            "resyncs": self.resyncs,
            "garbage_bytes": self.garbage_bytes,
            "bytes_in": self.bytes_in,
        }

    def reset(self) -> None:
        """Forget buffered bytes (e.g. after reconnecting); the next byte starts a search.

        Discarded bytes are counted in ``garbage_bytes``; counters are kept.
        """
        self.garbage_bytes += len(self._buf)
        self._buf.clear()
        self._searching = False

    def _lost(self, skipped: int) -> None:
        self.garbage_bytes += skipped
        if not self._searching:
            self._searching = True
            self.resyncs += 1

    def feed(self, data: _Bytes, receive_time_ns: int = 0) -> list[RawFrame]:
        """Add bytes; return the frames they complete, in order.

        Args:
            data: Bytes as read from the device (any chunking).
            receive_time_ns: Host time the bytes arrived [ns], stored in each returned frame.

        Returns:
            Complete frames whose CRC checked (possibly none). Never raises on any input.
        """
        buf = self._buf
        buf += data
        self.bytes_in += len(data)
        out: list[RawFrame] = []
        pos = 0
        size = len(buf)
        while True:
            if size - pos < 2:
                break
            if buf[pos] != 0xA5 or buf[pos + 1] != 0x5A:
                found = buf.find(SYNC, pos + 1)
                if found < 0:
                    # Keep a trailing 0xA5: it may be the first half of a sync word.
                    keep = 1 if buf[size - 1] == 0xA5 else 0
                    self._lost(size - keep - pos)
                    pos = size - keep
                    break
                self._lost(found - pos)
                pos = found
            if size - pos < HEADER_SIZE:
                break
            (_, version, board_id, sequence, time_us, pad_count, flags, length) = (
                HEADER.unpack_from(buf, pos)
            )
            if (
                version != VERSION
                or flags & ~FLAG_SHEAR
                or length > MAX_PAYLOAD
                or length < PAD_HEADER_SIZE * pad_count
            ):
                self.bad_headers += 1
                self._lost(1)
                pos += 1
                continue
            end = pos + HEADER_SIZE + length
            if size < end + CRC_SIZE:
                break
            if binascii.crc_hqx(buf[pos + 2 : end], 0xFFFF) != CRC.unpack_from(buf, end)[0]:
                self.crc_errors += 1
                self._lost(1)
                pos += 1
                continue
            frame = _parse_payload(
                bytes(buf[pos + HEADER_SIZE : end]), pad_count, bool(flags & FLAG_SHEAR)
            )
            frame_size = end + CRC_SIZE - pos
            pos = end + CRC_SIZE
            if frame is None:
                self.malformed += 1
                self._lost(frame_size)
                continue
            frame.board_id = board_id
            frame.sequence = sequence
            frame.device_time_us = time_us
            frame.receive_time_ns = receive_time_ns
            self._searching = False
            self.frames += 1
            out.append(frame)
        if pos:
            del buf[:pos]
        return out


def _parse_payload(payload: bytes, pad_count: int, shear: bool) -> RawFrame | None:
    """The pads of a CRC-valid payload, or None if the blocks do not fill it exactly.

    Every block is a whole number of 16-bit words, so the payload is converted once to native
    uint16 and each pad's counts (and shear, as int16) are views into that one array.
    """
    size = len(payload)
    if size & 1:
        return None
    words = np.frombuffer(payload, _U16).astype(np.uint16)
    signed = words.view(np.int16) if shear else None
    per_taxel = 6 if shear else 2
    pads: list[RawPad] = []
    offset = 0
    for _ in range(pad_count):
        if size - offset < PAD_HEADER_SIZE:
            return None
        index, rows, cols = payload[offset], payload[offset + 1], payload[offset + 2]
        offset += PAD_HEADER_SIZE
        n = rows * cols
        if n == 0 or size - offset < per_taxel * n:
            return None
        w = offset >> 1
        counts = words[w : w + n]
        shear_xy = None
        if signed is not None:
            shear_xy = signed[w + n : w + 3 * n].reshape(2, n)
        offset += per_taxel * n
        pads.append(RawPad(index, rows, cols, counts, shear_xy))
    if offset != size:
        return None
    return RawFrame(board_id=0, sequence=0, device_time_us=0, pads=pads)


@dataclass(frozen=True)
class _Expected:
    rows: int
    cols: int
    name: str


class FrameValidator:
    """Checks decoded frames against the layout a backend expects (board id, pads, grids).

    Args:
        board_id: Expected board id.
        pads: Expected pads in board order: objects with ``rows``, ``cols`` and optionally
            ``name`` (e.g. ``PadShape``).

    Attributes:
        wrong_layout: Frames for which :meth:`check` returned a reason.
        last_reason: The latest reason, or None.
    """

    def __init__(self, board_id: int, pads) -> None:
        self.board_id = int(board_id)
        self._pads = tuple(
            _Expected(int(p.rows), int(p.cols), str(getattr(p, "name", i)))
            for i, p in enumerate(pads)
        )
        self.wrong_layout = 0
        self.last_reason: str | None = None

    @classmethod
    def from_context(cls, context) -> FrameValidator:
        """A validator for a ``BackendContext`` (its ``board_id`` and ``pads``)."""
        return cls(context.board_id, context.pads)

    def check(self, frame: RawFrame) -> str | None:
        """None if the frame matches the layout, else the reason (and ``wrong_layout`` += 1)."""
        reason = layout_error(frame, self.board_id, self._pads)
        if reason is not None:
            self.wrong_layout += 1
            self.last_reason = reason
        return reason


def layout_error(frame: RawFrame, board_id: int, pads) -> str | None:
    """Why ``frame`` does not match the expected board id and pads, or None if it does.

    Args:
        frame: A decoded frame.
        board_id: Expected board id.
        pads: Expected pads in board order (with ``rows``, ``cols``, optionally ``name``).
    """
    if frame.board_id != board_id:
        return f"wrong board id: {frame.board_id}, expected {board_id}"
    if len(frame.pads) != len(pads):
        return f"wrong pad count: {len(frame.pads)}, expected {len(pads)}"
    for i, (pad, expected) in enumerate(zip(frame.pads, pads, strict=True)):
        name = getattr(expected, "name", i)
        if pad.index != i:
            return f"wrong pad index: pad {i} ({name}) has index {pad.index}"
        if pad.rows != expected.rows or pad.cols != expected.cols:
            return (
                f"wrong pad shape: pad {i} ({name}) is {pad.rows}x{pad.cols}, "
                f"expected {expected.rows}x{expected.cols}"
            )
    return None
