"""tools/fetch_run.py without a graph: stack detection, arguments, the brain's answers, the
recorder's command line, and the figures read back from a recording.

The whole run (stack, recorder, /brain/start, watching) is exercised by ``make demo`` and
``bench/scenario.py``; a test of it would take minutes of the shared machine's two cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import fetch_run  # noqa: E402


def test_stack_has_brain_follows_stack_yaml():
    assert fetch_run.stack_has_brain("brain") is True
    assert fetch_run.stack_has_brain("tactile") is False
    assert fetch_run.stack_has_brain("no_such_stack") is False


def test_launch_arguments():
    parsed = fetch_run.parse_launch_arguments(["tactile_backend:=sim", "seed:=3", "x:=a:=b"])
    assert parsed == {"tactile_backend": "sim", "seed": "3", "x": "a:=b"}
    for bad in (["tactile_backend=sim"], [":=3"]):
        with pytest.raises(ValueError, match="NAME:=VALUE"):
            fetch_run.parse_launch_arguments(bad)


def test_parameter_overrides():
    parsed = fetch_run.parse_parameter_overrides(
        ["vision_node.target_class:=sphere", "humanoid_sim.real_time_factor:=2.0", "a.n:=3"]
    )
    assert parsed == {
        "vision_node": {"target_class": "sphere"},
        "humanoid_sim": {"real_time_factor": 2.0},
        "a": {"n": 3},
    }
    for bad in (["target_class:=sphere"], ["vision_node.:=x"], ["vision_node.x=1"]):
        with pytest.raises(ValueError, match="NODE.PARAMETER:=VALUE"):
            fetch_run.parse_parameter_overrides(bad)


def test_limits_of_a_task(tmp_path):
    options = fetch_run.FetchOptions(tmp_path, timeout_s=60.0, stall_timeout_s=30.0)
    assert fetch_run._limit_reached(options, 59.0, 5000.0, 29.0) is None  # slow is no failure
    assert "60 s of sim time" in fetch_run._limit_reached(options, 61.0, 10.0, 0.0)
    assert "stalled" in fetch_run._limit_reached(options, 10.0, 100.0, 31.0)
    options.wall_timeout_s = 600.0
    assert "600 s of wall time" in fetch_run._limit_reached(options, 10.0, 601.0, 0.0)


def test_task_number_from_the_brains_answer():
    assert fetch_run._task_number("fetch task 3 started") == 3
    assert fetch_run._task_number("a task is running (state APPROACH)") is None


def test_recorder_records_on_sim_time(tmp_path):
    spec = fetch_run.recorder_spec(tmp_path / "bag", fetch_run.REPORT_TOPICS)
    assert (spec.package, spec.executable) == ("humanoid_bag", "record")
    assert spec.overrides == {"use_sim_time": True}
    topics = spec.arguments[spec.arguments.index("--topics") + 1 :]
    assert tuple(topics) == fetch_run.REPORT_TOPICS
    assert "/brain/status" in topics and "/right_hand/tactile/contacts" in topics


def test_figures_from_a_recording(tmp_path):
    """Steps, peak and holding force and the phases come from the bag."""
    from test_demo_report import PEAK, pad_forces, write_fetch_bag

    topics = ("/gait/status", "/right_hand/tactile/contacts", "/brain/status")
    write_fetch_bag(tmp_path / "bag", topics=topics)
    result = fetch_run.FetchResult(True, "held", "DONE")
    fetch_run._figures_from_bag(result, tmp_path / "bag")
    assert result.steps == 16
    assert result.peak_grasp_force_n == pytest.approx(sum(pad_forces(PEAK[0])), abs=1e-4)
    assert result.hold_grasp_force_n == pytest.approx(sum(pad_forces(15.0)), rel=0.05)
    assert [state for state, _ in result.phases][-1] == "DONE"
    broken = fetch_run.FetchResult(False, "timeout", "APPROACH")
    fetch_run._figures_from_bag(broken, tmp_path / "missing")
    assert "bag unreadable" in broken.reason and broken.steps is None
