"""humanoid_common.polled: subscriptions taken in batches, with real rclpy and DDS in-process.

The owner node is spun by an executor the whole time: a polled subscription's messages must
reach its callback only through ``poll()``, all of them, oldest first, on the topic the owner's
remappings name.
"""

from __future__ import annotations

import time

import pytest

rclpy = pytest.importorskip("rclpy")

from humanoid_common.lifecycle import make_executor  # noqa: E402
from humanoid_common.polled import PolledSubscriptions  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from rclpy.signals import SignalHandlerOptions  # noqa: E402
from std_msgs.msg import Int32  # noqa: E402

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture
def context():
    context = Context()
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    yield context
    rclpy.try_shutdown(context=context)


def _owner(context, name: str, cli_args=None):
    return rclpy.create_node(name, context=context, cli_args=cli_args)


def _wait_matched(publisher, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while publisher.get_subscription_count() == 0:
        assert time.monotonic() < deadline, "the polled subscription was never discovered"
        time.sleep(0.05)


def _spin_for(executor, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.02)


def _poll_until(polled: PolledSubscriptions, received: list, count: int, timeout_s=10.0) -> int:
    taken, deadline = 0, time.monotonic() + timeout_s
    while len(received) < count and time.monotonic() < deadline:
        taken += polled.poll()
        time.sleep(0.02)
    return taken


def test_messages_wait_for_poll_and_arrive_all_in_order(context) -> None:
    owner = _owner(context, "polled_owner")
    publisher_node = rclpy.create_node("polled_publisher", context=context)
    executor = make_executor(context=context)
    executor.add_node(owner)
    executor.add_node(publisher_node)
    polled = PolledSubscriptions(owner)
    received: list[int] = []
    polled.create_subscription(Int32, "numbers", lambda m: received.append(m.data), RELIABLE)
    publisher = publisher_node.create_publisher(Int32, "numbers", RELIABLE)
    try:
        _wait_matched(publisher)
        for value in range(40):
            publisher.publish(Int32(data=value))
        _spin_for(executor, 0.5)  # the executor spins the owner: nothing may be dispatched
        assert received == []
        taken = _poll_until(polled, received, 40)
        assert taken == 40
        assert received == list(range(40))
        assert polled.poll() == 0  # taken once only
        names = {name for name, _ in owner.get_node_names_and_namespaces()}
        assert "polled_owner_polled" in names
    finally:
        executor.shutdown()
        polled.destroy()
        publisher_node.destroy_node()
        owner.destroy_node()


def test_raw_subscriptions_get_the_serialized_bytes(context) -> None:
    owner = _owner(context, "polled_raw_owner")
    polled = PolledSubscriptions(owner)
    received: list[bytes] = []
    polled.create_subscription(Int32, "raw_numbers", received.append, RELIABLE, raw=True)
    publisher = owner.create_publisher(Int32, "raw_numbers", RELIABLE)
    try:
        _wait_matched(publisher)
        publisher.publish(Int32(data=7))
        _poll_until(polled, received, 1)
        from rclpy.serialization import deserialize_message

        assert len(received) == 1 and isinstance(received[0], bytes)
        assert deserialize_message(received[0], Int32).data == 7
    finally:
        polled.destroy()
        owner.destroy_node()


def test_the_owners_remappings_apply_and_its_node_remap_does_not_rename_the_companion(
    context,
) -> None:
    owner = _owner(
        context,
        "polled_remapped",
        cli_args=["--ros-args", "-r", "__node:=brain_x", "-r", "/numbers:=/elsewhere"],
    )
    polled = PolledSubscriptions(owner)
    received: list[int] = []
    subscription = polled.create_subscription(
        Int32, "/numbers", lambda m: received.append(m.data), RELIABLE
    )
    publisher = owner.create_publisher(Int32, "/elsewhere", RELIABLE)
    try:
        assert subscription.topic_name == "/elsewhere"
        assert polled.node.get_name() == "brain_x_polled"
        _wait_matched(publisher)
        publisher.publish(Int32(data=3))
        _poll_until(polled, received, 1)
        assert received == [3]
    finally:
        polled.destroy()
        owner.destroy_node()


def test_a_full_queue_keeps_the_newest(context) -> None:
    owner = _owner(context, "polled_shallow")
    polled = PolledSubscriptions(owner)
    received: list[int] = []
    shallow = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    polled.create_subscription(Int32, "burst", lambda m: received.append(m.data), shallow)
    publisher = owner.create_publisher(Int32, "burst", shallow)
    try:
        _wait_matched(publisher)
        for value in range(30):
            publisher.publish(Int32(data=value))
        time.sleep(0.5)
        polled.poll()
        assert received and received == sorted(received)
        assert len(received) <= 5 and received[-1] == 29
    finally:
        polled.destroy()
        owner.destroy_node()
