"""rosbag2 files through rosbags: open a bag with clear errors, write one ``ros2 bag`` can play.

Reading accepts what ``ros2 bag record`` writes: a bag directory (``metadata.yaml`` + MCAP or
sqlite3 files, metadata versions up to 9, split files, zstd compression) or a single ``.mcap`` /
``.db3`` file. Writing produces rosbag2 metadata version 9 (the layout of Jazzy and Kilted:
``offered_qos_profiles`` as a list with policy names, ``type_description_hash`` per topic,
``files`` and ``custom_data``), serialization format ``cdr``, and for MCAP the ``ros2`` profile
with ``ros2msg`` schemas, ``offered_qos_profiles`` channel metadata and the ``rosbag2``
metadata record, as rosbag2's own storage plugins do.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from humanoid_bag import mcap_fast
from humanoid_bag.core import metadata
from humanoid_bag.core.qos import QosProfile, duration_to_ns
from humanoid_bag.errors import HumanoidBagError

STORAGES = ("mcap", "sqlite3")
METADATA_VERSION = 9


class BagError(HumanoidBagError):
    """A bag cannot be opened, read or written (the message names it and why)."""


@dataclass(frozen=True)
class BagTopic:
    """One topic of a bag.

    Attributes:
        name: Topic name.
        msgtype: Message type, ``pkg/msg/Name``.
        message_count: Messages on the topic.
        offered_qos: QoS profiles its publishers offered while recording.
        type_hash: RIHS01 type description hash ("" if the bag predates them).
    """

    name: str
    msgtype: str
    message_count: int
    offered_qos: tuple[QosProfile, ...]
    type_hash: str


def qos_from_rosbags(qos) -> QosProfile:
    """A rosbags ``Qos`` as :class:`QosProfile`."""
    return QosProfile(
        history=qos.history.name.lower(),
        depth=int(qos.depth),
        reliability=qos.reliability.name.lower(),
        durability=qos.durability.name.lower(),
        deadline=(int(qos.deadline.sec), int(qos.deadline.nsec)),
        lifespan=(int(qos.lifespan.sec), int(qos.lifespan.nsec)),
        liveliness=qos.liveliness.name.lower(),
        liveliness_lease_duration=(
            int(qos.liveliness_lease_duration.sec),
            int(qos.liveliness_lease_duration.nsec),
        ),
        avoid_ros_namespace_conventions=bool(qos.avoid_ros_namespace_conventions),
    )


def qos_to_rosbags(profile: QosProfile):
    """A :class:`QosProfile` as a rosbags ``Qos`` (for its writer)."""
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    return Qos(
        QosHistory[profile.history.upper()],
        profile.depth,
        QosReliability[profile.reliability.upper()],
        QosDurability[profile.durability.upper()],
        QosTime(*profile.deadline),
        QosTime(*profile.lifespan),
        QosLiveliness[profile.liveliness.upper()],
        QosTime(*profile.liveliness_lease_duration),
        profile.avoid_ros_namespace_conventions,
    )


class BagReader:
    """An open bag. Use as a context manager or call :meth:`close`.

    Args:
        path: Bag directory, or a single ``.mcap`` / ``.db3`` file.

    Raises:
        BagError: If the path does not exist, is not a bag, or its metadata is malformed.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        from rosbags.rosbag2 import Reader

        self.path = pathlib.Path(path)
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist")
        if self.path.is_dir():
            metadata_path = self.path / "metadata.yaml"
            if not metadata_path.is_file():
                raise BagError(
                    f"bag {self.path}: no metadata.yaml in the directory (not a rosbag2)"
                )
            try:
                metadata.check(metadata_path.read_text(errors="replace"))
            except HumanoidBagError as error:
                raise BagError(f"bag {self.path}: corrupt metadata.yaml: {error}") from None
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except Exception as error:  # noqa: BLE001 - rosbags raises several kinds for bad files
            raise BagError(f"bag {self.path} cannot be opened: {error}") from None
        topics: dict[str, BagTopic] = {}
        self._connections: dict[str, list] = {}
        for connection in self._reader.connections:
            profiles = tuple(
                qos_from_rosbags(q) for q in getattr(connection.ext, "offered_qos_profiles", ())
            )
            previous = topics.get(connection.topic)
            if previous is not None and previous.msgtype != connection.msgtype:
                self.close()
                raise BagError(
                    f"bag {self.path}: topic {connection.topic} has two types, "
                    f"{previous.msgtype} and {connection.msgtype}"
                )
            count = connection.msgcount + (previous.message_count if previous else 0)
            topics[connection.topic] = BagTopic(
                connection.topic,
                connection.msgtype,
                count,
                (previous.offered_qos if previous else ()) + profiles,
                connection.digest or "",
            )
            self._connections.setdefault(connection.topic, []).append(connection)
        self.topics = topics

    @property
    def message_count(self) -> int:
        return int(self._reader.message_count)

    @property
    def start_ns(self) -> int:
        """Time of the first message [ns] (receive time while recording)."""
        return int(self._reader.start_time)

    @property
    def end_ns(self) -> int:
        """Time of the last message [ns]."""
        return int(self._reader.end_time) - 1

    @property
    def ros_distro(self) -> str:
        return self._reader.ros_distro or ""

    def messages(
        self, topics: Sequence[str], start_ns: int, stop_ns: int
    ) -> Iterator[tuple[str, int, bytes]]:
        """``(topic, time [ns], CDR bytes)`` of ``topics`` with ``start_ns <= t < stop_ns``,
        in time order.

        Raises:
            BagError: If the storage file turns out corrupt while reading.
        """
        connections = [c for topic in topics for c in self._connections[topic]]
        try:
            fast = mcap_fast.messages(self._reader, topics, start_ns, stop_ns)
            if fast is not None:
                yield from fast
                return
            for connection, timestamp, data in self._reader.messages(
                connections, start_ns, stop_ns
            ):
                yield connection.topic, timestamp, data
        except HumanoidBagError:
            raise
        except Exception as error:  # noqa: BLE001
            raise BagError(f"bag {self.path}: reading failed: {error}") from None

    def close(self) -> None:
        reader, self._reader = getattr(self, "_reader", None), None
        if reader is not None and reader.is_open:
            reader.close()

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class BagWriter:
    """A new bag directory in rosbag2 format (version 9).

    Args:
        path: Directory to create; must not exist.
        storage: ``mcap`` or ``sqlite3``.
        open_now: Create it now; else call :meth:`open` (in the thread that will write).

    Raises:
        BagError: If the directory exists or the storage is unknown.
    """

    def __init__(
        self, path: str | os.PathLike, storage: str = "mcap", open_now: bool = True
    ) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = pathlib.Path(path)
        if storage not in STORAGES:
            raise BagError(f"storage {storage!r}: expected one of {STORAGES}")
        if self.path.exists():
            raise BagError(f"output {self.path} exists already: give a new directory")
        if not self.path.parent.is_dir():
            raise BagError(f"output {self.path}: parent directory {self.path.parent} is missing")
        self.storage = storage
        self._writer = Writer(
            self.path, version=METADATA_VERSION, storage_plugin=StoragePlugin[storage.upper()]
        )
        self._connections: list = []
        self.counts: dict[str, int] = {}
        if open_now:
            self.open()

    def open(self) -> None:
        """Create the directory and the storage file. The sqlite3 storage must then be used
        from the thread that opened it only.

        Raises:
            BagError: If they cannot be created.
        """
        try:
            self._writer.open()
        except Exception as error:  # noqa: BLE001
            raise BagError(f"output {self.path} cannot be created: {error}") from None

    def add_topic(
        self,
        topic: str,
        msgtype: str,
        definition: str,
        type_hash: str,
        offered_qos: Sequence[QosProfile],
    ) -> int:
        """Register a topic; returns the id to pass to :meth:`write`."""
        connection = self._writer.add_connection(
            topic,
            msgtype,
            msgdef=definition,
            rihs01=type_hash,
            serialization_format="cdr",
            offered_qos_profiles=[qos_to_rosbags(p) for p in offered_qos],
        )
        self._connections.append(connection)
        self.counts[topic] = 0
        return len(self._connections) - 1

    def write(self, topic_id: int, timestamp_ns: int, data: bytes) -> None:
        """Append one serialized (CDR) message."""
        connection = self._connections[topic_id]
        self._writer.write(connection, timestamp_ns, data)
        self.counts[connection.topic] += 1

    def close(self) -> None:
        """Finish the storage file and write ``metadata.yaml``."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        _restyle_metadata(self.path / "metadata.yaml")


def ros_distro() -> str:
    """The running ROS 2 distribution: $ROS_DISTRO, else from rclpy's version (PyPI wheels set
    no ROS_DISTRO; rclpy 7.x is Jazzy, 9.x Kilted), else ""."""
    if os.environ.get("ROS_DISTRO"):
        return os.environ["ROS_DISTRO"]
    try:
        from importlib.metadata import version

        major = version("ros-rclpy").split(".")[0]
    except Exception:  # noqa: BLE001 - not installed from wheels
        return ""
    return {"7": "jazzy", "9": "kilted"}.get(major, "")


def _restyle_metadata(metadata_path: pathlib.Path) -> None:
    """Rewrite rosbags' metadata.yaml in rosbag2's key order, with this ROS distribution."""
    info = metadata.check(metadata_path.read_text())
    metadata_path.write_text(metadata.render(info, ros_distro()))


def finite_ns(value: tuple[int, int]) -> int | None:
    """A QoS duration in [ns], or None when it is unspecified or infinite."""
    nanoseconds = duration_to_ns(value)
    return None if nanoseconds in (0, 2**63 - 1) else nanoseconds
