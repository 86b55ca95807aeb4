"""The simulated robot as a ROS 2 node: real processes, real DDS, real MuJoCo.

Checks that the simulator offers a real robot's topics (types, frames, sizes, physically sane
values), rejects bad joint commands as a whole and counts them on /diagnostics while it keeps
running, applies good ones, serves its services, refuses bad parameters naming them, and in
lockstep mode gives the same trajectory for the same seed and command stream.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import WrenchStamped
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, Imu, JointState

from harness.processes import NodeGroup, executable_exists
from harness.ros import TestNode, reliable_qos
from harness.wiring import node_specs
from humanoid_interfaces.msg import DetectionArray, JointCommand, TactileFrame
from humanoid_interfaces.srv import ApplyWrench, ResetSim, SetObjectMass

STARTUP_S = 90.0


def sim_spec(**overrides):
    spec = node_specs("simulator", {"sim_mode": overrides.pop("mode", "paced")})[0]
    if not executable_exists(spec):
        pytest.skip("humanoid_sim is not built (colcon build)")
    return dataclasses.replace(spec, overrides={**spec.overrides, **overrides})


def diagnostics_values(message: DiagnosticArray) -> dict[str, str]:
    return {kv.key: kv.value for kv in message.status[0].values}


@pytest.fixture(scope="module")
def running_sim(tmp_path_factory):
    """One paced simulator (camera on) shared by the topic, command and service tests."""
    logs = tmp_path_factory.mktemp("sim_logs")
    group = NodeGroup([sim_spec(diagnostics_rate_hz=5.0)], logs)
    group.start()
    with TestNode("sim_node_test") as node:
        try:
            node.wait_for_message("/joint_states", JointState, STARTUP_S, reliable_qos(10))
        except TimeoutError:
            group.assert_running()
            raise
        yield group, node
    group.stop_and_check()


def test_robot_topics(running_sim) -> None:
    group, node = running_sim
    joints = node.wait_for_message("/joint_states", JointState, 10.0, reliable_qos(10))
    assert len(joints.name) == 43 and len(joints.position) == 43 and len(joints.effort) == 43
    assert "left_knee_joint" in joints.name and "right_hand_thumb_2_joint" in joints.name
    knee = joints.position[joints.name.index("left_knee_joint")]
    assert abs(knee - 0.5) < 0.05  # the stand posture of config/robots/g1_dex3.yaml

    imu = node.wait_for_message(  # after the first second: no start-up transient
        "/imu/data", Imu, 10.0, reliable_qos(10), predicate=lambda m: m.header.stamp.sec >= 1
    )
    assert imu.header.frame_id == "imu_in_pelvis"
    assert abs(imu.linear_acceleration.z - 9.81) < 0.5  # specific force of a robot at rest
    assert abs(imu.orientation.w) > 0.99

    total = 0.0
    for side in ("left", "right"):
        wrench = node.wait_for_message(
            f"/{side}_foot/wrench", WrenchStamped, 10.0, reliable_qos(10)
        )
        assert wrench.header.frame_id == f"{side}_ankle_roll_link"
        total += wrench.wrench.force.z
    assert 0.9 * 34.0 * 9.81 < total < 1.1 * 35.0 * 9.81  # both feet carry the ~34.4 kg robot

    tactile = node.wait_for_message(
        "/right_hand/tactile/sim_pressure", TactileFrame, 10.0, reliable_qos(10)
    )
    assert tactile.skin_id == "right_hand" and len(tactile.pads) == 6
    tips = [p for p in tactile.pads if p.name.endswith("_tip")]
    assert len(tips) == 3
    for pad in tactile.pads:
        assert len(pad.pressure) == pad.rows * pad.cols
    assert all(pad.rows * pad.cols >= 12 for pad in tips)
    assert all(max(pad.pressure) == 0.0 for pad in tactile.pads)  # nothing touches the hand

    color = node.wait_for_message("/camera/color/image_raw", Image, 20.0, reliable_qos(2))
    depth = node.wait_for_message("/camera/depth/image_raw", Image, 20.0, reliable_qos(2))
    info = node.wait_for_message("/camera/depth/camera_info", CameraInfo, 20.0, reliable_qos(2))
    assert (color.width, color.height, color.encoding) == (640, 480, "rgb8")
    assert (depth.width, depth.height, depth.encoding) == (640, 480, "32FC1")
    assert color.header.frame_id == depth.header.frame_id == info.header.frame_id
    assert info.k[0] > 0 and info.k[2] == 320.0
    metres = np.frombuffer(bytes(depth.data), np.float32)
    finite = metres[np.isfinite(metres)]
    assert finite.size > 0.9 * metres.size
    assert 0.3 < np.median(finite) < 2.0  # the table top, seen from the head

    base = node.wait_for_message("/sim/base", Odometry, 10.0, reliable_qos(10))
    assert base.header.frame_id == "world" and 0.7 < base.pose.pose.position.z < 0.85
    objects = node.wait_for_message("/sim/objects", DetectionArray, 10.0, reliable_qos(10))
    assert sorted(d.id for d in objects.detections) == ["cube", "cylinder", "sphere"]
    clock = node.wait_for_message("/clock", Clock, 10.0, reliable_qos(10))
    assert clock.clock.sec > 0 or clock.clock.nanosec > 0
    group.assert_running()


def test_bad_commands_are_rejected_and_counted(running_sim) -> None:
    group, node = running_sim
    diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(10))
    before = int(diagnostics_values(diagnostics.wait_for(1, 10.0)[-1])["commands_rejected"])
    publisher = node.publisher(
        "/joint_command", JointCommand, reliable_qos(50), wait_for_subscribers=1
    )
    bad = [
        JointCommand(source="test", name=["no_such_joint"], position=[0.0], kp=[1.0], kd=[0.1]),
        JointCommand(source="test", name=["right_elbow_joint"], position=[math.nan]),
        JointCommand(source="test", name=["right_elbow_joint", "left_elbow_joint"], position=[0.1]),
    ]
    for message in bad:
        publisher.publish(message)
    message = diagnostics.wait_until(
        lambda m: int(diagnostics_values(m)["commands_rejected"]) >= before + len(bad), 10.0
    )
    assert message.status[0].level != DiagnosticStatus.OK  # WARN names the last reason
    assert "joint" in diagnostics_values(message)["last_rejection"]
    # Still running and publishing after the bad input.
    node.wait_for_message("/joint_states", JointState, 10.0, reliable_qos(10))
    group.assert_running()


def test_good_command_moves_the_joint(running_sim) -> None:
    _, node = running_sim
    publisher = node.publisher(
        "/joint_command", JointCommand, reliable_qos(50), wait_for_subscribers=1
    )
    target = 0.6
    # kp 200: PD alone sags by gravity torque / kp (3.7 N*m of forearm and hand: 0.06 rad at 60).
    command = JointCommand(
        source="test", name=["right_elbow_joint"], position=[target], kp=[200.0], kd=[4.0]
    )
    states = node.collect("/joint_states", JointState, reliable_qos(10))
    publisher.publish(command)

    def at_target(message: JointState) -> bool:
        return abs(message.position[message.name.index("right_elbow_joint")] - target) < 0.05

    states.wait_until(at_target, 20.0)
    states.close()


def test_services(running_sim) -> None:
    _, node = running_sim
    ok = node.call_service(
        SetObjectMass,
        "/sim/set_object_mass",
        SetObjectMass.Request(object="cube", mass_kg=0.3),
        10.0,
    )
    assert ok.success, ok.message
    unknown = node.call_service(
        SetObjectMass,
        "/sim/set_object_mass",
        SetObjectMass.Request(object="anvil", mass_kg=1.0),
        10.0,
    )
    assert not unknown.success and "anvil" in unknown.message
    bad_mass = node.call_service(
        SetObjectMass,
        "/sim/set_object_mass",
        SetObjectMass.Request(object="cube", mass_kg=-1.0),
        10.0,
    )
    assert not bad_mass.success
    request = ApplyWrench.Request(body="pelvis", duration_s=0.1)
    request.force.y = 20.0
    pushed = node.call_service(ApplyWrench, "/sim/apply_wrench", request, 10.0)
    assert pushed.success, pushed.message
    request.duration_s = 0.0
    assert not node.call_service(ApplyWrench, "/sim/apply_wrench", request, 10.0).success
    reset = node.call_service(ResetSim, "/sim/reset", ResetSim.Request(seed=4), 10.0)
    assert reset.success and "4" in reset.message
    objects = node.collect("/sim/objects", DetectionArray, reliable_qos(10))
    objects.wait_until(lambda m: m.header.stamp.sec == 0, 10.0)  # time restarted
