"""biped_gait with stale inputs: safe hold and a diagnostics error.

In its own module: the simulator and gait node of test_gait_node.py live on the same DDS domain
for that whole module, and this test plays the robot itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import WrenchStamped
from sensor_msgs.msg import Imu, JointState
from test_gait_node import STARTUP_S, diagnostics_values, gait_spec

from harness.processes import NodeGroup
from harness.ros import TestNode, reliable_qos
from harness.wiring import REPOSITORY_ROOT
from humanoid_interfaces.msg import JointCommand
from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.core.scene import SceneConfig
from humanoid_sim.core.simulation import Simulation


def test_stale_inputs_hold_and_report(tmp_path: Path) -> None:
    """Without the simulator: the test plays the robot, from a real simulated state, then lets
    the IMU fall 50 ms behind. The node holds its last command and reports an error."""

    robot = load_robot_description(REPOSITORY_ROOT / "config/robots/g1_dex3.yaml")
    sim = Simulation(robot, SceneConfig(0.9, None, ()))
    q, dq, effort = sim.joint_state()
    imu = sim.imu()
    wrenches = {side: sim.foot_wrench(side) for side in ("left", "right")}
    with (
        TestNode("gait_stale_test") as node,
        NodeGroup([gait_spec(auto_stand=True, use_sim_time=False)], tmp_path) as group,
    ):
        commands = node.collect("/joint_command", JointCommand, reliable_qos(100))
        diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(20))
        pub_joints = node.publisher(
            "/joint_states", JointState, wait_for_subscribers=1, timeout=STARTUP_S
        )
        pub_imu = node.publisher("/imu/data", Imu, wait_for_subscribers=1)
        pub_wrench = {
            side: node.publisher(f"/{side}_foot/wrench", WrenchStamped, wait_for_subscribers=1)
            for side in wrenches
        }

        def publish(step: int, imu_lag_steps: int = 0) -> None:
            stamp_ns = step * 2_000_000
            joint_msg = JointState(
                name=list(sim.joint_names),
                position=q.tolist(),
                velocity=dq.tolist(),
                effort=effort.tolist(),
            )
            joint_msg.header.stamp.sec, joint_msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            imu_msg = Imu()
            imu_stamp = stamp_ns - imu_lag_steps * 2_000_000
            imu_msg.header.stamp.sec, imu_msg.header.stamp.nanosec = divmod(imu_stamp, 10**9)
            w, x, y, z = imu.orientation
            imu_msg.orientation.w, imu_msg.orientation.x = float(w), float(x)
            imu_msg.orientation.y, imu_msg.orientation.z = float(y), float(z)
            a = imu.linear_acceleration
            imu_msg.linear_acceleration.x, imu_msg.linear_acceleration.y = float(a[0]), float(a[1])
            imu_msg.linear_acceleration.z = float(a[2])
            pub_joints.publish(joint_msg)
            pub_imu.publish(imu_msg)
            for side, wrench in wrenches.items():
                msg = WrenchStamped()
                msg.header.stamp = joint_msg.header.stamp
                f, t = wrench.force, wrench.torque
                msg.wrench.force.x, msg.wrench.force.y, msg.wrench.force.z = map(float, f)
                msg.wrench.torque.x, msg.wrench.torque.y, msg.wrench.torque.z = map(float, t)
                pub_wrench[side].publish(msg)

        step = 1
        while not commands.messages:
            assert step < 5000, "no joint command for fresh inputs"
            publish(step)
            step += 1
            time.sleep(0.002)
        fresh = commands.messages[-1]
        for _ in range(30):
            publish(step, imu_lag_steps=25)
            step += 1
            time.sleep(0.002)

        def stale(message: DiagnosticArray) -> bool:
            return any(
                s.name.startswith("biped_gait")
                and "stale" in s.message
                and s.level == DiagnosticStatus.ERROR
                for s in message.status
            )

        report = diagnostics_values(diagnostics.wait_until(stale, 20.0))
        assert "imu" in report["stale_inputs"] and int(report["safe_holds"]) >= 1
        held = commands.messages[-1]
        assert list(held.position) == pytest.approx(list(fresh.position), abs=0.02)
        assert max(abs(v) for v in held.velocity) == 0.0
        group.assert_running()
