"""`replay` backend: the wire bytes of a rosbag2 recording, fed through the protocol decoder.

The driver publishes every frame it receives, byte for byte, as humanoid_interfaces/TactileRaw
on ``/<skin>/tactile/wire``; ``ros2 bag record`` (or this stack's recorder) stores them. Replay
reads such a bag (MCAP or sqlite3, with rosbags) and feeds the bytes through the same decoder
the serial backend uses, paced by the recorded timestamps, so a test bench reproduces exactly
what the hardware sent, CRC errors and all.
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections import deque

from tactile_driver.backends.base import BackendContext, BackendError, TactileBackend
from tactile_driver.core.frames import RawFrame
from tactile_driver.core.protocol import FrameDecoder

TACTILE_RAW = "humanoid_interfaces/msg/TactileRaw"


def typestore_with_stack_types():
    """A rosbags typestore with the ROS 2 standard types and humanoid_interfaces' types."""
    from ament_index_python.packages import get_package_share_directory
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    share = pathlib.Path(get_package_share_directory("humanoid_interfaces")) / "msg"
    types = {}
    for path in sorted(share.glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"humanoid_interfaces/msg/{path.stem}"))
    store.register(types)
    return store


class ReplayBackend(TactileBackend):
    """Replays TactileRaw messages from a bag.

    Options:
        bag: Path of the rosbag2 folder or file (required).
        topic: Topic to read (default ``/<skin>/tactile/wire``).
        rate: Playback speed relative to the recording (default 1.0; 0 = as fast as read).
        loop: Start again at the end (default false).
        queue_size: Frames kept when the driver falls behind (default 256).
    """

    def __init__(self, options, context: BackendContext):
        super().__init__(options, context)
        self._unknown_options({"bag", "topic", "rate", "loop", "queue_size"})
        if "bag" not in self.options:
            raise BackendError("backend 'replay' needs option 'bag' (a rosbag2 path)")
        self.bag = pathlib.Path(str(self.options["bag"]))
        if not self.bag.exists():
            raise BackendError(f"backend 'replay': bag {self.bag} does not exist")
        self.topic = str(self.options.get("topic", f"/{context.skin}/tactile/wire"))
        self.rate = float(self.options.get("rate", 1.0))
        if self.rate < 0:
            raise BackendError(f"backend 'replay': rate must be >= 0, got {self.rate}")
        self.loop = bool(self.options.get("loop", False))
        self._queue: deque[RawFrame] = deque(maxlen=int(self.options.get("queue_size", 256)))
        self._condition = threading.Condition()
        self._decoder = FrameDecoder()
        self._running = False
        self._thread: threading.Thread | None = None
        self.finished = False
        self._counters = {"messages": 0, "dropped_queue": 0}

    def start(self) -> None:
        from rosbags.highlevel import AnyReader

        store = typestore_with_stack_types()
        try:
            reader = AnyReader([self.bag], default_typestore=store)
            reader.open()
        except Exception as error:  # noqa: BLE001 - any reader failure is a bad bag
            raise BackendError(f"backend 'replay': cannot open bag {self.bag}: {error}") from error
        connections = [c for c in reader.connections if c.topic == self.topic]
        if not connections:
            topics = sorted({c.topic for c in reader.connections})
            reader.close()
            raise BackendError(
                f"backend 'replay': no topic {self.topic!r} in {self.bag}; has {topics}"
            )
        self._reader, self._connections = reader, connections
        self._running = True
        self._thread = threading.Thread(target=self._play, name="tactile_replay", daemon=True)
        self._thread.start()

    def _play(self) -> None:
        try:
            while self._running:
                first_bag_ns, first_wall = None, time.monotonic()
                for connection, bag_ns, raw in self._reader.messages(connections=self._connections):
                    if not self._running:
                        return
                    if first_bag_ns is None:
                        first_bag_ns = bag_ns
                    if self.rate > 0:
                        due = first_wall + (bag_ns - first_bag_ns) * 1e-9 / self.rate
                        delay = due - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    msg = self._reader.deserialize(raw, connection.msgtype)
                    self._counters["messages"] += 1
                    frames = self._decoder.feed(bytes(msg.data), time.monotonic_ns())
                    if frames:
                        with self._condition:
                            for frame in frames:
                                if len(self._queue) == self._queue.maxlen:
                                    self._counters["dropped_queue"] += 1
                                self._queue.append(frame)
                            self._condition.notify_all()
                if not self.loop:
                    break
        finally:
            self.finished = True
            with self._condition:
                self._condition.notify_all()

    def read(self, timeout: float) -> list[RawFrame]:
        with self._condition:
            if not self._queue and not self.finished:
                self._condition.wait(timeout)
            frames = list(self._queue)
            self._queue.clear()
        return frames

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()

    def stats(self) -> dict[str, float]:
        decoder = {k: float(v) for k, v in self._decoder.counters().items()}
        return {
            **self._counters,
            **decoder,
            "finished": float(self.finished),
            "connected": 0.0 if self.finished else 1.0,
        }
