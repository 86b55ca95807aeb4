"""Writing and reading real rosbag2 files (MCAP and sqlite3); no ROS graph."""

import sqlite3

import pytest
import yaml
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from humanoid_bag.core.metadata import check
from humanoid_bag.storage import BagError, BagReader, BagWriter
from humanoid_bag.synthetic import (
    GRAPH_LATCHED,
    GRAPH_RELIABLE,
    START_NS,
    Serializer,
    write_ros2_bag_record_sqlite3,
    write_stack_recording,
)
from humanoid_bag.typesupport import DefinitionSource, TypeSupportError, message_class


def test_definitions_from_installed_files_hash_like_the_ros_distribution():
    definitions = DefinitionSource()
    kilted = get_typestore(Stores.ROS2_KILTED)
    for msgtype in ("sensor_msgs/msg/JointState", "sensor_msgs/msg/Imu", "std_msgs/msg/String"):
        text, type_hash = definitions.definition(msgtype)
        assert type_hash == kilted.hash_rihs01(msgtype)
    text, type_hash = definitions.definition("humanoid_interfaces/msg/TactileFrame")
    assert type_hash.startswith("RIHS01_") and len(type_hash) == 7 + 64
    # The nested types' definitions follow, as rosbag2's ros2msg encoding has them.
    assert "MSG: humanoid_interfaces/TactilePad" in text and "MSG: std_msgs/Header" in text
    with pytest.raises(TypeSupportError, match="not installed"):
        definitions.definition("no_such_pkg/msg/Thing")
    with pytest.raises(TypeSupportError, match="package/msg/Name"):
        message_class("JointState")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_written_bag_reads_back_in_order_with_its_qos(tmp_path, storage):
    counts = write_stack_recording(tmp_path / "bag", storage, seconds=0.2)
    assert counts == {
        "/joint_states": 100,
        "/imu/data": 100,
        "/right_hand/tactile/frames": 200,
        "/left_hand/tactile/frames": 200,
        "/robot/config": 1,
    }
    info = check((tmp_path / "bag" / "metadata.yaml").read_text())
    assert info["version"] == 9 and info["storage_identifier"] == storage
    assert info["ros_distro"] != "rosbags"
    with BagReader(tmp_path / "bag") as bag:
        assert bag.message_count == 601
        assert bag.topics["/robot/config"].offered_qos == (GRAPH_LATCHED,)
        assert bag.topics["/joint_states"].offered_qos == (GRAPH_RELIABLE,)
        stamps = [t for _, t, _ in bag.messages(sorted(bag.topics), bag.start_ns, bag.end_ns + 1)]
        assert stamps == sorted(stamps) and len(stamps) == 601
        # A window: [start + 0.1 s, start + 0.15 s) of joint states at 500 Hz = 25 messages.
        window = list(bag.messages(["/joint_states"], START_NS + 10**8, START_NS + 15 * 10**7))
        assert len(window) == 25


def test_mcap_layout_matches_rosbag2(tmp_path):
    """Channel metadata and schemas as rosbag2_storage_mcap writes them."""
    write_stack_recording(tmp_path / "bag", "mcap", seconds=0.05)
    with Reader(tmp_path / "bag" / "bag.mcap") as reader:  # the file alone, without metadata
        by_topic = {c.topic: c for c in reader.connections}
        tactile = by_topic["/right_hand/tactile/frames"]
        assert tactile.msgtype == "humanoid_interfaces/msg/TactileFrame"
        assert tactile.ext.serialization_format == "cdr"
        assert tactile.msgdef.data.startswith("std_msgs/Header header")
        assert by_topic["/robot/config"].ext.offered_qos_profiles[0].durability.name == (
            "TRANSIENT_LOCAL"
        )
    header = (tmp_path / "bag" / "bag.mcap").read_bytes()[:40]
    assert header.startswith(b"\x89MCAP0\r\n") and b"ros2" in header


def test_hand_written_ros2_bag_record_sqlite3_bag_reads(tmp_path):
    serializer = Serializer()
    messages = [(START_NS + i * 10**7, serializer.string(f"m{i}")) for i in range(20)]
    bag_dir = write_ros2_bag_record_sqlite3(
        tmp_path / "rec",
        [
            ("/chatter", "std_msgs/msg/String", [GRAPH_RELIABLE], messages),
            ("/map_info", "std_msgs/msg/String", [GRAPH_LATCHED], [(START_NS, b"\0\1\0\0" * 3)]),
        ],
    )
    text = (bag_dir / "metadata.yaml").read_text()
    assert "  custom_data: ~\n" in text and 'compression_format: ""' in text
    check(text)
    tables = sqlite3.connect(bag_dir / "rec_0.db3").execute(
        "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
    )
    assert [t for (t,) in tables] == [
        "message_definitions",
        "messages",
        "metadata",
        "schema",
        "topics",
    ]
    with BagReader(bag_dir) as bag:
        assert bag.ros_distro == "kilted" and bag.message_count == 21
        assert bag.topics["/map_info"].offered_qos[0].latched
        data = [d for _, _, d in bag.messages(["/chatter"], bag.start_ns, bag.end_ns + 1)]
        assert data == [m for _, m in messages]


def test_bad_bags_give_clear_errors(tmp_path):
    with pytest.raises(BagError, match="does not exist"):
        BagReader(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match="no metadata.yaml"):
        BagReader(tmp_path / "empty")
    write_stack_recording(tmp_path / "bag", "mcap", seconds=0.02)
    metadata = tmp_path / "bag" / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("storage_identifier", "storage_id"))
    with pytest.raises(BagError, match="corrupt metadata.yaml"):
        BagReader(tmp_path / "bag")
    metadata.write_text(yaml.safe_dump({"rosbag2_bagfile_information": {"version": 9}}))
    with pytest.raises(BagError, match="corrupt metadata.yaml.*lacks"):
        BagReader(tmp_path / "bag")
    (tmp_path / "bag" / "bag.mcap").unlink()
    metadata.write_text(_minimal_metadata())
    with pytest.raises(BagError, match="cannot be opened.*missing"):
        BagReader(tmp_path / "bag")
    with pytest.raises(BagError, match="exists already"):
        BagWriter(tmp_path / "bag", "mcap")
    with pytest.raises(BagError, match="storage 'rosbag1'"):
        BagWriter(tmp_path / "new", "rosbag1")


def _minimal_metadata() -> str:
    return yaml.safe_dump(
        {
            "rosbag2_bagfile_information": {
                "version": 9,
                "storage_identifier": "mcap",
                "duration": {"nanoseconds": 0},
                "starting_time": {"nanoseconds_since_epoch": 0},
                "message_count": 0,
                "topics_with_message_count": [],
                "compression_format": "",
                "compression_mode": "",
                "relative_file_paths": ["bag.mcap"],
                "files": [],
                "custom_data": None,
                "ros_distro": "kilted",
            }
        }
    )


def test_fast_mcap_loop_matches_rosbags_across_chunks_and_overlaps(tmp_path):
    """The fast MCAP loop yields what rosbags' reader yields: chunks in order, and chunks
    whose time ranges overlap (messages written out of time order) merged by time."""
    serializer = Serializer()
    definitions = DefinitionSource()
    text, type_hash = definitions.definition("sensor_msgs/msg/JointState")
    writer = BagWriter(tmp_path / "shuffled", "mcap")
    topic = writer.add_topic("/joint_states", "sensor_msgs/msg/JointState", text, type_hash, [])
    # 4000 messages of ~1 KB: several 1 MiB chunks; blocks of 500 written in reversed order.
    payload = serializer.joint_state(START_NS, 0)
    for block in reversed(range(8)):
        for index in range(block * 500, (block + 1) * 500):
            writer.write(topic, START_NS + index * 2_000_000 + (index % 7), payload)
    writer.close()
    write_stack_recording(tmp_path / "ordered", "mcap", seconds=0.6)
    for name in ("shuffled", "ordered"):
        with BagReader(tmp_path / name) as bag:
            topics = sorted(bag.topics)
            for start, stop in (
                (bag.start_ns, bag.end_ns + 1),
                (bag.start_ns + 10**8 + 1, bag.start_ns + 5 * 10**8),
            ):
                fast = list(bag.messages(topics, start, stop))
                connections = [c for t in topics for c in bag._connections[t]]
                reference = [
                    (c.topic, stamp, data)
                    for c, stamp, data in bag._reader.messages(connections, start, stop)
                ]
                assert fast == reference and len(fast) > 100
                assert [s for _, s, _ in fast] == sorted(s for _, s, _ in fast)
