"""``humanoid_bag record`` as a real process, recording real publishers over real DDS.

The publishers run in their own rclpy process (src/humanoid_bag/test/stream_publisher.py):
JointState at 500 Hz and the stack's TactileFrame at 1 kHz, reliable, plus a latched
(transient-local) String published before the recorder subscribed. The bag must hold every
message once, in order, with the publishers' QoS and type hashes in rosbag2's metadata layout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rclpy.duration import Duration
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from harness.processes import NodeProcess, executable_exists, find_executable
from harness.ros import TestNode, reliable_qos
from harness.spec import NodeSpec
from harness.wiring import REPOSITORY_ROOT
from humanoid_bag.core.metadata import check
from humanoid_bag.storage import BagReader
from humanoid_bag.typesupport import DefinitionSource
from humanoid_interfaces.msg import TactileFrame

STREAM_PUBLISHER = REPOSITORY_ROOT / "src" / "humanoid_bag" / "test" / "stream_publisher.py"
TOPICS = ["/joint_states", "/right_hand/tactile/frames", "/robot/config"]


def recorder(*arguments: str) -> NodeSpec:
    spec = NodeSpec(
        name="humanoid_bag_recorder",
        package="humanoid_bag",
        executable="record",
        arguments=arguments,
    )
    if not executable_exists(spec):
        pytest.fail("humanoid_bag is not built: run `bash tools/build.sh`")
    return spec


def wait_for_exit(process: NodeProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while process.is_running():
        assert time.monotonic() < deadline, f"still running after {timeout} s"
        time.sleep(0.05)


def read_all(bag_path: Path) -> dict[str, list[tuple[int, bytes]]]:
    with BagReader(bag_path) as bag:
        messages: dict[str, list[tuple[int, bytes]]] = {topic: [] for topic in bag.topics}
        for topic, stamp, data in bag.messages(sorted(bag.topics), bag.start_ns, bag.end_ns + 1):
            messages[topic].append((stamp, data))
    return messages


def test_records_500hz_joints_and_1khz_tactile_without_loss(tmp_path: Path, node_logs: Path):
    bag_path = tmp_path / "recording"
    spec = recorder("-o", str(bag_path), "--topics", *TOPICS)
    with NodeProcess(spec, node_logs) as process:
        publisher = subprocess.run(
            [sys.executable, str(STREAM_PUBLISHER), "--duration", "2.0"],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert publisher.returncode == 0, publisher.stderr
        published = json.loads(publisher.stdout.strip().splitlines()[-1])
        assert published["acked"], published  # the recorder's DDS reader has every message
        code = process.stop()
    assert code == 0, process.output_tail()
    assert "[record] wrote" in process.output()

    # Every message once, in publication order.
    messages = read_all(bag_path)
    joints = [deserialize_message(d, JointState) for _, d in messages["/joint_states"]]
    frames = [deserialize_message(d, TactileFrame) for _, d in messages[TOPICS[1]]]
    assert [int(m.header.frame_id) for m in joints] == list(range(published["joint_states"]))
    assert [f.sequence for f in frames] == list(range(published["tactile"]))
    assert len(joints[0].position) == 43 and len(frames[0].pads) == 6
    # The latched message was published before the recorder subscribed: transient-local
    # subscription still got it.
    (config,) = [deserialize_message(d, String) for _, d in messages["/robot/config"]]
    assert config.data == "robot: g1_dex3"
    stamps = [stamp for stamp, _ in messages["/joint_states"]]
    assert stamps == sorted(stamps)

    # rosbag2 metadata: version 9, the publishers' QoS and the type hashes they announced.
    info = check((bag_path / "metadata.yaml").read_text())
    assert (info["version"], info["storage_identifier"]) == (9, "mcap")
    topics = {t["topic_metadata"]["name"]: t for t in info["topics_with_message_count"]}
    assert topics["/joint_states"]["message_count"] == published["joint_states"]
    config_qos = topics["/robot/config"]["topic_metadata"]["offered_qos_profiles"]
    assert [(q["reliability"], q["durability"]) for q in config_qos] == [
        ("reliable", "transient_local")
    ]
    definitions = DefinitionSource()
    for name, msgtype in (
        ("/joint_states", "sensor_msgs/msg/JointState"),
        (TOPICS[1], "humanoid_interfaces/msg/TactileFrame"),
    ):
        metadata = topics[name]["topic_metadata"]
        assert metadata["type"] == msgtype and metadata["serialization_format"] == "cdr"
        assert metadata["type_description_hash"] == definitions.definition(msgtype)[1]


def test_records_sqlite3_until_its_duration_ends(tmp_path: Path, node_logs: Path):
    bag_path = tmp_path / "short"
    spec = recorder(
        "-o", str(bag_path), "--storage", "sqlite3", "--duration", "6", "--topics", "/chatter"
    )
    with TestNode("bag_record_test") as node:
        # The publisher exists first: the recorder subscribes at its first look at the graph,
        # well within its 6 s.
        publisher = node.publisher("/chatter", String, reliable_qos())
        with NodeProcess(spec, node_logs) as process:
            node.wait_for_subscribers(publisher, 1, timeout=30.0)
            for index in range(25):
                publisher.publish(String(data=f"message {index}"))
            assert publisher.wait_for_all_acked(Duration(seconds=10.0))
            process.wait_for_output("[record] wrote", 30.0)  # --duration ended it
            wait_for_exit(process, 30.0)
    assert process.returncode == 0, process.output_tail()
    assert (bag_path / "short.db3").is_file()
    data = [deserialize_message(d, String).data for _, d in read_all(bag_path)["/chatter"]]
    assert data == [f"message {i}" for i in range(25)]


def test_record_refuses_bad_arguments_with_exit_code_2(tmp_path: Path):
    executable = str(find_executable(recorder()))
    existing = tmp_path / "exists"
    existing.mkdir()
    for arguments, message in (
        (["-o", str(existing), "--topics", "/a"], "exists already"),
        (["-o", str(tmp_path / "x")], "one of the arguments --topics -a/--all is required"),
        (["-o", str(tmp_path / "y"), "--topics", "/a", "--duration", "-1"], "expected a value > 0"),
        (["-o", str(tmp_path / "z"), "--topics", "/1bad"], "topic name '/1bad'"),
    ):
        result = subprocess.run(
            [executable, *arguments], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, (arguments, result.stdout, result.stderr)
        assert message in result.stderr, result.stderr
        assert not Path(arguments[1]).exists() or arguments[1] == str(existing)
