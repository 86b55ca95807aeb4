"""Tests of the e-skin wire protocol: CRC, encoder, streaming decoder, layout validator."""

import struct

import numpy as np
import pytest

from tactile_driver.backends.base import PadShape
from tactile_driver.core.frames import RawFrame, RawPad
from tactile_driver.core.protocol import (
    HEADER_SIZE,
    MAX_PAYLOAD,
    FrameDecoder,
    FrameValidator,
    crc16,
    encode_frame,
    frame_crc_ok,
    layout_error,
)

SHAPES = [(3, 6), (3, 6), (3, 6), (3, 4), (3, 4), (6, 5)]  # a Dex3 hand
CONTEXT_PADS = tuple(PadShape(f"pad{i}", r, c) for i, (r, c) in enumerate(SHAPES))


def _bitwise_crc(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _frame(seq: int, rng: np.random.Generator, shear: bool = False, shapes=SHAPES, board=1):
    pads = []
    for i, (r, c) in enumerate(shapes):
        counts = rng.integers(0, 65536, r * c).astype(np.uint16)
        values = rng.integers(-32768, 32768, (2, r * c)).astype(np.int16) if shear else None
        pads.append(RawPad(i, r, c, counts, values))
    return RawFrame(board, seq, (seq * 1000) & 0xFFFFFFFF, pads)


def _assert_same(a: RawFrame, b: RawFrame) -> None:
    assert (a.board_id, a.sequence, a.device_time_us) == (b.board_id, b.sequence, b.device_time_us)
    assert len(a.pads) == len(b.pads)
    for pa, pb in zip(a.pads, b.pads, strict=True):
        assert (pa.index, pa.rows, pa.cols) == (pb.index, pb.rows, pb.cols)
        np.testing.assert_array_equal(pa.counts, pb.counts)
        assert pa.counts.dtype == np.uint16
        if pb.shear is None:
            assert pa.shear is None
        else:
            assert pa.shear.shape == (2, pa.rows * pa.cols) and pa.shear.dtype == np.int16
            np.testing.assert_array_equal(pa.shear, pb.shear)


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 258):
        data = rng.integers(0, 256, n, np.uint8).tobytes()
        assert crc16(data) == _bitwise_crc(data)


def test_worked_example_of_the_spec():
    frame = RawFrame(7, 0x01020304, 0x0A0B0C0D, [RawPad(0, 1, 2, np.array([1000, 4000]))])
    data = encode_frame(frame)
    assert data.hex() == "a55a0107040302010d0c0b0a0100080000010200e803a00fa613"
    assert struct.unpack_from("<H", data, len(data) - 2)[0] == _bitwise_crc(data[2:-2])


@pytest.mark.parametrize("shear", [False, True])
def test_round_trip(shear):
    rng = np.random.default_rng(1)
    frames = [_frame(seq, rng, shear) for seq in (0, 1, 0xFFFFFFFF)]
    decoder = FrameDecoder()
    data = b"".join(encode_frame(f) for f in frames)
    assert len(encode_frame(frames[0])) == 16 + 6 * 4 + (6 if shear else 2) * 108 + 2
    out = decoder.feed(data, receive_time_ns=42)
    assert len(out) == 3
    for got, sent in zip(out, frames, strict=True):
        _assert_same(got, sent)
        assert got.receive_time_ns == 42
    assert decoder.counters() == {
        "frames": 3,
        "crc_errors": 0,
        "bad_headers": 0,
        "malformed": 0,
        "resyncs": 0,
        "garbage_bytes": 0,
        "bytes_in": len(data),
    }
    assert decoder.pending == 0


def test_empty_frame_round_trip():
    decoder = FrameDecoder()
    (got,) = decoder.feed(encode_frame(RawFrame(3, 9, 10, [])))
    assert (got.board_id, got.sequence, got.pads) == (3, 9, [])


def test_encoder_rejects_unrepresentable_frames():
    good = RawPad(0, 1, 2, np.array([1, 2]))
    with pytest.raises(ValueError, match="counts outside"):
        encode_frame(RawFrame(1, 0, 0, [RawPad(0, 1, 2, np.array([1, 70000]))]))
    with pytest.raises(ValueError, match="expected rows\\*cols"):
        encode_frame(RawFrame(1, 0, 0, [RawPad(0, 2, 2, np.array([1, 2]))]))
    with pytest.raises(ValueError, match="shear flag is per frame"):
        shear_pad = RawPad(1, 1, 2, np.array([1, 2]), np.zeros((2, 2), np.int16))
        encode_frame(RawFrame(1, 0, 0, [good, shear_pad]))
    with pytest.raises(ValueError, match="shear outside int16"):
        shear_pad = RawPad(0, 1, 2, np.array([1, 2]), np.array([[0, 40000], [0, 0]]))
        encode_frame(RawFrame(1, 0, 0, [shear_pad]))
    with pytest.raises(ValueError, match="board_id"):
        encode_frame(RawFrame(256, 0, 0, [good]))
    with pytest.raises(ValueError, match="payload"):
        encode_frame(RawFrame(1, 0, 0, [RawPad(0, 100, 50, np.zeros(5000, np.uint16))]))


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 17, 100, 257, 1000])
def test_decode_across_chunk_boundaries(chunk):
    rng = np.random.default_rng(chunk)
    frames = [_frame(seq, rng, shear=seq % 2 == 1) for seq in range(8)]
    data = b"".join(encode_frame(f) for f in frames)
    decoder = FrameDecoder()
    out = []
    for start in range(0, len(data), chunk):
        out += decoder.feed(data[start : start + chunk])
    assert len(out) == len(frames)
    for got, sent in zip(out, frames, strict=True):
        _assert_same(got, sent)
    assert decoder.crc_errors == decoder.resyncs == decoder.garbage_bytes == 0


def test_random_chunking_of_a_faulty_stream():
    """Same decoded frames and counters however the stream is cut."""
    rng = np.random.default_rng(5)
    parts = []
    for seq in range(60):
        data = encode_frame(_frame(seq, rng))
        if seq % 5 == 1:
            data = data[: len(data) // 2]
        parts.append(data)
        if seq % 7 == 3:
            parts.append(bytes([0x00, 0xA5, 0x13, 0xA5]))
    stream = b"".join(parts)
    reference = FrameDecoder()
    expected = [f.sequence for f in reference.feed(stream)]
    assert len(expected) == 60 - 12
    for trial in range(20):
        decoder = FrameDecoder()
        got, pos = [], 0
        while pos < len(stream):
            n = int(rng.integers(1, 600))
            got += [f.sequence for f in decoder.feed(stream[pos : pos + n])]
            pos += n
        assert got == expected, trial
        assert decoder.counters() == reference.counters()


def test_corrupted_byte_drops_only_that_frame():
    rng = np.random.default_rng(2)
    frames = [_frame(seq, rng) for seq in range(3)]
    encoded = [bytearray(encode_frame(f)) for f in frames]
    encoded[1][40] ^= 0x01
    decoder = FrameDecoder()
    out = decoder.feed(b"".join(encoded))
    assert [f.sequence for f in out] == [0, 2]
    assert decoder.crc_errors == 1
    assert decoder.resyncs == 1
    assert decoder.garbage_bytes == len(encoded[1])
    assert decoder.bad_headers == 0


@pytest.mark.parametrize("keep", [1, 2, 15, 16, 17, 100, 257])
def test_truncated_frame_then_good_frames(keep):
    rng = np.random.default_rng(3)
    frames = [_frame(seq, rng) for seq in range(4)]
    encoded = [encode_frame(f) for f in frames]
    stream = encoded[0] + encoded[1][:keep] + encoded[2] + encoded[3]
    decoder = FrameDecoder()
    out = decoder.feed(stream)
    assert [f.sequence for f in out] == [0, 2, 3]
    assert decoder.garbage_bytes == keep
    assert decoder.resyncs == 1
    assert decoder.crc_errors + decoder.bad_headers <= 1


def test_garbage_between_frames_is_skipped_and_counted():
    rng = np.random.default_rng(4)
    frames = [_frame(seq, rng) for seq in range(3)]
    garbage = [b"\x00\x01\x02", b"\xa5", b"\xa5\x5a\x09" + b"\xff" * 20]
    stream = garbage[0] + encode_frame(frames[0]) + garbage[1] + encode_frame(frames[1])
    stream += garbage[2] + encode_frame(frames[2])
    decoder = FrameDecoder()
    out = decoder.feed(stream)
    assert [f.sequence for f in out] == [0, 1, 2]
    assert decoder.garbage_bytes == sum(len(g) for g in garbage)
    assert decoder.resyncs == 3
    assert decoder.bad_headers == 1  # the fake sync word with version 9


def test_bad_version_and_absurd_length_resync():
    rng = np.random.default_rng(6)
    good = encode_frame(_frame(7, rng))
    bad_version = bytearray(good)
    bad_version[2] = 2
    bad_length = bytearray(good)
    struct.pack_into("<H", bad_length, 14, MAX_PAYLOAD + 1)
    bad_flags = bytearray(good)
    bad_flags[13] = 0x80
    too_short = bytearray(good)
    struct.pack_into("<H", too_short, 14, 4 * 6 - 1)
    decoder = FrameDecoder()
    out = []
    for bad in (bad_version, bad_length, bad_flags, too_short):
        out += decoder.feed(bytes(bad) + good)
    assert [f.sequence for f in out] == [7] * 4
    assert decoder.bad_headers == 4
    assert decoder.crc_errors == 0
    assert decoder.resyncs == 4
    assert decoder.pending == 0


def test_huge_claimed_length_does_not_stall():
    """A header claiming MAX_PAYLOAD only delays the following frames until it is disproved."""
    rng = np.random.default_rng(7)
    fake = bytearray(encode_frame(_frame(1, rng))[:HEADER_SIZE])
    struct.pack_into("<H", fake, 14, MAX_PAYLOAD)
    decoder = FrameDecoder()
    good = [encode_frame(_frame(seq, rng)) for seq in range(2, 60)]
    out = decoder.feed(bytes(fake))
    for data in good:
        out += decoder.feed(data)
    assert [f.sequence for f in out] == list(range(2, 60))
    assert decoder.crc_errors == 1


def test_crc_valid_but_inconsistent_payload_is_malformed():
    # One pad declared, payload of 8 bytes, but the block claims 2x2 taxels (needs 12 bytes).
    body = struct.pack("<BBIIBBH", 1, 1, 5, 0, 1, 0, 8) + bytes([0, 2, 2, 0]) + b"\x01\x00\x02\x00"
    data = b"\xa5\x5a" + body + struct.pack("<H", crc16(body))
    rng = np.random.default_rng(8)
    decoder = FrameDecoder()
    out = decoder.feed(data + encode_frame(_frame(6, rng)))
    assert [f.sequence for f in out] == [6]
    assert decoder.malformed == 1 and decoder.crc_errors == 0


def test_fuzz_random_garbage_never_raises_and_emits_only_valid_frames():
    rng = np.random.default_rng(1234)
    decoder = FrameDecoder()
    emitted = 0
    for _ in range(10_000):
        n = int(rng.integers(0, 64))
        chunk = rng.integers(0, 256, n, np.uint8)
        if rng.random() < 0.2:  # make sync words and plausible headers frequent
            chunk = np.concatenate([[0xA5, 0x5A, 1], chunk]).astype(np.uint8)
        for frame in decoder.feed(chunk.tobytes()):
            emitted += 1
            assert frame_crc_ok(encode_frame(frame))
    assert decoder.bytes_in > 0
    assert decoder.garbage_bytes + decoder.pending <= decoder.bytes_in
    assert emitted == decoder.frames


def test_fuzz_mutated_streams():
    """Bit flips, deletions and insertions in a real stream: every emitted frame is one sent."""
    rng = np.random.default_rng(99)
    frames = [_frame(seq, rng, shear=seq % 3 == 0, shapes=[(2, 3), (1, 4)]) for seq in range(400)]
    sent = {f.sequence: encode_frame(f) for f in frames}
    stream = bytearray(b"".join(sent.values()))
    for _ in range(300):
        pos = int(rng.integers(0, len(stream)))
        op = rng.integers(0, 3)
        if op == 0:
            stream[pos] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            del stream[pos : pos + int(rng.integers(1, 30))]
        else:
            stream[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 30)), np.uint8).tobytes()
    decoder = FrameDecoder()
    out = []
    pos = 0
    while pos < len(stream):
        n = int(rng.integers(1, 200))
        out += decoder.feed(bytes(stream[pos : pos + n]))
        pos += n
    assert len(out) > 100
    for frame in out:
        assert encode_frame(frame) == sent[frame.sequence]
    assert decoder.crc_errors + decoder.bad_headers > 0


def test_reset_discards_buffer():
    rng = np.random.default_rng(10)
    data = encode_frame(_frame(1, rng))
    decoder = FrameDecoder()
    assert decoder.feed(data[:50]) == []
    decoder.reset()
    assert decoder.garbage_bytes == 50 and decoder.pending == 0
    assert [f.sequence for f in decoder.feed(data)] == [1]


def test_validator_reports_layout_errors():
    rng = np.random.default_rng(11)
    validator = FrameValidator(1, CONTEXT_PADS)
    assert validator.check(_frame(0, rng)) is None

    missing = _frame(1, rng)
    missing.pads.pop()
    assert validator.check(missing) == "wrong pad count: 5, expected 6"

    wrong_board = _frame(2, rng, board=2)
    assert validator.check(wrong_board).startswith("wrong board id")

    shapes = list(SHAPES)
    shapes[5] = (5, 6)
    wrong_shape = _frame(3, rng, shapes=shapes)
    reason = validator.check(wrong_shape)
    assert reason.startswith("wrong pad shape") and "pad5" in reason and "expected 6x5" in reason

    swapped = _frame(4, rng)
    swapped.pads[0].index = 3
    assert validator.check(swapped).startswith("wrong pad index")

    assert validator.wrong_layout == 4
    assert layout_error(_frame(5, rng), 1, CONTEXT_PADS) is None
