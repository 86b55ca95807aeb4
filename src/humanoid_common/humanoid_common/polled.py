"""Subscriptions read in batches when the node needs them, not one executor wake-up per message.

A node that steps at 20 Hz but listens to 100-500 Hz streams (joint states, contacts,
odometry) pays the executor's dispatch for every message it will never look at alone: with
rclpy's EventsExecutor about 2-3 % of a core per 100 Hz topic here (the brain: 0.09 cores in the
whole chain, most of it dispatch). :class:`PolledSubscriptions` keeps such subscriptions on a
companion node that no executor spins: DDS still receives every sample into the reader's
keep-last history (in the middleware's threads, no Python), and :meth:`PolledSubscriptions.poll`
takes all of them, oldest first, and hands each to its callback when the owner wants them (at
the start of its timer or of the callback that reads them).

The companion node is named ``<node>_polled`` in the node's namespace (``ros2 node list`` shows
it); its topic names are resolved by the owner node first, so the owner's remappings apply to
them. The keep-last depth must cover the messages arriving between two polls (depth 20 at
100 Hz: 0.2 s), or the oldest are dropped as a full queue drops them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile


class PolledSubscriptions:
    """Subscriptions whose messages wait in DDS until :meth:`poll`."""

    def __init__(self, owner: Node, suffix: str = "_polled"):
        self._owner = owner
        self._node = rclpy.create_node(
            owner.get_name() + suffix,
            namespace=owner.get_namespace(),
            context=owner.context,
            use_global_arguments=False,  # a `__node:=` remap would rename it to the owner
            start_parameter_services=False,
            enable_rosout=False,
        )
        self._subscriptions: list[tuple[Any, Callable[[Any], None]]] = []

    @property
    def node(self) -> Node:
        """The companion node (never add it to an executor: its messages would be dispatched)."""
        return self._node

    def create_subscription(
        self,
        msg_type,
        topic: str,
        callback: Callable[[Any], None],
        qos: QoSProfile,
        raw: bool = False,
    ):
        """Subscribe ``topic`` (resolved and remapped by the owner); ``callback(msg)`` is called
        from :meth:`poll` for each message, oldest first."""
        name = self._owner.resolve_topic_name(topic)
        subscription = self._node.create_subscription(msg_type, name, _never_called, qos, raw=raw)
        self._subscriptions.append((subscription, callback))
        return subscription

    def poll(self) -> int:
        """Take every waiting message of every subscription and hand each to its callback
        (per subscription in arrival order; subscriptions in creation order); the count."""
        taken = 0
        for subscription, callback in self._subscriptions:
            handle = subscription.handle
            with handle:
                while True:
                    message = handle.take_message(subscription.msg_type, subscription.raw)
                    if message is None:
                        break
                    callback(message[0])
                    taken += 1
        return taken

    def destroy(self) -> None:
        """Destroy the companion node and its subscriptions."""
        self._node.destroy_node()
        self._subscriptions.clear()


def _never_called(_message) -> None:  # the companion node is never spun
    raise AssertionError("a polled subscription's messages are taken by poll()")
