#!/usr/bin/env python3
"""Cost of the e-skin wire protocol on the host: decode (+ layout check) and encode per frame.

A Dex3 hand (6 pads, 108 taxels, 258-byte frames; 690 with shear) at 1 kHz, two hands: the
decoder must stay well under 100 us per frame. Prints a table and a final JSON line; no asserts.
Not collected by pytest (the name does not start with test_).

Usage: python src/tactile_driver/test/bench_protocol.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tactile_driver.backends.base import PadShape
from tactile_driver.core.frames import RawFrame, RawPad
from tactile_driver.core.protocol import FrameDecoder, FrameValidator, encode_frame

SHAPES = [(3, 6), (3, 6), (3, 6), (3, 4), (3, 4), (6, 5)]


def frames_of(board: int, n: int, shear: bool, rng) -> list[RawFrame]:
    out = []
    for seq in range(n):
        pads = [
            RawPad(
                i,
                r,
                c,
                rng.integers(900, 4000, r * c).astype(np.uint16),
                rng.integers(-500, 500, (2, r * c)).astype(np.int16) if shear else None,
            )
            for i, (r, c) in enumerate(SHAPES)
        ]
        out.append(RawFrame(board, seq, seq * 1000, pads))
    return out


def bench(n: int, shear: bool, chunk: int | None) -> dict:
    rng = np.random.default_rng(0)
    hands = {board: frames_of(board, n // 2, shear, rng) for board in (1, 2)}
    t0 = time.perf_counter()
    streams = {b: [encode_frame(f) for f in frames] for b, frames in hands.items()}
    encode_us = (time.perf_counter() - t0) / n * 1e6
    pads = tuple(PadShape(str(i), r, c) for i, (r, c) in enumerate(SHAPES))
    decoders = {b: FrameDecoder() for b in hands}
    validators = {b: FrameValidator(b, pads) for b in hands}
    if chunk is None:  # one read per frame, hands interleaved as two ports at 1 kHz each
        reads = [(b, streams[b][k]) for k in range(n // 2) for b in (1, 2)]
    else:  # big reads (a reader that fell behind)
        reads = []
        for b in (1, 2):
            data = b"".join(streams[b])
            reads += [(b, data[i : i + chunk]) for i in range(0, len(data), chunk)]
    decoded = 0
    t0 = time.perf_counter()
    for board, data in reads:
        for frame in decoders[board].feed(data, 0):
            validators[board].check(frame)
            decoded += 1
    decode_us = (time.perf_counter() - t0) / decoded * 1e6
    assert decoded == n and all(v.wrong_layout == 0 for v in validators.values())
    return {
        "shear": shear,
        "read": "per frame" if chunk is None else f"{chunk} B",
        "frame_bytes": len(streams[1][0]),
        "decode_us": round(decode_us, 2),
        "encode_us": round(encode_us, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    args = parser.parse_args()
    rows = [bench(args.frames, shear, chunk) for shear in (False, True) for chunk in (None, 4096)]
    print(f"{'shear':>6} {'read':>10} {'bytes':>6} {'decode+check us':>16} {'encode us':>10}")
    for r in rows:
        print(
            f"{r['shear']!s:>6} {r['read']:>10} {r['frame_bytes']:>6} "
            f"{r['decode_us']:>16.2f} {r['encode_us']:>10.2f}"
        )
    print(json.dumps({"bench": "tactile_protocol", "per_frame": rows}))


if __name__ == "__main__":
    main()
