"""``ros2 run humanoid_bag record``: record topics to a rosbag2 (MCAP or sqlite3).

    ros2 run humanoid_bag record -o DIR --topics /joint_states /right_hand/tactile/frames
        [--storage mcap|sqlite3] [--duration S] [--qos-depth N]
    ros2 run humanoid_bag record -o DIR --all

Topics are subscribed as soon as a publisher appears (the graph is polled at 10 Hz), with the
type and QoS their publishers offer: reliable if all are, transient-local if all are (so a
latched topic's message is recorded even if it was published before the recorder started). The
publishers' QoS profiles and type hash go into the bag's metadata, as ``ros2 bag record`` does.

Messages are taken as serialized CDR bytes (no deserialization) by rclpy's EventsExecutor and
handed to a writer thread through a queue, stamped with the recorder's clock at reception
(``use_sim_time`` follows ``/clock``). Stop with SIGINT/SIGTERM or ``--duration``: the messages
still queued in the subscriptions are drained before the bag is closed; exit code 0. Bad
arguments or an existing output directory: a message and exit code 2.
"""

from __future__ import annotations

import argparse
import datetime
import queue
import sys
import threading
import time

import rclpy
from humanoid_common.lifecycle import ignore_signals, make_executor, stop_on_signals
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from humanoid_bag.cli import positive_float, positive_int, split_ros_args
from humanoid_bag.core.qos import request_for_offers
from humanoid_bag.core.topics import absolute_topic
from humanoid_bag.errors import HumanoidBagError
from humanoid_bag.rosio import qos_from_rclpy, qos_to_rclpy
from humanoid_bag.storage import STORAGES, BagWriter
from humanoid_bag.typesupport import DefinitionSource, TypeSupportError, message_class

DISCOVERY_PERIOD_S = 0.1
DRAIN_IDLE_S = 0.1  # at stop: stop taking messages once the subscriptions were idle this long
DRAIN_LIMIT_S = 3.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line (without the program name); errors exit with code 2."""
    parser = argparse.ArgumentParser(
        prog="ros2 run humanoid_bag record",
        description="Record topics to a rosbag2 directory (MCAP or sqlite3).",
    )
    default_output = datetime.datetime.now().strftime("rosbag2_%Y_%m_%d-%H_%M_%S")
    parser.add_argument("-o", "--output", default=default_output, help="bag directory to create")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--topics", nargs="+", metavar="TOPIC", help="topics to record")
    which.add_argument("-a", "--all", action="store_true", help="record every topic seen")
    parser.add_argument("-s", "--storage", choices=STORAGES, default="mcap")
    parser.add_argument(
        "--duration", type=positive_float, help="stop after this many seconds (wall clock)"
    )
    parser.add_argument(
        "--qos-depth",
        type=positive_int,
        default=1000,
        help="keep-last depth of each subscription [messages]: slack when the writer lags",
    )
    args = parser.parse_args(argv)
    if args.topics:
        try:
            args.topics = list(dict.fromkeys(absolute_topic(t) for t in args.topics))
        except HumanoidBagError as error:
            parser.error(str(error))
    return args


class RecorderNode(Node):
    """Subscribes to topics as they appear and queues their serialized messages."""

    def __init__(self, args: argparse.Namespace, writer: BagWriter) -> None:
        super().__init__("humanoid_bag_recorder")
        self.args = args
        self.writer = writer
        self.definitions = DefinitionSource()
        self.pending: list[str] = list(args.topics or [])
        self.recorded: dict[str, str] = {}  # topic -> type
        self.taken = 0  # messages taken from the subscriptions
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._clock = self.get_clock()
        self._writer_thread = threading.Thread(target=self._write_loop, name="bag_writer")
        self._writer_thread.start()
        self.write_error: BaseException | None = None

    # ------------------------------------------------------------------ discovery
    def discover(self) -> None:
        """Subscribe to every wanted topic that has publishers now."""
        if self.args.all:
            for name, _ in self.get_topic_names_and_types():
                hidden = any(part.startswith("_") for part in name.split("/"))
                if name not in self.recorded and name not in self.pending and not hidden:
                    self.pending.append(name)
        for topic in list(self.pending):
            infos = self.get_publishers_info_by_topic(topic)
            if not infos:
                continue
            self.pending.remove(topic)
            types = sorted({info.topic_type for info in infos})
            if len(types) > 1:
                self.get_logger().error(f"not recording {topic}: publishers disagree on {types}")
                continue
            try:
                self._subscribe(topic, types[0], infos)
            except TypeSupportError as error:
                self.get_logger().error(f"not recording {topic}: {error}")

    def _subscribe(self, topic: str, msgtype: str, infos) -> None:
        definition, computed_hash = self.definitions.definition(msgtype)
        announced = {str(info.topic_type_hash) for info in infos} - {"", "None"}
        type_hash = sorted(announced)[0] if len(announced) == 1 else computed_hash
        if type_hash != computed_hash:
            self.get_logger().warning(
                f"{topic}: publishers announce type hash {type_hash}, the installed definition "
                f"of {msgtype} hashes to {computed_hash}: recording the announced one"
            )
        offers = [qos_from_rclpy(info.qos_profile) for info in infos]
        request = request_for_offers(offers, self.args.qos_depth)
        message_type = message_class(msgtype)
        topic_id = len(self.recorded)
        put, now = self._queue.put, self._clock.now
        put(("topic", (topic, msgtype, definition, type_hash, offers)))

        def on_message(data: bytes) -> None:
            put((topic_id, now().nanoseconds, data))
            self.taken += 1

        self.create_subscription(message_type, topic, on_message, qos_to_rclpy(request), raw=True)
        self.recorded[topic] = msgtype
        print(
            f"[record] subscribed {topic} ({msgtype}) from {len(infos)} publisher(s): "
            f"{request.reliability}, {request.durability}",
            flush=True,
        )

    # --------------------------------------------------------------------- writing
    def _write_loop(self) -> None:
        """The bag is opened, written and closed in this thread only (sqlite3 requires it)."""
        get, write = self._queue.get, self.writer.write
        try:
            self.writer.open()
            while (item := get()) is not None:
                if type(item[0]) is int:
                    write(*item)
                else:
                    self.writer.add_topic(*item[1])
            self.writer.close()
        except BaseException as error:  # noqa: BLE001 - reported by main()
            self.write_error = error

    def finish_writing(self) -> None:
        """Write what is queued, then close the bag (metadata.yaml)."""
        self._queue.put(None)
        self._writer_thread.join()


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    """Record until a signal or ``--duration``; returns the exit code."""
    try:
        writer = BagWriter(args.output, args.storage, open_now=False)
    except HumanoidBagError as error:
        print(f"record: {error}", file=sys.stderr)
        return 2
    rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
    stop = stop_on_signals()
    node = RecorderNode(args, writer)
    executor = make_executor()
    executor.add_node(node)
    print(f"[record] recording to {args.output} ({args.storage})", flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    next_discovery = 0.0
    try:
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_discovery:
                node.discover()
                next_discovery = now + DISCOVERY_PERIOD_S
            if deadline is not None and now >= deadline:
                break
            executor.spin_once(timeout_sec=DISCOVERY_PERIOD_S / 2)
        # Take what the subscriptions still hold, until they stay idle.
        drain_end = time.monotonic() + DRAIN_LIMIT_S
        while time.monotonic() < drain_end:
            taken = node.taken
            executor.spin_once(timeout_sec=DRAIN_IDLE_S)
            if node.taken == taken:
                break
    finally:
        ignore_signals()
        node.finish_writing()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    if node.write_error is not None:
        print(f"record: writing {args.output} failed: {node.write_error!r}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{t} {n}" for t, n in sorted(writer.counts.items())) or "no topics"
    print(f"[record] wrote {sum(writer.counts.values())} messages to {args.output}: {counts}")
    missing = sorted(set(args.topics or []) - set(node.recorded))
    if missing:
        print(f"[record] never saw a publisher on {missing}", file=sys.stderr)
    return 0


def main(args: list[str] | None = None) -> int:
    """Console script ``record``."""
    program, ros = split_ros_args(list(args if args is not None else sys.argv))
    return run(parse_args(program[1:]), ros)


if __name__ == "__main__":
    sys.exit(main())
