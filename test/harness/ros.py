"""An rclpy node for tests: subscribe, publish, call services and wait, always with a deadline.

:class:`TestNode` owns its own rclpy context and spins a SingleThreadedExecutor in a background
thread, so the test's thread only waits on conditions. Every wait takes a timeout and raises a
``TimeoutError`` that names the topic or service (and, for topics, who publishes it with which
QoS, the usual reason a subscriber hears nothing).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Generic, NamedTuple, TypeVar

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import parameter_value_to_python
from rclpy.publisher import Publisher
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from rclpy.signals import SignalHandlerOptions

DEFAULT_TIMEOUT_S = 10.0
_POLL_PERIOD_S = 0.02

MessageT = TypeVar("MessageT")


def sensor_qos(depth: int = 10) -> QoSProfile:
    """Best effort, keep last: how the stack publishes sensor streams.

    A best-effort subscription also hears reliable publishers.
    """
    return QoSProfile(
        depth=depth,
        history=HistoryPolicy.KEEP_LAST,
        reliability=ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.VOLATILE,
    )


def reliable_qos(depth: int = 10) -> QoSProfile:
    """Reliable, keep last: commands and state. Hears only reliable publishers."""
    return QoSProfile(
        depth=depth,
        history=HistoryPolicy.KEEP_LAST,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def latched_qos(depth: int = 1) -> QoSProfile:
    """Reliable, transient local: configuration-like topics; late subscribers get the last one."""
    return QoSProfile(
        depth=depth,
        history=HistoryPolicy.KEEP_LAST,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


class Collector(Generic[MessageT]):
    """Messages received on one topic, in arrival order, with their arrival times.

    Created by :meth:`TestNode.collect`; the subscription lives until :meth:`close`.
    """

    def __init__(self, topic: str, describe_publishers: Callable[[], str]) -> None:
        self.topic = topic
        self._describe_publishers = describe_publishers
        self._messages: list[MessageT] = []
        self._arrival_times: list[float] = []
        self._condition = threading.Condition()
        self._close: Callable[[], None] = lambda: None
        self._publisher_count: Callable[[], int] = lambda: 0

    def _on_message(self, message: MessageT) -> None:
        with self._condition:
            self._messages.append(message)
            self._arrival_times.append(time.monotonic())
            self._condition.notify_all()

    @property
    def messages(self) -> list[MessageT]:
        """A copy of the messages received so far."""
        with self._condition:
            return list(self._messages)

    @property
    def arrival_times(self) -> list[float]:
        """``time.monotonic()`` at each message's arrival [s]."""
        with self._condition:
            return list(self._arrival_times)

    def __len__(self) -> int:
        with self._condition:
            return len(self._messages)

    def clear(self) -> None:
        with self._condition:
            self._messages.clear()
            self._arrival_times.clear()

    def wait_for(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT_S) -> list[MessageT]:
        """Wait until at least ``count`` messages arrived; return all received so far.

        Raises:
            TimeoutError: Naming the topic, how many arrived, and who publishes it.
        """
        with self._condition:
            if self._condition.wait_for(lambda: len(self._messages) >= count, timeout):
                return list(self._messages)
            received = len(self._messages)
        raise TimeoutError(
            f"only {received} of {count} message(s) on '{self.topic}' within {timeout} s; "
            f"{self._describe_publishers()}"
        )

    def wait_until(
        self, predicate: Callable[[MessageT], bool], timeout: float = DEFAULT_TIMEOUT_S
    ) -> MessageT:
        """Wait for a message (already received or new) for which ``predicate`` is true.

        Raises:
            TimeoutError: Naming the topic and how many messages did not match.
        """

        def first_match() -> MessageT | None:
            return next((m for m in self._messages if predicate(m)), None)

        with self._condition:
            if self._condition.wait_for(lambda: first_match() is not None, timeout):
                match = first_match()
                assert match is not None
                return match
            received = len(self._messages)
        raise TimeoutError(
            f"no matching message on '{self.topic}' within {timeout} s "
            f"({received} received, none matched); {self._describe_publishers()}"
        )

    def wait_for_publishers(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT_S) -> int:
        """Wait until this subscription matched ``count`` publishers (QoS-compatible ones whose
        discovery completed); return how many it matched."""
        deadline = time.monotonic() + timeout
        while (matched := self._publisher_count()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"this subscription to '{self.topic}' matched only {matched} of {count} "
                    f"publisher(s) within {timeout} s; {self._describe_publishers()}"
                )
            time.sleep(_POLL_PERIOD_S)
        return matched

    def close(self) -> None:
        """Destroy the subscription; the messages stay readable."""
        self._close()
        self._close = lambda: None
        self._publisher_count = lambda: 0


class RateMeasurement(NamedTuple):
    """Result of :meth:`TestNode.measure_rate`."""

    message_count: int
    duration_s: float
    rate_hz: float
    max_period_s: float


class TestNode:
    """An rclpy node spinning in a background thread, for driving and observing a ROS graph.

    Use it as a context manager (or call :meth:`close`). Uses the ROS_DOMAIN_ID of the
    environment, which :func:`harness.domain.configure_environment` makes private to the run.

    Args:
        name: Node name.
        namespace: Node namespace; relative topic names resolve against it.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, name: str = "harness_test_node", namespace: str = "/") -> None:
        self.context = Context()
        # No signal handlers: Ctrl-C must keep interrupting pytest, not this context.
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        try:
            self.node: Node = rclpy.create_node(name, namespace=namespace, context=self.context)
            self._executor = SingleThreadedExecutor(context=self.context)
            self._executor.add_node(self.node)
        except BaseException:
            rclpy.try_shutdown(context=self.context)
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name=f"{name}_spin", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.05)
            except Exception:
                if not self.context.ok():
                    break
                # A test's callback failed: show it, and keep the node alive for the others.
                traceback.print_exc()

    def close(self) -> None:
        """Stop spinning and shut the node and its context down."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> TestNode:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- topics ---------------------------------------------------------------------------

    def collect(
        self, topic: str, message_type: type[MessageT], qos: QoSProfile | None = None
    ) -> Collector[MessageT]:
        """Subscribe to ``topic`` and keep every message (default QoS: reliable, depth 100)."""
        collector: Collector[MessageT] = Collector(topic, lambda: self.describe_publishers(topic))
        subscription = self.node.create_subscription(
            message_type, topic, collector._on_message, qos or reliable_qos(100)
        )
        collector._close = lambda: self.node.destroy_subscription(subscription)
        collector._publisher_count = subscription.get_publisher_count
        return collector

    def wait_for_message(
        self,
        topic: str,
        message_type: type[MessageT],
        timeout: float = DEFAULT_TIMEOUT_S,
        qos: QoSProfile | None = None,
        predicate: Callable[[MessageT], bool] | None = None,
    ) -> MessageT:
        """Return the first message on ``topic`` (that satisfies ``predicate``, if given).

        Raises:
            TimeoutError: If none arrives within ``timeout`` seconds.
        """
        collector = self.collect(topic, message_type, qos)
        try:
            if predicate is None:
                return collector.wait_for(1, timeout)[0]
            return collector.wait_until(predicate, timeout)
        finally:
            collector.close()

    def publisher(
        self,
        topic: str,
        message_type: type[MessageT],
        qos: QoSProfile | None = None,
        wait_for_subscribers: int = 0,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> Publisher:
        """Create a publisher (default QoS: reliable, depth 10), optionally waiting until
        ``wait_for_subscribers`` subscriptions matched it: messages published before discovery
        completes are lost."""
        publisher = self.node.create_publisher(message_type, topic, qos or reliable_qos())
        if wait_for_subscribers:
            self.wait_for_subscribers(publisher, wait_for_subscribers, timeout)
        return publisher

    def publish_until(
        self,
        publisher: Publisher,
        message: Any,
        collector: Collector[Any],
        count: int = 1,
        timeout: float = DEFAULT_TIMEOUT_S,
        period: float = 0.2,
    ) -> list[Any]:
        """Publish ``message`` every ``period`` seconds until ``collector`` holds ``count``
        messages; return them. For chains of nodes, whose inner links' discovery cannot be
        observed from outside."""
        deadline = time.monotonic() + timeout
        while True:
            publisher.publish(message)
            try:
                return collector.wait_for(count, min(period, max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"published on '{publisher.topic_name}' for {timeout} s but "
                        f"'{collector.topic}' got {len(collector)} of {count} message(s); "
                        f"{self.describe_publishers(collector.topic)}"
                    ) from None

    def wait_for_publishers(
        self, topic: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT_S
    ) -> int:
        """Wait until ``topic`` has at least ``count`` publishers; return how many it has."""
        return self._wait_for_count(
            lambda: self.node.count_publishers(topic), count, timeout, f"publisher(s) on '{topic}'"
        )

    def wait_for_subscribers(
        self, publisher: Publisher | str, count: int = 1, timeout: float = DEFAULT_TIMEOUT_S
    ) -> int:
        """Wait until at least ``count`` subscriptions matched ``publisher``.

        With a Publisher, counts subscriptions matched to it (QoS-compatible, discovery done);
        with a topic name, counts subscriptions on the topic in the graph.
        """
        if isinstance(publisher, str):
            topic = publisher
            return self._wait_for_count(
                lambda: self.node.count_subscribers(topic),
                count,
                timeout,
                f"subscriber(s) on '{topic}'",
            )
        try:
            return self._wait_for_count(
                publisher.get_subscription_count,
                count,
                timeout,
                f"subscription(s) matched to this node's publisher on '{publisher.topic_name}'",
            )
        except TimeoutError as error:
            raise TimeoutError(
                f"{error}; {self.describe_subscribers(publisher.topic_name)}"
            ) from None

    def describe_publishers(self, topic: str) -> str:
        """A sentence listing ``topic``'s publishers and their QoS (for error messages)."""
        return self._describe_endpoints(topic, "publishers")

    def describe_subscribers(self, topic: str) -> str:
        """A sentence listing ``topic``'s subscribers and their QoS (for error messages)."""
        return self._describe_endpoints(topic, "subscribers")

    def _describe_endpoints(self, topic: str, kind: str) -> str:
        query = (
            self.node.get_publishers_info_by_topic
            if kind == "publishers"
            else self.node.get_subscriptions_info_by_topic
        )
        try:
            infos = query(self.node.resolve_topic_name(topic))
        except Exception as error:  # graph queries fail once the context is shut down
            return f"{kind} unknown ({error})"
        if not infos:
            return f"the topic has no {kind}"
        described = [
            f"{info.node_namespace.rstrip('/')}/{info.node_name} "
            f"({info.qos_profile.reliability.name.lower()}, "
            f"{info.qos_profile.durability.name.lower()})"
            for info in infos
        ]
        return f"{kind}: {', '.join(described)}"

    def measure_rate(
        self,
        topic: str,
        message_type: type[Any],
        duration: float,
        qos: QoSProfile | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> RateMeasurement:
        """Measure how often ``topic`` is received over ``duration`` seconds.

        Waits (up to ``timeout``) for a first message, then listens ``duration`` seconds.

        Raises:
            TimeoutError: If fewer than two messages arrive.
        """
        collector = self.collect(topic, message_type, qos or sensor_qos(100))
        try:
            collector.wait_for(1, timeout)
            collector.clear()
            # Listening for a fixed time is the measurement itself, not a wait on a condition.
            time.sleep(duration)
            times = collector.arrival_times
        finally:
            collector.close()
        if len(times) < 2:
            raise TimeoutError(
                f"only {len(times)} message(s) on '{topic}' in {duration} s: cannot measure a rate"
            )
        periods = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        span = times[-1] - times[0]
        return RateMeasurement(len(times), span, (len(times) - 1) / span, max(periods))

    # --- graph ------------------------------------------------------------------------------

    def wait_for_node(
        self, name: str, namespace: str = "/", timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        """Wait until a node called ``namespace/name`` is in the graph."""

        def present() -> int:
            return int((name, namespace) in self.node.get_node_names_and_namespaces())

        self._wait_for_count(present, 1, timeout, f"node '{namespace.rstrip('/')}/{name}'")

    def wait_for_node_ready(
        self, name: str, namespace: str = "/", timeout: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Wait until node ``namespace/name`` answers its parameter service, which it does only
        once its constructor has finished and it spins; return its ``use_sim_time``.

        A node joins the graph as soon as its rclpy Node exists, possibly long before it is
        ready (a simulator still compiling its model, say).
        """
        deadline = time.monotonic() + timeout
        self.wait_for_node(name, namespace, timeout)
        fully_qualified = f"{namespace.rstrip('/')}/{name}"
        return self.get_parameters(
            fully_qualified, ["use_sim_time"], max(0.0, deadline - time.monotonic())
        )

    # --- services ---------------------------------------------------------------------------

    def call_service(
        self,
        service_type: type[Any],
        name: str,
        request: Any | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> Any:
        """Call service ``name`` and return its response.

        Raises:
            TimeoutError: If the service is not available, or does not answer, within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        client = self.node.create_client(service_type, name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise TimeoutError(f"service '{name}' not available within {timeout} s")
            done = threading.Event()
            future = client.call_async(request if request is not None else service_type.Request())
            future.add_done_callback(lambda _: done.set())
            if not done.wait(max(0.0, deadline - time.monotonic())):
                client.remove_pending_request(future)
                raise TimeoutError(f"service '{name}' did not answer within {timeout} s")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def get_parameters(
        self, node_name: str, names: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """Read parameters of another node (fully qualified name, e.g. ``/ns/echo``).

        Parameters the node does not have are returned as None.
        """
        from rcl_interfaces.srv import GetParameters

        response = self.call_service(
            GetParameters,
            f"{node_name}/get_parameters",
            GetParameters.Request(names=list(names)),
            timeout,
        )
        if len(response.values) != len(names):
            raise LookupError(
                f"node '{node_name}' returned {len(response.values)} value(s) for the "
                f"{len(names)} parameter(s) {list(names)}: some are not declared"
            )
        return {
            name: parameter_value_to_python(value)
            for name, value in zip(names, response.values, strict=True)
        }

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _wait_for_count(current: Callable[[], int], count: int, timeout: float, what: str) -> int:
        deadline = time.monotonic() + timeout
        while True:
            value = current()
            if value >= count:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {value} of {count} {what} within {timeout} s")
            # Graph changes have no event to wait on in rclpy: poll them.
            time.sleep(_POLL_PERIOD_S)
