"""``ros2 run humanoid_bag play``: replay a rosbag2 (MCAP or sqlite3) onto the ROS graph.

    ros2 run humanoid_bag play DIR [--rate R | --fast] [--loop] [--start-offset S]
        [--duration S] [--topics T ...] [--remap FROM:=TO ...] [--clock [HZ]]
        [--qos-profile-overrides-path FILE] [--wait-for-subscribers] [--delay S] [--hold]

Messages go out as the recorded CDR bytes (no deserialization), in time order, paced by their
recorded timestamps divided by ``--rate`` (``--fast``: as fast as the bag is read). Each topic
is published with the QoS its publishers offered while recording (one profile shared by all of
them; otherwise reliable/volatile keep-last 10, as ``ros2 bag play`` does), so a latched
(transient-local) topic reaches late subscribers. ``--clock`` publishes the bag time on
``/clock`` at HZ (default 40) for nodes with ``use_sim_time``.

Exit codes: 0 after playback (or on SIGINT/SIGTERM), 2 for bad arguments or a bad bag (missing,
corrupt metadata, unknown topic, bad rate, ...), with a message naming the problem.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path

import rclpy
from humanoid_common.lifecycle import ignore_signals, stop_on_signals
from rclpy.duration import Duration
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock

from humanoid_bag.cli import nonnegative_float, positive_float, split_ros_args
from humanoid_bag.core.qos import QosError, load_overrides, offer_for_playback
from humanoid_bag.core.timing import ClockTicker, RateSchedule, select_window
from humanoid_bag.core.topics import parse_remaps, plan_routes
from humanoid_bag.errors import HumanoidBagError
from humanoid_bag.rosio import qos_to_rclpy
from humanoid_bag.storage import BagReader
from humanoid_bag.typesupport import TypeSupportError, message_class

DEFAULT_CLOCK_HZ = 40.0
IDLE_SLICE_S = 0.05  # longest sleep between checks of the stop flag
# A message due this soon goes out now: sleeping for less costs more than it gains (the sleep
# overshoots by tens of microseconds) and starves fast paced playback.
EARLY_S = 0.0005
WAIT_FOR_SUBSCRIBERS_S = 60.0
ACK_TIMEOUT_S = 5.0  # longest wait at the end for reliable subscribers to acknowledge
PUBLISH_RETRY_S = 5.0  # longest wait for a slow reliable subscriber before dropping


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line (without the program name); errors exit with code 2."""
    parser = argparse.ArgumentParser(
        prog="ros2 run humanoid_bag play", description="Replay a rosbag2 (MCAP or sqlite3)."
    )
    parser.add_argument("bag", help="bag directory (metadata.yaml + files) or a .mcap/.db3 file")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("-r", "--rate", type=positive_float, default=1.0, help="speed factor > 0")
    pace.add_argument("--fast", action="store_true", help="no pacing: as fast as possible")
    parser.add_argument("-l", "--loop", action="store_true", help="play again at the end")
    parser.add_argument(
        "--start-offset", type=nonnegative_float, default=0.0, help="skip the first S seconds"
    )
    parser.add_argument("--duration", type=positive_float, help="play S seconds of the bag")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC", help="play only these topics")
    parser.add_argument(
        "--remap",
        nargs="+",
        action="extend",
        default=[],
        metavar="FROM:=TO",
        help="publish bag topic FROM on topic TO",
    )
    parser.add_argument(
        "--clock",
        nargs="?",
        type=positive_float,
        const=DEFAULT_CLOCK_HZ,
        metavar="HZ",
        help=f"publish /clock at HZ (default {DEFAULT_CLOCK_HZ:g})",
    )
    parser.add_argument(
        "--qos-profile-overrides-path",
        type=Path,
        metavar="FILE",
        help="YAML {topic: QoS profile} that replaces the recorded QoS",
    )
    parser.add_argument(
        "--wait-for-subscribers",
        action="store_true",
        help="start once every played volatile topic has a subscriber (a message sent before "
        "discovery is lost; latched topics reach late subscribers anyway)",
    )
    parser.add_argument("--delay", type=nonnegative_float, default=0.0, help="wait S s first")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="after playback keep the publishers (latched topics) until SIGINT",
    )
    return parser.parse_args(argv)


class Plan:
    """What to play, checked before any ROS entity exists (bad input: HumanoidBagError)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.bag = BagReader(args.bag)
        try:
            self._build(args)
        except BaseException:
            self.bag.close()
            raise

    def _build(self, args: argparse.Namespace) -> None:
        bag = self.bag
        if bag.message_count == 0:
            raise HumanoidBagError(f"bag {bag.path} holds no messages")
        types = {name: topic.msgtype for name, topic in bag.topics.items()}
        routes = plan_routes(types, args.topics, parse_remaps(args.remap))
        overrides = {}
        if args.qos_profile_overrides_path is not None:
            path = args.qos_profile_overrides_path
            if not path.is_file():
                raise QosError(f"QoS override file {path} does not exist")
            overrides = load_overrides(path.read_text(), str(path))
        self.window = select_window(bag.start_ns, bag.end_ns, args.start_offset, args.duration)
        self.routes, self.classes, self.profiles, self.notes = [], {}, {}, []
        for route in routes:
            if args.clock and route.output_topic == "/clock":
                self.notes.append(f"skipping {route.bag_topic}: --clock publishes /clock")
                continue
            try:
                self.classes[route.bag_topic] = message_class(route.msgtype)
            except TypeSupportError as error:
                self.notes.append(f"skipping {route.bag_topic}: {error}")
                continue
            if route.output_topic in overrides:
                profile, note = overrides[route.output_topic], "override"
            else:
                profile, note = offer_for_playback(bag.topics[route.bag_topic].offered_qos)
            self.profiles[route.bag_topic] = profile
            if note:
                self.notes.append(f"{route.bag_topic}: {note}")
            self.routes.append(route)
        if not self.routes:
            raise HumanoidBagError(f"nothing to play from {bag.path}: {'; '.join(self.notes)}")


class PlayerNode(Node):
    """Publishers for the planned routes, and the pacing loop."""

    def __init__(self, plan: Plan, args: argparse.Namespace) -> None:
        super().__init__("humanoid_bag_player")
        self.plan, self.args = plan, args
        self.publishers_by_topic = {}
        for route in plan.routes:
            profile = plan.profiles[route.bag_topic]
            self.publishers_by_topic[route.bag_topic] = self.create_publisher(
                plan.classes[route.bag_topic], route.output_topic, qos_to_rclpy(profile)
            )
            print(
                f"[play] {route.bag_topic} -> {route.output_topic} ({route.msgtype}): "
                f"{profile.reliability}, {profile.durability}, depth {max(1, profile.depth)}",
                flush=True,
            )
        self.clock_publisher = None
        if args.clock:
            # Reliable keep-last 1 matches reliable and best-effort /clock subscribers alike.
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
            self.clock_publisher = self.create_publisher(Clock, "/clock", qos)
        self.published = 0
        self.dropped = 0

    def wait_for_subscribers(self, stop, timeout_s: float) -> bool:
        """Wait until every volatile topic's publisher has a matched subscription.

        Returns:
            False if stopped or timed out first.
        """
        deadline = time.monotonic() + timeout_s
        publishers = [
            publisher
            for topic, publisher in self.publishers_by_topic.items()
            if not self.plan.profiles[topic].latched
        ]
        while not stop.is_set() and time.monotonic() < deadline:
            if all(p.get_subscription_count() > 0 for p in publishers):
                return True
            time.sleep(0.02)
        return False

    def wait_for_acknowledgements(self, timeout_s: float) -> bool:
        """Wait until reliable subscribers acknowledged every message (so exiting right after
        loses none); False if some did not within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        for publisher in self.publishers_by_topic.values():
            left = max(0.0, deadline - time.monotonic())
            if not publisher.wait_for_all_acked(Duration(nanoseconds=int(left * 1e9))):
                return False
        return True

    def publish_clock(self, bag_ns: int) -> None:
        message = Clock()
        message.clock.sec, message.clock.nanosec = divmod(bag_ns, 1_000_000_000)
        self.clock_publisher.publish(message)

    def play_pass(self, stop) -> tuple[float, int]:
        """Play the window once; returns (wall seconds from first to last message, bag ns)."""
        window = self.plan.window
        rate = math.inf if self.args.fast else self.args.rate
        schedule = RateSchedule(rate, window.start_ns, time.monotonic())
        ticker = ClockTicker(self.args.clock, time.monotonic()) if self.clock_publisher else None
        send = {topic: _raw_sender(p) for topic, p in self.publishers_by_topic.items()}
        monotonic, stopped, due_s = time.monotonic, stop.is_set, schedule.due_s
        timed = rate != math.inf or ticker is not None
        count, first_wall, first_ns, last_ns = 0, 0.0, window.start_ns, window.start_ns
        # The hot loop of --fast playback: read, publish the CDR bytes, count.
        for topic, bag_ns, data in self.plan.bag.messages(list(send), *window):
            if timed:
                now, target = monotonic(), due_s(bag_ns) - EARLY_S
                if now < target or (ticker is not None and now >= ticker.next_s):
                    schedule.mark_published(last_ns)
                    self._wait_until(target, schedule, ticker, stop)
            if stopped():
                break
            try:
                send[topic](data)
            except TypeError:  # a storage handed out a memoryview
                send[topic](bytes(data))
            except Exception as error:  # noqa: BLE001 - rclpy raises its RCLError
                self._send_blocked(send[topic], data, topic, error, stop)
            if count == 0:
                first_wall, first_ns = monotonic(), bag_ns
            count += 1
            last_ns = bag_ns
        wall_s = monotonic() - first_wall if count else 0.0
        self.published += count
        if ticker is not None and not stopped():
            schedule.mark_published(last_ns)
            self.publish_clock(schedule.bag_time_ns(monotonic(), window.stop_ns - 1))
        return wall_s, last_ns - first_ns

    def _send_blocked(self, send, data: bytes, topic: str, error: Exception, stop) -> None:
        """Retry a publish the middleware refused.

        A reliable writer whose history is full of messages a subscriber has not acknowledged
        blocks, then fails (Fast DDS: after 100 ms). The subscriber is slower than the
        playback: wait for it (back-pressure, nothing lost) up to ``PUBLISH_RETRY_S``, then
        drop the message and count it.
        """
        deadline = time.monotonic() + PUBLISH_RETRY_S
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                send(data)
                return
            except Exception as retry_error:  # noqa: BLE001
                error = retry_error
                time.sleep(0.001)
        self.dropped += 1
        self.get_logger().warning(
            f"dropped a message on {topic}: {error}", throttle_duration_sec=1.0
        )

    def _wait_until(self, due: float, schedule: RateSchedule, ticker, stop) -> None:
        """Sleep until wall time ``due``, publishing /clock ticks meanwhile; returns early when
        stopped."""
        stop_ns = self.plan.window.stop_ns - 1
        while True:
            now = time.monotonic()
            if ticker is not None and ticker.due(now):
                self.publish_clock(schedule.bag_time_ns(now, stop_ns))
            if now >= due or stop.is_set():
                return
            wake = min(due, ticker.next_s) if ticker is not None else due
            time.sleep(min(wake - now, IDLE_SLICE_S))


def _raw_sender(publisher):
    """The fastest way to publish serialized bytes on ``publisher``.

    ``Publisher.publish(bytes)`` type-checks and locks on every call (about 8 us here); the
    underlying ``publish_raw`` it ends up calling takes 3.5 us. Publishers are destroyed only
    after playback, by this thread, so the lock is not needed; where an rclpy version lacks the
    attribute, ``publish`` is used.
    """
    raw = getattr(getattr(publisher, "_Publisher__publisher", None), "publish_raw", None)
    return raw if callable(raw) else publisher.publish


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    """Play as the arguments say; returns the exit code."""
    try:
        plan = Plan(args)
    except HumanoidBagError as error:
        print(f"play: {error}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(f"[play] {note}", file=sys.stderr)
    rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
    stop = stop_on_signals()
    node = PlayerNode(plan, args)
    # The pacing loop publishes from this thread; an executor in another one serves the node's
    # parameter services, so that launch tools and the test harness see a normal node.
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    serving = threading.Event()
    serving.set()

    def serve() -> None:
        while serving.is_set():
            executor.spin_once(timeout_sec=0.1)

    spinner = threading.Thread(target=serve, name="player_services", daemon=True)
    spinner.start()
    wall_s, bag_ns, passes = 0.0, 0, 0
    try:
        if args.wait_for_subscribers and not node.wait_for_subscribers(
            stop, WAIT_FOR_SUBSCRIBERS_S
        ):
            print("[play] not every topic got a subscriber; playing anyway", file=sys.stderr)
        stop.wait(args.delay)
        window = plan.window
        print(
            f"[play] playing {plan.bag.path}: {len(plan.routes)} topic(s), bag time "
            f"[{(window.start_ns - plan.bag.start_ns) / 1e9:.3f}, "
            f"{(window.stop_ns - plan.bag.start_ns) / 1e9:.3f}) s, "
            f"{'no pacing' if args.fast else f'rate {args.rate:g}'}"
            f"{', loop' if args.loop else ''}",
            flush=True,
        )
        while not stop.is_set():
            pass_wall_s, pass_bag_ns = node.play_pass(stop)
            wall_s, bag_ns, passes = wall_s + pass_wall_s, bag_ns + pass_bag_ns, passes + 1
            if not args.loop:
                break
        if not stop.is_set():
            node.wait_for_acknowledgements(ACK_TIMEOUT_S)
        stats = {
            "messages": node.published - node.dropped,
            "dropped": node.dropped,
            "passes": passes,
            "wall_s": round(wall_s, 6),
            "bag_s": round(bag_ns / 1e9, 6),
            "messages_per_s": round(node.published / wall_s, 1) if wall_s > 0 else None,
            "x_real_time": round(bag_ns / 1e9 / wall_s, 3) if wall_s > 0 else None,
        }
        print(f"[play] done {json.dumps(stats)}", flush=True)
        if args.hold:
            print("[play] holding the publishers until SIGINT", flush=True)
            stop.wait()
    except HumanoidBagError as error:
        print(f"play: {error}", file=sys.stderr)
        return 2
    finally:
        ignore_signals()
        serving.clear()
        spinner.join(timeout=2.0)
        executor.remove_node(node)
        plan.bag.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main(args: list[str] | None = None) -> int:
    """Console script ``play``."""
    program, ros = split_ros_args(list(args if args is not None else sys.argv))
    return run(parse_args(program[1:]), ros)


if __name__ == "__main__":
    sys.exit(main())
