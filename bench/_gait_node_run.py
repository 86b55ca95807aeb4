"""One walk through the real nodes (bench/gait_walk.py --node): humanoid_sim in lockstep and
biped_gait's gait_node, started from launch/stack.yaml by the test harness, over real DDS.

The bench plays the operator: /gait/stand, /gait/walk, /cmd_vel; it reads the simulator's
ground truth (/sim/base) and the controller's /odom to score the walk.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT / "test") not in sys.path:
    sys.path.insert(0, str(ROOT / "test"))


def run_node_walk(seconds: float, speed: float) -> dict:
    """Stand, then walk ``seconds`` of simulated time at ``speed`` [m/s]; returns figures."""
    from harness.domain import configure_environment

    configure_environment()
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from std_srvs.srv import Trigger

    from harness.processes import NodeGroup
    from harness.ros import TestNode, reliable_qos
    from harness.wiring import node_specs
    from humanoid_interfaces.msg import GaitStatus

    sim = node_specs("sim", {"sim_mode": "lockstep"})[0]
    sim = dataclasses.replace(
        sim,
        overrides={
            **sim.overrides,
            "lockstep_sources": ["biped_gait"],
            "scene": "config/scenes/open_floor.yaml",
            "camera_rate_hz": 0.0,
            "tactile_rate_hz": 0.0,
            "lockstep_timeout_s": 5.0,
        },
    )
    gait = node_specs("gait", {"use_sim_time": "true"})[0]
    logs = pathlib.Path(tempfile.mkdtemp(prefix="gait_node_walk_"))
    with TestNode("gait_bench") as node, NodeGroup([sim, gait], logs) as group:
        status = node.collect("/gait/status", GaitStatus, reliable_qos(100))
        status.wait_for(1, 120.0)
        assert node.call_service(Trigger, "/gait/stand", timeout=30.0).success
        status.wait_until(lambda m: m.message == "standing", 120.0)
        truth = node.collect("/sim/base", Odometry, reliable_qos(100))
        odom = node.collect("/odom", Odometry, reliable_qos(100))
        truth0 = truth.wait_for(1, 30.0)[-1]
        odom0 = odom.wait_for(1, 30.0)[-1]
        publisher = node.publisher("/cmd_vel", Twist, wait_for_subscribers=1)
        twist = Twist()
        twist.linear.x = speed
        stop = threading.Event()

        def stream():
            while not stop.wait(0.05):
                publisher.publish(twist)

        thread = threading.Thread(target=stream, daemon=True)
        thread.start()
        assert node.call_service(Trigger, "/gait/walk", timeout=30.0).success
        start_wall = time.monotonic()
        start_sim = _seconds(truth0.header.stamp)
        try:
            end = status.wait_until(
                lambda m: (
                    _seconds(m.header.stamp) >= start_sim + seconds
                    or m.state == GaitStatus.STATE_DAMPING
                ),
                seconds * 60 + 120,
            )
        finally:
            stop.set()
            thread.join()
        wall = time.monotonic() - start_wall
        last_truth, last_odom = truth.messages[-1], odom.messages[-1]
        group.assert_running()
    walked = last_truth.pose.pose.position.x - truth0.pose.pose.position.x
    odom_walked = (
        last_odom.pose.pose.position.x - odom0.pose.pose.position.x,
        last_odom.pose.pose.position.y - odom0.pose.pose.position.y,
    )
    truth_walked = (walked, last_truth.pose.pose.position.y - truth0.pose.pose.position.y)
    error = (odom_walked[0] - truth_walked[0]) ** 2 + (odom_walked[1] - truth_walked[1]) ** 2
    error **= 0.5
    elapsed = _seconds(last_truth.header.stamp) - start_sim
    fallen = end.state == GaitStatus.STATE_DAMPING or last_truth.pose.pose.position.z < 0.5
    return {
        "fallen": fallen,
        "distance_m": walked,
        "sim_s": elapsed,
        "mean_speed_mps": walked / max(elapsed, 1e-9),
        "odom_drift_pct": 100.0 * error / max(abs(walked), 1e-9),
        "steps": end.step_count,
        "real_time_factor": elapsed / wall,
        "pass": not fallen,
    }


def _seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9
