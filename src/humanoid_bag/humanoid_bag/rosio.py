"""Small rclpy helpers shared by the recorder and the player: QoS conversion, executor, signals."""

from __future__ import annotations

from rclpy.duration import Duration
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    LivelinessPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

from humanoid_bag.core.qos import (
    DURABILITY,
    HISTORY,
    LIVELINESS,
    RELIABILITY,
    QosProfile,
    duration_from_ns,
)
from humanoid_bag.storage import finite_ns


def qos_from_rclpy(profile: QoSProfile) -> QosProfile:
    """An rclpy profile (e.g. a publisher's, from the graph) as :class:`QosProfile`."""
    return QosProfile(
        history=HISTORY[int(profile.history)],
        depth=int(profile.depth),
        reliability=RELIABILITY[int(profile.reliability)],
        durability=DURABILITY[int(profile.durability)],
        deadline=duration_from_ns(profile.deadline.nanoseconds),
        lifespan=duration_from_ns(profile.lifespan.nanoseconds),
        liveliness=LIVELINESS[int(profile.liveliness)],
        liveliness_lease_duration=duration_from_ns(profile.liveliness_lease_duration.nanoseconds),
        avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions),
    )


def qos_to_rclpy(profile: QosProfile) -> QoSProfile:
    """A :class:`QosProfile` for creating a publisher or subscription.

    Unspecified and infinite durations are left at rclpy's default ("unspecified"); policies
    recorded as ``unknown`` (graph queries report history that way) fall back to the default.
    """
    history = {"keep_all": HistoryPolicy.KEEP_ALL}.get(profile.history, HistoryPolicy.KEEP_LAST)
    qos = QoSProfile(
        history=history,
        depth=max(1, profile.depth),
        reliability=_policy(ReliabilityPolicy, profile.reliability, ReliabilityPolicy.RELIABLE),
        durability=_policy(DurabilityPolicy, profile.durability, DurabilityPolicy.VOLATILE),
        liveliness=_policy(LivelinessPolicy, profile.liveliness, LivelinessPolicy.SYSTEM_DEFAULT),
        avoid_ros_namespace_conventions=profile.avoid_ros_namespace_conventions,
    )
    for name in ("deadline", "lifespan", "liveliness_lease_duration"):
        nanoseconds = finite_ns(getattr(profile, name))
        if nanoseconds is not None:
            setattr(qos, name, Duration(nanoseconds=nanoseconds))
    return qos


def _policy(enum, name: str, fallback):
    if name == "unknown":
        return fallback
    return enum[name.upper()]
