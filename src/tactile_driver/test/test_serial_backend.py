"""The serial backend against the e-skin emulator, through real pseudo-terminals.

Every test pushes real bytes through a pty: PtyEmulator in a thread, or the tactile_emulator
console script in a subprocess. Waits are bounded; nothing asserts on timing.
"""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tactile_driver.backends.base import BackendContext, BackendError, PadShape
from tactile_driver.backends.registry import load_backend
from tactile_driver.backends.serial_backend import SerialBackend
from tactile_driver.core.protocol import encode_frame, frame_crc_ok
from tactile_driver.emulator import PtyEmulator, load_pad_shapes, pattern_counts

REPO = Path(__file__).resolve().parents[3]
ROBOT_YAML = REPO / "config" / "robots" / "g1_dex3.yaml"
SHAPES = load_pad_shapes(ROBOT_YAML, "right_hand")
BOARD_ID = 3
CONTEXT = BackendContext(
    skin="right_hand",
    board_id=BOARD_ID,
    pads=tuple(PadShape(f"pad{i}", r, c) for i, (r, c) in enumerate(SHAPES)),
)
N_FRAMES = 300  # per fault test, 0.3 s at 1 kHz; not a multiple of any fault period below


def _wait_until(predicate, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def _check_frames(frames) -> None:
    """Every returned frame is intact (re-encodes with a valid CRC) and has the context's layout."""
    for frame in frames:
        assert frame_crc_ok(encode_frame(frame))
        assert frame.board_id == BOARD_ID
        assert [(p.index, p.rows, p.cols) for p in frame.pads] == [
            (i, r, c) for i, (r, c) in enumerate(SHAPES)
        ]
        assert all(p.counts.shape == (p.rows * p.cols,) for p in frame.pads)
        assert frame.receive_time_ns > 0


def _expected(log) -> dict[str, int]:
    """What the backend can know of what the emulator did (from its log of sequence numbers):
    the gaps between sequence numbers that arrived, and the damaged frames that something was
    written after (a truncated frame at the very end of the stream stays pending)."""
    written = [i for i, (_, kind) in enumerate(log) if kind not in ("skipped", "dropped_full")]
    arrived = [seq for seq, kind in log if kind in ("good", "wrong_pads")]
    failed = sum(
        1
        for i, (_, kind) in enumerate(log)
        if kind == "corrupted" or (kind == "truncated" and i < written[-1])
    )
    return {"dropped_frames": arrived[-1] - arrived[0] + 1 - len(arrived), "failed": failed}


def _run(tmp_path, **emulator_options):
    """Emulate N_FRAMES frames with the given faults; return (frames read, backend stats, emulator
    counters) once every intact frame has been read."""
    link = tmp_path / "skin"
    emulator = PtyEmulator(
        link,
        SHAPES,
        board_id=BOARD_ID,
        max_frames=N_FRAMES,
        seed=7,
        record=True,
        **emulator_options,
    )
    emulator.open()
    backend = SerialBackend({"port": str(link)}, CONTEXT)
    backend.start()
    frames = []
    try:
        # Connect first: opening a port flushes what is already buffered in it.
        _wait_until(lambda: backend.stats()["connected"] == 1.0, what="connection")
        emulator.start()
        deadline = time.monotonic() + 15.0
        while not (emulator.finished.is_set() and len(frames) >= emulator.counters["good"]):
            assert time.monotonic() < deadline, (len(frames), emulator.counters)
            frames += backend.read(0.2)
        frames += backend.read(0.05)  # nothing more should come
        stats = backend.stats()
    finally:
        backend.stop()
        emulator.stop()
    _check_frames(frames)
    counters = emulator.counters
    assert len(frames) == counters["good"] == stats["frames"]
    assert stats["wrong_layout"] == counters["wrong_pads"]
    assert stats["dropped_queue"] == 0
    expected = _expected(emulator.log)
    # Frames missing from the sequence: lost to faults, or dropped by the emulator when the pty
    # buffer was full (a loaded machine); exact either way.
    assert stats["dropped_frames"] == expected["dropped_frames"]
    counters = dict(counters, failed=expected["failed"])
    return frames, stats, counters


def test_idle_frames_flow_with_the_context_layout(tmp_path):
    frames, stats, counters = _run(tmp_path, pattern="idle")
    assert counters["good"] == N_FRAMES - counters["dropped_full"]
    assert stats["crc_errors"] == stats["bad_headers"] == stats["resyncs"] == 0
    assert stats["garbage_bytes"] == 0
    assert stats["disconnects"] == stats["reconnects"] == 0
    sequences = [f.sequence for f in frames]
    assert sequences == sorted(sequences)
    counts = np.concatenate([p.counts for f in frames for p in f.pads]).astype(float)
    assert abs(counts.mean() - 1000.0) < 5.0 and counts.std() < 10.0


def test_press_pattern_loads_a_pad(tmp_path):
    frames, _, _ = _run(tmp_path, pattern="press")
    peak = max(int(p.counts.max()) for f in frames for p in f.pads)
    assert peak > 1300  # a press well above the 1000-count offset


def test_slip_pattern_with_shear(tmp_path):
    frames, _, _ = _run(tmp_path, pattern="slip", shear=True)
    tip = [f.pads[1] for f in frames]  # the index fingertip, 3x6
    assert all(p.shear is not None and p.shear.shape == (2, 18) for p in tip)
    columns = {int(np.argmax(p.counts.reshape(3, 6).max(axis=0))) for p in tip}
    assert len(columns) >= 4  # the contact sweeps across the pad
    assert max(int(p.shear[0].max()) for p in tip) > 200  # traction along the sweep


def test_corrupted_frames_are_counted_and_never_returned(tmp_path):
    _, stats, counters = _run(tmp_path, corrupt_every=7)
    assert counters["corrupted"] > 0
    assert stats["crc_errors"] == counters["corrupted"]
    assert stats["resyncs"] == counters["corrupted"]
    if counters["dropped_full"] == 0:
        assert stats["dropped_frames"] == counters["corrupted"]


def test_truncated_frames_cost_only_themselves(tmp_path):
    _, stats, counters = _run(tmp_path, truncate_every=11)
    assert counters["truncated"] > 0
    assert stats["crc_errors"] + stats["bad_headers"] == counters["failed"]
    if counters["dropped_full"] == 0:
        assert stats["crc_errors"] == stats["dropped_frames"] == counters["truncated"]


def test_garbage_between_frames_is_skipped(tmp_path):
    _, stats, counters = _run(tmp_path, garbage_every=13)
    assert counters["garbage_bursts"] > 0
    assert stats["garbage_bytes"] == counters["garbage_bytes"]
    assert stats["resyncs"] == counters["garbage_bursts"]


def test_wrong_layout_frames_are_rejected(tmp_path):
    _, stats, counters = _run(tmp_path, wrong_pads_every=9)
    assert counters["wrong_pads"] > 0
    assert stats["wrong_layout"] == counters["wrong_pads"]
    assert stats["frames_decoded"] == counters["frames"]
    assert stats["crc_errors"] == 0
    if counters["dropped_full"] == 0:
        assert stats["dropped_frames"] == 0  # their sequence numbers arrived


def test_skipped_sequence_numbers_are_dropped_frames(tmp_path):
    _, stats, counters = _run(tmp_path, drop_every=17)
    assert counters["skipped_sequences"] > 0
    assert stats["crc_errors"] == 0
    if counters["dropped_full"] == 0:
        assert stats["dropped_frames"] == counters["skipped_sequences"]


def test_all_faults_at_once(tmp_path):
    _, stats, counters = _run(
        tmp_path,
        pattern="slip",
        shear=False,
        corrupt_every=7,
        truncate_every=8,
        garbage_every=13,
        wrong_pads_every=9,
        drop_every=11,
    )
    assert stats["crc_errors"] + stats["bad_headers"] >= counters["failed"]
    assert stats["garbage_bytes"] >= counters["garbage_bytes"]
    if counters["dropped_full"] == 0:
        lost = counters["corrupted"] + counters["truncated"] + counters["skipped_sequences"]
        assert stats["dropped_frames"] == lost


def test_device_disappears_and_comes_back(tmp_path):
    link = tmp_path / "skin"
    emulator = PtyEmulator(
        link, SHAPES, board_id=BOARD_ID, seed=1, close_after=0.3, reopen_after=0.3
    )
    backend = SerialBackend(
        {"port": str(link), "reconnect_min_s": 0.02, "reconnect_max_s": 0.1}, CONTEXT
    )
    emulator.start()
    backend.start()
    frames = []
    try:
        _wait_until(lambda: backend.stats()["connected"] == 1.0, what="connection")
        _wait_until(lambda: backend.read(0.1) != [], what="first frames")
        _wait_until(lambda: backend.stats()["connected"] == 0.0, what="device loss")
        assert backend.stats()["disconnects"] >= 1
        _wait_until(lambda: backend.stats()["reconnects"] >= 1, what="reconnection")
        _wait_until(lambda: backend.stats()["connected"] == 1.0, what="connected again")
        deadline = time.monotonic() + 5.0
        while len(frames) < 50:  # frames flow again after the reconnection
            assert time.monotonic() < deadline, backend.stats()
            frames += backend.read(0.2)
        stats = backend.stats()
    finally:
        backend.stop()
        emulator.stop()
    _check_frames(frames)
    assert stats["disconnects"] >= 1 and stats["reconnects"] >= 1
    assert emulator.counters["closes"] >= 1 and emulator.counters["reopens"] >= 1


def test_port_missing_at_start_then_appearing(tmp_path):
    link = tmp_path / "late"
    backend = SerialBackend(
        {"port": str(link), "reconnect_min_s": 0.01, "reconnect_max_s": 0.05}, CONTEXT
    )
    backend.start()
    try:
        assert backend.read(0.05) == []
        assert backend.stats()["connected"] == 0.0
        _wait_until(lambda: backend.stats()["open_errors"] >= 1, what="an open attempt")
        with PtyEmulator(link, SHAPES, board_id=BOARD_ID).start():
            _wait_until(lambda: backend.read(0.1) != [], what="frames")
            stats = backend.stats()
    finally:
        backend.stop()
    assert stats["reconnects"] == 0  # a first connection is not a reconnection


def test_queue_overflow_is_counted(tmp_path):
    link = tmp_path / "skin"
    with PtyEmulator(link, SHAPES, board_id=BOARD_ID, max_frames=200) as emulator:
        emulator.open()
        backend = SerialBackend({"port": str(link), "queue_size": 8}, CONTEXT)
        backend.start()
        try:
            _wait_until(lambda: backend.stats()["connected"] == 1.0, what="connection")
            emulator.start()
            _wait_until(lambda: backend.stats()["frames"] >= 200, what="all frames")
            frames = backend.read(0.0)
            stats = backend.stats()
        finally:
            backend.stop()
    assert len(frames) == 8
    assert stats["dropped_queue"] == stats["frames"] - 8
    assert frames[-1].sequence == 199


def test_stop_wakes_a_waiting_read_and_read_after_stop_returns(tmp_path):
    backend = SerialBackend({"port": str(tmp_path / "none")}, CONTEXT)
    backend.start()
    backend.stop()
    assert backend.read(1.0) == []


@pytest.mark.parametrize(
    "options, message",
    [
        ({"port": "/dev/null", "speed": 1}, "unknown options \\['speed'\\]"),
        ({}, "'port' is required"),
        ({"port": "/dev/x", "baudrate": -1}, "baudrate"),
        ({"port": "/dev/x", "queue_size": 1.5}, "queue_size"),
        ({"port": "/dev/x", "reconnect_min_s": 1.0, "reconnect_max_s": 0.5}, "reconnect_max_s"),
        ({"port": "/dev/x", "reconnect_min_s": "fast"}, "reconnect_min_s"),
    ],
)
def test_bad_options_raise_backend_error(options, message):
    with pytest.raises(BackendError, match=message):
        SerialBackend(options, CONTEXT)


def test_registry_finds_the_serial_backend():
    # Needs the package built (colcon) so that the entry point is installed.
    assert load_backend("serial") is SerialBackend


def test_pattern_counts_follow_the_documented_convention():
    rng = np.random.default_rng(0)
    idle = pattern_counts("idle", SHAPES, 0.0, rng, noise_counts=0.0)
    assert all(c.dtype == np.uint16 and (c == 1000).all() for c in idle)
    # Mid-press of the first pad (pads take 2 s turns): up to 60 kPa -> +1800 counts.
    press = pattern_counts("press", SHAPES, 1.0, rng, noise_counts=0.0)
    assert 1000 + 30 * 30 < press[0].max() <= 1000 + 30 * 60
    assert all((c == 1000).all() for c in press[1:])
    press = pattern_counts("press", SHAPES, 3.0, rng, noise_counts=0.0)  # the second pad's turn
    assert press[1].max() > 1000 + 30 * 30 and (press[0] == 1000).all()
    with pytest.raises(ValueError, match="unknown pattern"):
        pattern_counts("wave", SHAPES, 0.0, rng)


def test_emulator_drops_frames_when_nobody_reads(tmp_path):
    """A full pty buffer never blocks the writer: frames are dropped and counted."""
    emulator = PtyEmulator(tmp_path / "skin", SHAPES, rate_hz=5000.0, max_frames=1500)
    emulator.start()
    try:
        assert emulator.finished.wait(20.0)
    finally:
        emulator.stop()
    counters = emulator.counters
    assert counters["dropped_full"] > 0
    assert counters["frames"] + counters["dropped_full"] == 1500


def test_emulator_duration_ends_the_run(tmp_path):
    emulator = PtyEmulator(tmp_path / "skin", SHAPES, duration=0.1)
    emulator.run()  # returns on its own
    assert emulator.finished.is_set()
    emulator.close()
    assert not (tmp_path / "skin").exists()


def test_console_script_emulator_through_a_pty(tmp_path):
    link = tmp_path / "skin"
    command = [
        sys.executable,
        "-m",
        "tactile_driver.emulator",
        "--link",
        str(link),
        "--robot",
        str(ROBOT_YAML),
        "--skin",
        "right_hand",
        "--board-id",
        str(BOARD_ID),
        "--pattern",
        "press",
        "--duration",
        "30",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    backend = None
    try:
        ready, _, _ = select.select([process.stdout], [], [], 20.0)
        assert ready, "no READY line from tactile_emulator"
        assert process.stdout.readline().strip() == f"READY {link}"
        assert os.path.realpath(link).startswith("/dev/")
        backend = SerialBackend({"port": str(link)}, CONTEXT)
        backend.start()
        frames = []
        deadline = time.monotonic() + 10.0
        while len(frames) < 200:
            assert time.monotonic() < deadline, backend.stats()
            frames += backend.read(0.2)
        _check_frames(frames)
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # the emulator prints every thread's stack
            time.sleep(1.0)
            process.kill()
            raise AssertionError(f"no exit 10 s after SIGINT: {process.communicate()[1]}") from None
        assert code == 0
        assert "STOPPED" in process.stderr.read()
    finally:
        if backend is not None:
            backend.stop()
        if process.poll() is None:
            process.kill()
            process.wait()
