"""``humanoid_bag play`` as a real process, observed over real DDS.

Bags: a stack recording written with this package's writer (MCAP), and a bag laid out as
``ros2 bag record -s sqlite3`` leaves it (sqlite3 schema 4 + hand-written metadata.yaml), the
stand-in for a recording made with the ROS 2 CLI. Checked: every message of the selected window
once and in order, remapping, topic selection, /clock, pacing by --rate (playback never runs
ahead of the recording's timing), --loop, a latched topic reaching a late subscriber, and bad
input refused with exit code 2.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import time
from pathlib import Path

import pytest
from rclpy.serialization import deserialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import String

from harness.processes import NodeProcess, executable_exists, find_executable
from harness.ros import TestNode, latched_qos, reliable_qos
from harness.spec import NodeSpec
from humanoid_bag import player
from humanoid_bag.storage import BagReader
from humanoid_bag.synthetic import (
    GRAPH_LATCHED,
    GRAPH_RELIABLE,
    NS_PER_S,
    START_NS,
    Serializer,
    write_ros2_bag_record_sqlite3,
    write_stack_recording,
)
from humanoid_interfaces.msg import TactileFrame


def play_spec(*arguments: str) -> NodeSpec:
    spec = NodeSpec(
        name="humanoid_bag_player", package="humanoid_bag", executable="play", arguments=arguments
    )
    if not executable_exists(spec):
        pytest.fail("humanoid_bag is not built: run `bash tools/build.sh`")
    return spec


def wait_for_exit(process: NodeProcess, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while process.is_running():
        assert time.monotonic() < deadline, f"still running after {timeout} s"
        time.sleep(0.05)
    return process.returncode


def stats(process: NodeProcess) -> dict:
    line = next(x for x in process.output().splitlines() if x.startswith("[play] done "))
    return json.loads(line.removeprefix("[play] done "))


def stamp_ns(message) -> int:
    return message.header.stamp.sec * NS_PER_S + message.header.stamp.nanosec


def test_window_rate_selection_remap_and_clock_from_mcap(tmp_path: Path, node_logs: Path):
    bag = tmp_path / "stack"
    write_stack_recording(bag, "mcap", seconds=1.0)
    spec = play_spec(
        str(bag),
        *("--rate", "2", "--start-offset", "0.2", "--duration", "0.5", "--clock", "50"),
        *("--topics", "/joint_states", "/right_hand/tactile/frames"),
        *("--remap", "/joint_states:=/replay/joint_states", "--wait-for-subscribers"),
    )
    with TestNode("bag_play_test") as node:
        joints = node.collect("/replay/joint_states", JointState, reliable_qos(1000))
        tactile = node.collect("/right_hand/tactile/frames", TactileFrame, reliable_qos(1000))
        clock = node.collect("/clock", Clock, reliable_qos(100))
        original = node.collect("/joint_states", JointState, reliable_qos(10))
        unselected = node.collect("/imu/data", Imu, reliable_qos(10))
        with NodeProcess(spec, node_logs) as process:
            process.wait_for_output("[play] done", 60.0)
            assert wait_for_exit(process, 30.0) == 0, process.output_tail()
        # Window [0.2 s, 0.7 s) of the recording: joints at 500 Hz, tactile at 1 kHz.
        received = joints.wait_for(250, 10.0)
        assert [int(m.header.frame_id) for m in received] == list(range(100, 350))
        frames = tactile.wait_for(500, 10.0)
        assert [f.sequence for f in frames] == list(range(200, 700))
        assert (len(original), len(unselected)) == (0, 0)
        # /clock carries bag time: inside the window, never backwards, reaching the last message.
        ticks = [m.clock.sec * NS_PER_S + m.clock.nanosec for m in clock.wait_for(2, 10.0)]
        assert ticks == sorted(ticks) and len(ticks) >= 2
        assert START_NS + 2 * 10**8 <= ticks[0] and ticks[-1] < START_NS + 7 * 10**8
        assert ticks[-1] >= stamp_ns(received[-1])
    # Paced at twice the recorded speed: it can run late on a loaded machine, never early.
    result = stats(process)
    assert result["messages"] == 750
    assert result["wall_s"] >= 0.95 * result["bag_s"] / 2.0, result


def test_ros2_bag_record_sqlite3_bag_latched_topic_reaches_late_subscriber(
    tmp_path: Path, node_logs: Path
):
    serializer = Serializer()
    chatter = [(START_NS + i * 10**7, serializer.string(f"hello {i}")) for i in range(20)]
    map_message = serializer.string("map v1")
    bag = write_ros2_bag_record_sqlite3(
        tmp_path / "cli_bag",
        [
            ("/chatter", "std_msgs/msg/String", [GRAPH_RELIABLE], chatter),
            ("/map_info", "std_msgs/msg/String", [GRAPH_LATCHED], [(START_NS, map_message)]),
        ],
    )
    spec = play_spec(str(bag), "--wait-for-subscribers", "--hold")
    with TestNode("bag_latched_test") as node:
        messages = node.collect("/chatter", String, reliable_qos(100))
        with NodeProcess(spec, node_logs) as process:
            process.wait_for_output("[play] holding", 60.0)
            received = [m.data for m in messages.wait_for(20, 10.0)]
            assert received == [f"hello {i}" for i in range(20)]
            infos = node.node.get_publishers_info_by_topic("/map_info")
            assert [i.qos_profile.durability.name for i in infos] == ["TRANSIENT_LOCAL"]
            # Subscribing after playback ended: the transient-local one still gets the message,
            # a volatile one does not.
            volatile = node.collect("/map_info", String, reliable_qos(10))
            late = node.collect("/map_info", String, latched_qos())
            assert late.wait_for(1, 10.0)[0].data == "map v1"
            assert len(volatile) == 0
            assert process.stop() == 0, process.output_tail()


def test_loop_replays_every_pass_in_order(tmp_path: Path, node_logs: Path):
    bag = tmp_path / "short"
    write_stack_recording(bag, "mcap", seconds=0.06, latched_config=False)
    spec = play_spec(str(bag), "--loop", "--topics", "/joint_states", "--wait-for-subscribers")
    with TestNode("bag_loop_test") as node:
        joints = node.collect("/joint_states", JointState, reliable_qos(1000))
        with NodeProcess(spec, node_logs) as process:
            received = joints.wait_for(3 * 30, 30.0)
            assert process.stop() == 0, process.output_tail()
    indices = [int(m.header.frame_id) for m in received]
    assert indices[:60] == list(range(30)) * 2  # the recording's 30 joint states, twice
    assert stats(process)["passes"] >= 3


def test_bad_input_is_refused_with_exit_code_2(tmp_path: Path):
    executable = str(find_executable(play_spec()))
    bag = tmp_path / "bag"
    write_stack_recording(bag, "sqlite3", seconds=0.05)
    # The console script itself, as `ros2 run humanoid_bag play` runs it.
    for arguments, message in (
        ([str(tmp_path / "missing")], "does not exist"),
        ([str(bag), "--rate", "0"], "expected a value > 0"),
    ):
        result = subprocess.run(
            [executable, *arguments], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, (arguments, result.stderr)
        assert message in result.stderr, result.stderr
    # The same entry point in this process (it refuses before any ROS entity exists).
    cases = [
        (["--topics", "/nope"], "['/nope'] are not in the bag"),
        (["--start-offset", "9"], "past the bag's last message"),
        (["--remap", "/joint_states"], "expected FROM:=TO"),
        (["--qos-profile-overrides-path", str(tmp_path / "none.yaml")], "does not exist"),
    ]
    for arguments, message in cases:
        assert _refused([str(bag), *arguments], message) == 2
    for rate in ("-1", "nan", "inf", "fast"):
        with pytest.raises(SystemExit) as exit_info:
            player.main(["play", str(bag), "--rate", rate])
        assert exit_info.value.code == 2
    corrupt = tmp_path / "corrupt"
    write_stack_recording(corrupt, "mcap", seconds=0.05)
    (corrupt / "metadata.yaml").write_text("rosbag2_bagfile_information:\n  version: 9\n  [")
    assert _refused([str(corrupt)], "corrupt metadata.yaml: not YAML") == 2


def _refused(arguments: list[str], message: str) -> int:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = player.main(["play", *arguments])
    assert message in errors.getvalue(), errors.getvalue()
    return code


def test_recorded_bytes_are_published_unchanged(tmp_path: Path, node_logs: Path):
    """A recording of the player's output holds the bag's messages byte for byte."""
    bag = tmp_path / "source"
    write_stack_recording(bag, "mcap", seconds=0.1, latched_config=False)
    copy = tmp_path / "copy"
    record = NodeSpec(
        name="humanoid_bag_recorder",
        package="humanoid_bag",
        executable="record",
        arguments=("-o", str(copy), "--topics", "/imu/data"),
    )
    playing = play_spec(str(bag), "--topics", "/imu/data", "--wait-for-subscribers")
    with NodeProcess(record, node_logs) as recorder:
        with NodeProcess(playing, node_logs) as process:
            # "done" comes once the recorder acknowledged every message (reliable QoS).
            process.wait_for_output("[play] done", 60.0)
            assert wait_for_exit(process, 30.0) == 0
        assert recorder.stop() == 0, recorder.output_tail()

    def imu_payloads(path: Path) -> list[bytes]:
        with BagReader(path) as reader:
            window = (reader.start_ns, reader.end_ns + 1)
            return [data for _, _, data in reader.messages(["/imu/data"], *window)]

    source, recorded = imu_payloads(bag), imu_payloads(copy)
    assert recorded == source and len(source) == 50
    assert deserialize_message(recorded[7], Imu).header.frame_id == "7"
