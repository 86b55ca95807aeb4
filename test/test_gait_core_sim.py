"""The walking controller's core (no ROS) on the ROS-free simulator: states and fall handling.

The controller only sees the simulated sensors; ground truth decides whether the robot fell.
Walking itself is covered through the nodes (test_gait_node.py) and measured by
bench/gait_walk.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

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
