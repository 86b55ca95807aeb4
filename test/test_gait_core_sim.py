"""The walking controller's core (no ROS) on the ROS-free simulator: states and fall handling.

The controller only sees the simulated sensors; ground truth decides whether the robot fell.
Walking itself is covered through the nodes (test_gait_node.py) and measured by
bench/gait_walk.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
CONFIG = Path(__file__).resolve().parents[1] / "config"

from _gait_sim import apply, make_controller, make_sim, readings  # noqa: E402

DT = 0.002


def run(sim, controller, index, seconds):
    command = None
    for _ in range(int(round(seconds / DT))):
        command = controller.step(readings(sim, index), sim.time, DT)
        apply(sim, command)
        sim.step()
    return command


def test_idle_refuses_walking_and_a_fall_ends_in_damping() -> None:
    sim = make_sim()
    controller, index = make_controller(sim, arms=False)
    assert run(sim, controller, index, 0.01) is None  # idle: no command
    accepted, reason = controller.request_walk()
    assert not accepted and "refused" in reason
    assert controller.request_stand()[0]
    run(sim, controller, index, 0.5)
    assert controller.state == "stand"
    assert not controller.request_walk()[0]  # the gains are still ramping up
    run(sim, controller, index, 0.8)
    assert not sim.has_fallen()
    # A shove far beyond what standing can take: the robot falls, the controller notices
    # from its IMU and goes limp (damping), and refuses to walk.
    sim.apply_wrench("torso_link", [0.0, 400.0, 0.0], [0.0, 0.0, 0.0], 0.4)
    command = run(sim, controller, index, 1.5)
    assert sim.has_fallen()
    assert controller.state == "damping"
    assert np.all(command.kp == 0.0) and np.all(command.kd > 0.0)
    assert not controller.request_walk()[0]
    assert not controller.request_stand()[0]  # not upright on both feet


def test_the_pipelined_chains_settings_walk_stop_and_go_with_a_period_of_command_delay(
    monkeypatch,
) -> None:
    """The whole chain runs the simulator pipelined: a command acts one period (10 ms at the
    chain's 100 Hz) after the state it answers. With config/biped_gait_chain.yaml's settings
    (command_latency_s 0.01, the DCM predicted for when the command acts; step adjustment at
    6 cm) the controller walks random stop-and-go sequences through that delay. These three
    fell with the delay and the chain's settings before (5 cm, no prediction;
    bench/gait_walk.py --command-delay-steps 1)."""
    import gait_walk

    chain = yaml.safe_load((CONFIG / "biped_gait_chain.yaml").read_text())["/**"]
    settings = chain["ros__parameters"]
    monkeypatch.setattr(gait_walk, "DT", 0.01)
    monkeypatch.setattr(gait_walk, "FIRST_ORDER_HOLD", True)
    monkeypatch.setattr(gait_walk, "COMMAND_DELAY_STEPS", 1)
    monkeypatch.setattr(
        gait_walk,
        "OVERRIDES",
        {
            "command_latency": settings["command_latency_s"],
            "stabilizer.step_adjust_threshold": settings["stabilizer"]["step_adjust_threshold_m"],
        },
    )
    assert settings["command_latency_s"] == 0.01
    for trial in (0, 12, 15):
        result = gait_walk.stop_and_go_trial(trial)
        assert not result["fallen"], result
