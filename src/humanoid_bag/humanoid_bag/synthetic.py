"""Synthetic recordings of the robot's streams, for tests and benchmarks (real rosbag2 files).

- :func:`write_stack_recording`: ``/joint_states`` (43 joints), both hands'
  ``tactile/frames`` (the Dex3 skins' six pads each) and ``/imu/data`` at the simulator's rates,
  written with this package's :class:`~humanoid_bag.storage.BagWriter`.
- :func:`write_ros2_bag_record_sqlite3`: a bag laid out exactly as ``ros2 bag record -s
  sqlite3`` (rosbag2 Kilted, metadata version 9, sqlite3 schema version 4) leaves it, written
  table by table with Python's ``sqlite3`` and a hand-written ``metadata.yaml`` in yaml-cpp's
  style, without rosbags' writer: the stand-in for a bag recorded by the ROS 2 CLI.

Messages are CDR-serialized by rosbags from the installed ``.msg`` definitions; every message
carries its index (``header.frame_id`` or ``sequence``) so readers can check order and loss.
"""

from __future__ import annotations

import math
import pathlib
import sqlite3
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from humanoid_bag.core.qos import INFINITE, QosProfile, dump_profiles
from humanoid_bag.storage import BagWriter
from humanoid_bag.typesupport import DefinitionSource

NS_PER_S = 1_000_000_000
START_NS = 1_790_000_000 * NS_PER_S
DEX3_PADS = ((3, 6), (3, 6), (3, 6), (3, 4), (3, 4), (6, 5))  # rows, cols per pad
JOINT_COUNT = 43
# A reliable publisher with default QoS, as the graph (and so ros2 bag record) reports it.
GRAPH_RELIABLE = QosProfile(
    history="unknown",
    depth=0,
    deadline=INFINITE,
    lifespan=INFINITE,
    liveliness="automatic",
    liveliness_lease_duration=INFINITE,
)
GRAPH_LATCHED = replace(GRAPH_RELIABLE, durability="transient_local")


class Serializer:
    """Builds and CDR-serializes the stack's messages with rosbags."""

    def __init__(self) -> None:
        self.definitions = DefinitionSource()
        self.store = self.definitions.store
        for msgtype in (
            "sensor_msgs/msg/JointState",
            "sensor_msgs/msg/Imu",
            "humanoid_interfaces/msg/TactileFrame",
            "std_msgs/msg/String",
        ):
            self.definitions.ensure(msgtype)
        self.types = self.store.types

    def header(self, stamp_ns: int, frame_id: str):
        time_type = self.types["builtin_interfaces/msg/Time"]
        stamp = time_type(sec=stamp_ns // NS_PER_S, nanosec=stamp_ns % NS_PER_S)
        return self.types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def joint_state(self, stamp_ns: int, index: int) -> bytes:
        angles = np.full(JOINT_COUNT, 0.01 * index)
        message = self.types["sensor_msgs/msg/JointState"](
            header=self.header(stamp_ns, str(index)),
            name=[f"joint_{i}" for i in range(JOINT_COUNT)],
            position=angles,
            velocity=np.zeros(JOINT_COUNT),
            effort=np.zeros(JOINT_COUNT),
        )
        return self.store.serialize_cdr(message, "sensor_msgs/msg/JointState")

    def tactile_frame(self, stamp_ns: int, index: int, skin: str) -> bytes:
        pad_type = self.types["humanoid_interfaces/msg/TactilePad"]
        pose = self.types["geometry_msgs/msg/Pose"](
            position=self.types["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0),
            orientation=self.types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        )
        pads = [
            pad_type(
                name=f"{skin}_pad_{p}",
                frame_id=f"{skin}_link_{p}",
                pose=pose,
                rows=rows,
                cols=cols,
                pitch_x=0.002,
                pitch_y=0.002,
                pressure=np.full(rows * cols, float(index % 100), np.float32),
                shear_x=np.zeros(0, np.float32),
                shear_y=np.zeros(0, np.float32),
                status=np.zeros(rows * cols, np.uint8),
            )
            for p, (rows, cols) in enumerate(DEX3_PADS)
        ]
        message = self.types["humanoid_interfaces/msg/TactileFrame"](
            header=self.header(stamp_ns, f"{skin}_palm_link"),
            skin_id=skin,
            sequence=index,
            pads=pads,
        )
        return self.store.serialize_cdr(message, "humanoid_interfaces/msg/TactileFrame")

    def imu(self, stamp_ns: int, index: int) -> bytes:
        vector = self.types["geometry_msgs/msg/Vector3"]
        message = self.types["sensor_msgs/msg/Imu"](
            header=self.header(stamp_ns, str(index)),
            orientation=self.types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
            orientation_covariance=np.zeros(9),
            angular_velocity=vector(x=0.0, y=0.0, z=0.01 * index),
            angular_velocity_covariance=np.zeros(9),
            linear_acceleration=vector(x=0.0, y=0.0, z=9.81),
            linear_acceleration_covariance=np.zeros(9),
        )
        return self.store.serialize_cdr(message, "sensor_msgs/msg/Imu")

    def string(self, text: str) -> bytes:
        message = self.types["std_msgs/msg/String"](data=text)
        return self.store.serialize_cdr(message, "std_msgs/msg/String")


def stream_schedule(seconds: float, rates_hz: dict[str, float]) -> list[tuple[int, str, int]]:
    """``(time ns, stream, index)`` of every message of streams at fixed rates, time-ordered."""
    events = []
    for stream, rate in rates_hz.items():
        count = int(math.floor(seconds * rate))
        period_ns = NS_PER_S / rate
        events += [(START_NS + round(i * period_ns), stream, i) for i in range(count)]
    events.sort()
    return events


def write_stack_recording(
    path: str | pathlib.Path,
    storage: str = "mcap",
    seconds: float = 2.0,
    joint_hz: float = 500.0,
    tactile_hz: float = 1000.0,
    imu_hz: float = 500.0,
    latched_config: bool = True,
    reuse_tactile_payloads: bool = False,
) -> dict[str, int]:
    """Write a recording of the robot's non-image streams; returns messages per topic.

    Topics: ``/joint_states``, ``/imu/data``, ``/right_hand/tactile/frames``,
    ``/left_hand/tactile/frames`` and (``latched_config``) one transient-local
    ``/robot/config`` at the start. ``reuse_tactile_payloads`` serializes 100 tactile frames
    per hand and repeats them (sequence and stamp repeat too; for benchmarks of long bags).
    """
    serializer = Serializer()
    writer = BagWriter(path, storage)
    topics = {
        "/joint_states": "sensor_msgs/msg/JointState",
        "/imu/data": "sensor_msgs/msg/Imu",
        "/right_hand/tactile/frames": "humanoid_interfaces/msg/TactileFrame",
        "/left_hand/tactile/frames": "humanoid_interfaces/msg/TactileFrame",
    }
    ids = {}
    for topic, msgtype in topics.items():
        definition, type_hash = serializer.definitions.definition(msgtype)
        ids[topic] = writer.add_topic(topic, msgtype, definition, type_hash, [GRAPH_RELIABLE])
    if latched_config:
        definition, type_hash = serializer.definitions.definition("std_msgs/msg/String")
        config = writer.add_topic(
            "/robot/config", "std_msgs/msg/String", definition, type_hash, [GRAPH_LATCHED]
        )
        writer.write(config, START_NS, serializer.string("robot: g1_dex3"))
    rates = {"joint": joint_hz, "imu": imu_hz, "right": tactile_hz, "left": tactile_hz}
    cache: dict[tuple[str, int], bytes] = {}
    for stamp_ns, stream, index in stream_schedule(seconds, rates):
        if stream == "joint":
            topic, data = "/joint_states", serializer.joint_state(stamp_ns, index)
        elif stream == "imu":
            topic, data = "/imu/data", serializer.imu(stamp_ns, index)
        else:
            topic = f"/{stream}_hand/tactile/frames"
            if not reuse_tactile_payloads:
                data = serializer.tactile_frame(stamp_ns, index, f"{stream}_hand")
            else:
                key = (stream, index % 100)
                if key not in cache:
                    cache[key] = serializer.tactile_frame(stamp_ns, key[1], f"{stream}_hand")
                data = cache[key]
        writer.write(ids[topic], stamp_ns, data)
    writer.close()
    return dict(writer.counts)


# rosbag2_storage_sqlite3 schema version 4 (sqlite_storage.cpp, Jazzy/Kilted).
SQLITE_SCHEMA = (
    "CREATE TABLE schema(schema_version INTEGER PRIMARY KEY,ros_distro TEXT NOT NULL);",
    "CREATE TABLE metadata(id INTEGER PRIMARY KEY,metadata_version INTEGER NOT NULL,"
    "metadata TEXT NOT NULL);",
    "CREATE TABLE topics(id INTEGER PRIMARY KEY,name TEXT NOT NULL,type TEXT NOT NULL,"
    "serialization_format TEXT NOT NULL,offered_qos_profiles TEXT NOT NULL,"
    "type_description_hash TEXT NOT NULL);",
    "CREATE TABLE message_definitions(id INTEGER PRIMARY KEY,topic_type TEXT NOT NULL,"
    "encoding TEXT NOT NULL,encoded_message_definition TEXT NOT NULL,"
    "type_description_hash TEXT NOT NULL);",
    "CREATE TABLE messages(id INTEGER PRIMARY KEY,topic_id INTEGER NOT NULL,"
    "timestamp INTEGER NOT NULL, data BLOB NOT NULL);",
    "CREATE INDEX timestamp_idx ON messages (timestamp ASC);",
)


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def write_ros2_bag_record_sqlite3(
    path: str | pathlib.Path,
    topics: Sequence[tuple[str, str, Sequence[QosProfile], Sequence[tuple[int, bytes]]]],
) -> pathlib.Path:
    """Write a bag the way ``ros2 bag record -s sqlite3`` (Kilted) does.

    Args:
        path: Bag directory to create.
        topics: ``(name, type, offered QoS profiles, [(time ns, CDR bytes), ...])`` per topic.

    Returns:
        The bag directory.
    """
    directory = pathlib.Path(path)
    directory.mkdir(parents=True)
    file_name = f"{directory.name}_0.db3"
    definitions = DefinitionSource()
    database = sqlite3.connect(directory / file_name)
    for statement in SQLITE_SCHEMA:
        database.execute(statement)
    database.execute("INSERT INTO schema (schema_version, ros_distro) VALUES (4, 'kilted')")
    entries, times = [], []
    for topic_id, (name, msgtype, profiles, messages) in enumerate(topics, start=1):
        text, type_hash = definitions.definition(msgtype)
        database.execute(
            "INSERT INTO topics (id, name, type, serialization_format, offered_qos_profiles, "
            "type_description_hash) VALUES (?, ?, ?, 'cdr', ?, ?)",
            (topic_id, name, msgtype, dump_profiles(profiles) + "\n", type_hash),
        )
        database.execute(
            "INSERT INTO message_definitions (topic_type, encoding, encoded_message_definition, "
            "type_description_hash) VALUES (?, 'ros2msg', ?, ?)",
            (msgtype, text, type_hash),
        )
        database.executemany(
            "INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)",
            [(topic_id, stamp, data) for stamp, data in messages],
        )
        times += [stamp for stamp, _ in messages]
        qos_yaml = "\n" + _indent(dump_profiles(profiles), 6) if profiles else " []\n"
        entries.append(
            "- topic_metadata:\n"
            f"    name: {name}\n"
            f"    type: {msgtype}\n"
            "    serialization_format: cdr\n"
            f"    offered_qos_profiles:{qos_yaml}"
            f"    type_description_hash: {type_hash}\n"
            f"  message_count: {len(messages)}\n"
        )
    start, duration = min(times), max(times) - min(times)
    body = (
        "version: 9\n"
        "storage_identifier: sqlite3\n"
        f"duration:\n  nanoseconds: {duration}\n"
        f"starting_time:\n  nanoseconds_since_epoch: {start}\n"
        f"message_count: {len(times)}\n"
        "topics_with_message_count:\n"
        + "".join(_indent(entry, 2) for entry in entries)
        + 'compression_format: ""\n'
        'compression_mode: ""\n'
        f"relative_file_paths:\n  - {file_name}\n"
        f"files:\n  - path: {file_name}\n"
        f"    starting_time:\n      nanoseconds_since_epoch: {start}\n"
        f"    duration:\n      nanoseconds: {duration}\n"
        f"    message_count: {len(times)}\n"
        "custom_data: ~\n"
        "ros_distro: kilted\n"
    )
    database.execute(
        "INSERT INTO metadata (metadata_version, metadata) VALUES (9, ?)", (body.rstrip("\n"),)
    )
    database.commit()
    database.close()
    (directory / "metadata.yaml").write_text(
        "rosbag2_bagfile_information:\n" + _indent(body.rstrip("\n"), 2)
    )
    return directory
