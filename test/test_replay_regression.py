"""Record a simulated session, replay it into the senses and a limb, compare with expectations.

1. Record: the simulator (seed 0, standing, head camera at 15 Hz) runs while
   ``humanoid_bag record`` writes its joints, IMU, tactile skins, camera and ground truth to an
   MCAP bag, as a test bench would on the robot.
2. Replay: ``humanoid_bag play --clock`` plays the bag into tactile_driver (right hand, ``sim``
   backend), vision_node (topic source) and dexterous_hand_ctrl (right hand), all on
   ``use_sim_time``, with no simulator running.
3. Compare their outputs with the expectations in ``test/fixtures/replay_expectations.yaml``:
   - tactile_driver: its frames carry the recorded measurement stamps and no contact is seen
     (nothing touches the hands of a standing robot);
   - vision_node: each scene object is detected, and most detections are localised in 3D at
     the position the simulator's ground truth (recorded ``/sim/objects``, put in the camera's
     optical frame with the recorded camera pose of a standing robot, computed from the
     ROS-free simulator) gives, within the tolerance;
   - dexterous_hand_ctrl (idle): it answers replayed joint states with commands stamped like
     them, holding the recorded posture within the tolerance.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState

from harness.processes import NodeGroup, NodeProcess, executable_exists
from harness.ros import TestNode, reliable_qos
from harness.spec import NodeSpec
from harness.wiring import REPOSITORY_ROOT, node_specs
from humanoid_interfaces.msg import DetectionArray, JointCommand, TactileFrame

EXPECTATIONS = yaml.safe_load(
    (REPOSITORY_ROOT / "test" / "fixtures" / "replay_expectations.yaml").read_text()
)
TOPICS = [
    "/joint_states",
    "/imu/data",
    "/right_hand/tactile/sim_pressure",
    "/left_hand/tactile/sim_pressure",
    "/camera/color/image_raw",
    "/camera/depth/image_raw",
    "/camera/color/camera_info",
    "/sim/objects",
    "/sim/base",
]
LARGE_DATA = {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
VISION_SOURCE = (
    "topic: {color_topic: /camera/color/image_raw, depth_topic: /camera/depth/image_raw, "
    "info_topic: /camera/color/camera_info, reliable: true, depth_wait_s: 0.25}"
)


def bag_tool(name: str, executable: str, *arguments: str) -> NodeSpec:
    spec = NodeSpec(name=name, package="humanoid_bag", executable=executable, arguments=arguments)
    if not executable_exists(spec):
        pytest.skip("humanoid_bag is not built (colcon build)")
    return dataclasses.replace(spec, env=LARGE_DATA)


def recorded_messages(bag: Path, topic: str, message_type) -> list:
    """Every message of ``topic`` in the bag, deserialized."""
    from rclpy.serialization import deserialize_message

    from humanoid_bag.storage import BagReader

    with BagReader(bag) as reader:
        return [
            deserialize_message(data, message_type)
            for _topic, _time, data in reader.messages([topic], 0, 2**63 - 1)
        ]


def objects_in_camera_frame() -> dict[str, np.ndarray]:
    """Ground truth: each object's centre in the head camera's optical frame, standing, seed 0."""
    from humanoid_sim.core.model_builder import CAMERA_NAME
    from humanoid_sim.core.robot_description import load_robot_description
    from humanoid_sim.core.scene import load_scene
    from humanoid_sim.core.simulation import Simulation

    sim = Simulation(
        load_robot_description(REPOSITORY_ROOT / "config/robots/g1_dex3.yaml"),
        load_scene(REPOSITORY_ROOT / "config/scenes/table_objects.yaml"),
        seed=0,
    )
    for _ in range(int(EXPECTATIONS["settle_s"] / sim.control_period)):
        sim.step()
    camera = sim.model.camera(CAMERA_NAME).id
    position = sim.data.cam_xpos[camera]
    rotation = sim.data.cam_xmat[camera].reshape(3, 3)
    # MuJoCo cameras: x right, y up, looking along -z; optical frames: x right, y down, z ahead.
    to_optical = np.diag([1.0, -1.0, -1.0])
    found = {}
    for name, state in sim.object_states().items():
        found[name] = to_optical @ rotation.T @ (state.position - position)
    return found


def test_recorded_session_replays_into_tactile_vision_and_hand(
    tmp_path: Path, node_logs: Path
) -> None:
    bag = tmp_path / "session"
    # ---------------------------------------------------------------- 1. record
    sim = node_specs("simulator", {"sim_mode": "paced", "seed": "0"})[0]
    recorder = bag_tool("recorder", "record", "-o", str(bag), "--topics", *TOPICS)
    # Bag time = simulated time (the simulator may run slower than real time here).
    recorder = dataclasses.replace(recorder, overrides={"use_sim_time": True})
    with TestNode("replay_recording") as node, NodeGroup([sim], node_logs):
        node.wait_for_publishers("/camera/color/image_raw", 1, 60.0)
        with NodeProcess(recorder, node_logs):
            # Count the recorded time from when the recorder reads every topic (discovery takes
            # seconds on a loaded machine, and the bag must hold the whole window).
            for topic in TOPICS:
                node.wait_for_subscribers(topic, 1, 60.0)
            clock = node.collect("/clock", Clock)
            start = clock.wait_for(1, 30.0)[-1].clock.sec
            clock.wait_until(
                lambda m: (
                    m.clock.sec + m.clock.nanosec * 1e-9 >= start + EXPECTATIONS["record_sim_s"]
                ),
                120.0,
            )
    assert (bag / "metadata.yaml").is_file()

    # ---------------------------------------------------------------- 2. replay
    tactile = node_specs("tactile", {"tactile_backend": "sim", "use_sim_time": "true"})[0]
    vision = node_specs("vision", {"use_sim_time": "true"})[0]
    # Reliable image subscriptions: a best-effort one can lose every large frame of a replay.
    vision = dataclasses.replace(
        vision, overrides={**vision.overrides, "source_options": VISION_SOURCE}
    )
    hand = node_specs("hand", {"use_sim_time": "true"})[0]
    for spec in (tactile, vision, hand):
        if not executable_exists(spec):
            pytest.skip(f"{spec.package} is not built (colcon build)")
    # Quarter speed: the three nodes share two cores with the player and this test.
    player = bag_tool("player", "play", str(bag), "--clock", "200", "--rate", "0.25")
    with TestNode("replay_outputs") as node, NodeGroup([tactile, vision, hand], node_logs):
        frames = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(2000))
        detections = node.collect("/vision/detections", DetectionArray, reliable_qos(100))
        commands = node.collect("/joint_command", JointCommand, reliable_qos(2000))
        diagnostics = node.collect("/diagnostics", DiagnosticArray, reliable_qos(100))
        recorded = node.collect("/joint_states", JointState, reliable_qos(2000))
        for topic in (
            "/right_hand/tactile/sim_pressure",
            "/camera/color/image_raw",
            "/joint_states",
            "/right_hand/tactile/contacts",
        ):
            node.wait_for_subscribers(topic, 1, 60.0)
        with NodeProcess(player, node_logs) as playing:
            deadline = time.monotonic() + 180.0
            while playing.is_running():
                assert time.monotonic() < deadline, "the replay did not finish"
                time.sleep(0.2)
            assert playing.returncode == 0, playing.output_tail()
        time.sleep(1.0)  # the last outputs
        frames_out = frames.messages
        detections_out, commands_out = detections.messages, commands.messages
        joints_in = recorded.messages
        vision_status = [
            {kv.key: kv.value for kv in status.values}
            for m in diagnostics.messages
            for status in m.status
            if "vision" in status.name
        ]

    # ---------------------------------------------------------------- 3. compare
    expected = EXPECTATIONS
    # tactile_driver: outputs stamped with the recorded measurement times, and no contact.
    skin_in = recorded_messages(bag, "/right_hand/tactile/sim_pressure", TactileFrame)
    recorded_stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in skin_in}
    output_stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in frames_out]
    assert len(skin_in) > 100
    extra = sorted(set(output_stamps) - recorded_stamps)
    assert not extra, (len(extra), extra[:5], len(output_stamps), sorted(recorded_stamps)[:5])
    assert len(output_stamps) >= expected["tactile"]["min_fraction_out"] * len(skin_in)
    peak = max(max(max(p.pressure) for p in m.pads) for m in frames_out)
    assert peak < expected["tactile"]["max_pressure_kpa"]

    # vision_node: what it detects is where the ground truth puts it, and it finds enough.
    truth = objects_in_camera_frame()
    tolerance = expected["vision"]["position_tolerance_m"]
    assert detections_out, f"vision_node published no detections: {vision_status[-1:]}"
    errors: dict[str, list[float]] = {}
    unlocalised = 0
    for message in detections_out:
        for d in message.detections:
            if d.position_covariance < 0.0:
                # Unlocalised (no depth paired with this colour image in time): pose is zero.
                unlocalised += 1
                continue
            position = np.array([d.pose.position.x, d.pose.position.y, d.pose.position.z])
            errors.setdefault(d.box.class_name, []).append(
                float(np.linalg.norm(position - truth[d.box.class_name]))
            )
    status = vision_status[-1:]
    localised = sum(len(values) for values in errors.values())
    assert localised >= expected["vision"]["min_localised_fraction"] * (localised + unlocalised), (
        localised,
        unlocalised,
        status,
    )
    assert len(errors) >= expected["vision"]["min_objects_found"], (errors.keys(), truth, status)
    for name, values in errors.items():
        assert float(np.median(values)) <= tolerance, (name, values, truth[name], status)

    # dexterous_hand_ctrl: idle commands stamped like the replayed states, holding the posture.
    # Against the bag (what was replayed): this test's own subscriber may match the player a
    # moment after the hand does and miss the first states.
    replayed = recorded_messages(bag, "/joint_states", JointState)
    by_stamp = {(m.header.stamp.sec, m.header.stamp.nanosec): m for m in replayed}
    assert joints_in, "this test saw no replayed joint state"
    answered = [c for c in commands_out if c.source == "right_hand"]
    assert len(answered) >= expected["hand"]["min_commands"]
    worst = 0.0
    for command in answered:
        state = by_stamp.get((command.header.stamp.sec, command.header.stamp.nanosec))
        assert state is not None, "a command answers a joint state that was not replayed"
        positions = dict(zip(state.name, state.position, strict=True))
        for name, target in zip(command.name, command.position, strict=True):
            worst = max(worst, abs(target - positions[name]))
    assert worst <= expected["hand"]["hold_tolerance_rad"], worst
