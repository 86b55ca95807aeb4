"""humanoid_common.lifecycle: the exit codes every node promises to launch and to the tests.

The fixture node takes a 1 kHz stream of large messages, so a stop signal lands mid-callback
or mid-conversion; with rclpy's default signal handling that sometimes ended in
``RuntimeError: Unable to convert call argument '0' to Python object`` and exit code 1.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lifecycle_node.py"


def start(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(FIXTURE), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    """Lines read until one contains ``text``; fails if the process ends or time runs out."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if text in line:
            return lines
    process.kill()
    raise AssertionError(f"no {text!r} from the fixture; output:\n" + "\n".join(lines))


def finish(process: subprocess.Popen[str], timeout: float = 15.0) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError("the node did not stop within 15 s:\n" + output) from None
    return process.returncode, output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_stream_is_a_clean_stop(signum: signal.Signals) -> None:
    rng = random.Random(7)
    for attempt in range(8):
        process = start("stream")
        wait_for_line(process, "receiving", 30.0)
        time.sleep(rng.uniform(0.0, 0.2))
        process.send_signal(signum)
        code, output = finish(process)
        assert code == 0, f"attempt {attempt}: exit code {code}\n{output}"
        assert "stopped after" in output, output
        assert "Traceback" not in output, output


def test_a_second_signal_during_clean_up_does_not_kill_the_node() -> None:
    process = start("stream")
    wait_for_line(process, "receiving", 30.0)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGTERM)
    code, output = finish(process)
    assert code == 0, output
    assert "stopped after" in output


def test_a_refusal_exits_2_with_the_reason() -> None:
    code, output = finish(start("refuse"))
    assert code == 2
    assert "lifecycle_fixture: refusing to start: parameter 'rate_hz' must be > 0" in output
    assert "Traceback" not in output


def test_a_signal_while_the_node_is_built_stops_it_cleanly() -> None:
    process = start("slow")
    wait_for_line(process, "building", 30.0)
    process.send_signal(signal.SIGINT)
    code, output = finish(process)
    assert code == 0, output
    # It was never started, so it is not stopped either; it never spins.
    assert "started" not in output
    assert "receiving" not in output


def test_sigusr1_prints_every_threads_stack_and_the_node_runs_on() -> None:
    """A hung node can be asked where it hangs (the harness does before a SIGKILL)."""
    process = start("stream")
    wait_for_line(process, "receiving", 30.0)
    process.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    code, output = finish(process)
    assert code == 0, output
    assert "Current thread" in output or "Thread 0x" in output, output
    assert "lifecycle_node.py" in output or "lifecycle.py" in output, output
    assert "stopped after" in output
