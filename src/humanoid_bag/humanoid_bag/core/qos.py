"""QoS profiles as rosbag2 stores them, and the rules that pick a profile to record or replay.

A topic's ``offered_qos_profiles`` in a bag's metadata (``metadata.yaml``, the MCAP channel
metadata, the sqlite3 ``topics`` table) lists the QoS of every publisher seen while recording.
rosbag2 writes it in two layouts:

- metadata version >= 9: a YAML list of mappings with policy *names*
  (``history: keep_last``, ``reliability: reliable``, ``durability: transient_local``, ...);
- version 4-8: a YAML *string* holding such a list with the policies as rmw enum *integers*
  (``history: 3``, ``reliability: 1``, ...).

Durations are ``{sec, nsec}`` mappings; ``{9223372036, 854775807}`` is rmw's "infinite".

Choosing profiles (the rules of rosbag2's ``Rosbag2QoS``, so bags behave as with ``ros2 bag``):

- recording subscribes reliable only if every publisher is reliable, and transient-local only
  if every publisher is transient-local (so it connects to all of them and still receives a
  latched topic's last message);
- playback offers the recorded profile when all publishers offered the same one (ignoring
  history and lifespan, which are local), with keep-last history; otherwise the default
  (reliable, volatile). A latched topic thus replays transient-local, and a late subscriber
  still gets its message.

One deliberate difference from ``ros2 bag play``: volatile topics are offered with a keep-last
depth of :data:`VOLATILE_PLAYBACK_DEPTH` instead of 10. A reliable keep-last writer overwrites
samples a slow reader has not acknowledged yet, so at 20x real time a depth of 10 loses
messages to any reader that falls 10 behind; a deeper history only costs memory. Latched topics
keep depth 10, which decides how many messages a late subscriber receives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import yaml

from humanoid_bag.errors import HumanoidBagError

#: rmw's infinite duration as rosbag2 writes it: (sec, nsec).
INFINITE = (9223372036, 854775807)
#: rmw's "unspecified / default" duration.
UNSPECIFIED = (0, 0)
#: History depth of rmw's default profile, used by rosbag2 for playback.
DEFAULT_DEPTH = 10
#: Keep-last depth of volatile topics during playback [messages] (see the module docstring).
VOLATILE_PLAYBACK_DEPTH = 1000

# Policy names by rmw enum value (rmw/types.h), the order of rosbag2's version 8 integers.
HISTORY = ("system_default", "keep_last", "keep_all", "unknown")
RELIABILITY = ("system_default", "reliable", "best_effort", "unknown", "best_available")
DURABILITY = ("system_default", "transient_local", "volatile", "unknown", "best_available")
LIVELINESS = (
    "system_default",
    "automatic",
    "manual_by_node",
    "manual_by_topic",
    "unknown",
    "best_available",
)
_POLICIES = {
    "history": HISTORY,
    "reliability": RELIABILITY,
    "durability": DURABILITY,
    "liveliness": LIVELINESS,
}
_DURATIONS = ("deadline", "lifespan", "liveliness_lease_duration")
# Fast DDS and others reported these as "infinite" before rmw had a constant for it (Foxy bags).
_LEGACY_INFINITE = {(0x7FFFFFFF, 0xFFFFFFFF), (0x7FFFFFFF, 0x7FFFFFFF), divmod(2**63 - 1, 10**9)}


class QosError(HumanoidBagError):
    """A QoS profile, or a YAML text meant to hold some, is malformed (the message says where)."""


@dataclass(frozen=True)
class QosProfile:
    """One QoS profile with the policies rosbag2 stores.

    Attributes:
        history: ``keep_last``, ``keep_all``, ``system_default`` or ``unknown``.
        depth: History depth [messages], >= 0 (0 from graph queries: not reported).
        reliability: ``reliable``, ``best_effort``, ``system_default``, ``best_available``, ...
        durability: ``volatile``, ``transient_local``, ``system_default``, ...
        deadline: Deadline as (sec, nsec); (0, 0) unspecified.
        lifespan: Lifespan as (sec, nsec).
        liveliness: ``automatic``, ``manual_by_topic``, ``system_default``, ...
        liveliness_lease_duration: Lease duration as (sec, nsec).
        avoid_ros_namespace_conventions: As in rmw.
    """

    history: str = "keep_last"
    depth: int = DEFAULT_DEPTH
    reliability: str = "reliable"
    durability: str = "volatile"
    deadline: tuple[int, int] = UNSPECIFIED
    lifespan: tuple[int, int] = UNSPECIFIED
    liveliness: str = "system_default"
    liveliness_lease_duration: tuple[int, int] = UNSPECIFIED
    avoid_ros_namespace_conventions: bool = False

    def __post_init__(self) -> None:
        for name, allowed in _POLICIES.items():
            if getattr(self, name) not in allowed:
                raise QosError(f"QoS {name} {getattr(self, name)!r}: expected one of {allowed}")
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 0:
            raise QosError(f"QoS depth {self.depth!r}: expected an integer >= 0")
        for name in _DURATIONS:
            sec, nsec = getattr(self, name)
            if not (isinstance(sec, int) and isinstance(nsec, int) and sec >= 0 and nsec >= 0):
                raise QosError(f"QoS {name} {(sec, nsec)!r}: expected non-negative (sec, nsec)")

    @property
    def latched(self) -> bool:
        """Whether late subscribers get the last messages (transient-local durability)."""
        return self.durability == "transient_local"

    def compatibility_key(self) -> tuple:
        """The policies that decide whether endpoints match (all but history and lifespan)."""
        return (
            self.reliability,
            self.durability,
            self.deadline,
            self.liveliness,
            self.liveliness_lease_duration,
            self.avoid_ros_namespace_conventions,
        )

    def to_dict(self) -> dict:
        """The profile as rosbag2 version 9 writes it (policy names, durations as sec/nsec)."""
        return {
            "history": self.history,
            "depth": self.depth,
            "reliability": self.reliability,
            "durability": self.durability,
            "deadline": _duration_dict(self.deadline),
            "lifespan": _duration_dict(self.lifespan),
            "liveliness": self.liveliness,
            "liveliness_lease_duration": _duration_dict(self.liveliness_lease_duration),
            "avoid_ros_namespace_conventions": self.avoid_ros_namespace_conventions,
        }

    @classmethod
    def from_dict(cls, item: Mapping, where: str = "QoS profile") -> QosProfile:
        """Parse one profile in either layout (policy names or rmw integers).

        Missing keys take the defaults of :class:`QosProfile`.

        Raises:
            QosError: Naming ``where`` and the bad key.
        """
        if not isinstance(item, Mapping):
            raise QosError(f"{where}: expected a mapping, got {item!r}")
        unknown = set(item) - {*_POLICIES, "depth", *_DURATIONS, "avoid_ros_namespace_conventions"}
        if unknown:
            raise QosError(f"{where}: unknown keys {sorted(unknown)}")
        values: dict = {}
        for name, allowed in _POLICIES.items():
            if name in item:
                values[name] = _policy(item[name], allowed, f"{where}: {name}")
        for name in _DURATIONS:
            if name in item:
                values[name] = _duration(item[name], f"{where}: {name}")
        if "depth" in item:
            values["depth"] = item["depth"]
        if "avoid_ros_namespace_conventions" in item:
            avoid = item["avoid_ros_namespace_conventions"]
            values["avoid_ros_namespace_conventions"] = bool(avoid)
        try:
            return cls(**values)
        except QosError as error:
            raise QosError(f"{where}: {error}") from None


def _policy(value: object, allowed: Sequence[str], where: str) -> str:
    if isinstance(value, bool):
        raise QosError(f"{where} = {value!r}: expected a name or an rmw integer")
    if isinstance(value, int):
        if 0 <= value < len(allowed):
            return allowed[value]
        raise QosError(f"{where} = {value}: expected an integer in [0, {len(allowed) - 1}]")
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise QosError(f"{where} = {value!r}: expected one of {tuple(allowed)}")


def _duration(value: object, where: str) -> tuple[int, int]:
    if not (isinstance(value, Mapping) and set(value) == {"sec", "nsec"}):
        raise QosError(f"{where} = {value!r}: expected a mapping {{sec, nsec}}")
    sec, nsec = value["sec"], value["nsec"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (sec, nsec)):
        raise QosError(f"{where} = {value!r}: expected non-negative integers")
    return INFINITE if (sec, nsec) in _LEGACY_INFINITE else (sec, nsec)


def _duration_dict(value: tuple[int, int]) -> dict[str, int]:
    return {"sec": value[0], "nsec": value[1]}


def duration_from_ns(nanoseconds: int) -> tuple[int, int]:
    """A duration in [ns] as (sec, nsec); rmw's infinite for 2**63 - 1 and beyond."""
    if nanoseconds >= 2**63 - 1:
        return INFINITE
    sec, nsec = divmod(max(0, int(nanoseconds)), 10**9)
    return (sec, nsec)


def duration_to_ns(value: tuple[int, int]) -> int:
    """A (sec, nsec) duration in [ns]; rmw's infinite maps to 2**63 - 1."""
    return 2**63 - 1 if value == INFINITE else value[0] * 10**9 + value[1]


def parse_profiles(text_or_list: object, where: str = "offered_qos_profiles") -> list[QosProfile]:
    """Parse ``offered_qos_profiles`` as found in a bag: a list (v9), a YAML string (v4-8), or
    empty (``''``, ``None``, ``[]``).

    Raises:
        QosError: If the YAML does not parse or an entry is malformed.
    """
    if text_or_list in (None, "", []):
        return []
    items = text_or_list
    if isinstance(text_or_list, str):
        try:
            items = yaml.safe_load(text_or_list)
        except yaml.YAMLError as error:
            raise QosError(f"{where}: not YAML: {error}") from None
        if items is None:
            return []
    if not isinstance(items, list):
        raise QosError(f"{where}: expected a list of profiles, got {type(items).__name__}")
    return [QosProfile.from_dict(item, f"{where}[{i}]") for i, item in enumerate(items)]


def dump_profiles(profiles: Iterable[QosProfile]) -> str:
    """``offered_qos_profiles`` as the YAML text rosbag2 version 9 stores in MCAP channels."""
    items = [profile.to_dict() for profile in profiles]
    return yaml.safe_dump(items, sort_keys=False, default_flow_style=False).strip()


def request_for_offers(offers: Sequence[QosProfile], depth: int) -> QosProfile:
    """The profile to subscribe with when recording a topic with these publishers.

    Args:
        offers: QoS of every publisher on the topic (may be empty).
        depth: Keep-last depth of the subscription [messages], > 0: the slack the recorder has
            when it falls behind a fast publisher.

    Returns:
        Reliable if every publisher is, else best effort; transient-local if every publisher
        is, else volatile; keep-last ``depth``; deadline and liveliness unspecified.
    """
    if depth <= 0:
        raise QosError(f"subscription depth {depth}: expected > 0")
    everyone = bool(offers)
    reliable = everyone and all(o.reliability == "reliable" for o in offers)
    latched = everyone and all(o.durability == "transient_local" for o in offers)
    return QosProfile(
        history="keep_last",
        depth=depth,
        reliability="reliable" if reliable or not offers else "best_effort",
        durability="transient_local" if latched else "volatile",
    )


def offer_for_playback(recorded: Sequence[QosProfile]) -> tuple[QosProfile, str]:
    """The profile to publish a topic with, from the profiles its publishers offered.

    Returns:
        The profile and a note ("" when the recorded profile was used as is, else why not).
    """
    default = QosProfile(depth=VOLATILE_PLAYBACK_DEPTH)
    if not recorded:
        return default, "no recorded QoS: default profile"
    first = recorded[0]
    if any(p.compatibility_key() != first.compatibility_key() for p in recorded[1:]):
        return default, "publishers offered different QoS: default profile"
    depth = DEFAULT_DEPTH if first.latched else VOLATILE_PLAYBACK_DEPTH
    return replace(first, history="keep_last", depth=depth), ""


def load_overrides(text: str, where: str) -> dict[str, QosProfile]:
    """Parse a QoS override file, ``{topic: profile}``, as ``ros2 bag play
    --qos-profile-overrides-path`` reads it (policy names; missing keys take defaults).

    Raises:
        QosError: If the text is not such a mapping.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise QosError(f"{where}: not YAML: {error}") from None
    if not isinstance(data, Mapping):
        raise QosError(f"{where}: expected a mapping topic -> QoS profile")
    return {
        str(topic): QosProfile.from_dict(item, f"{where}: {topic}") for topic, item in data.items()
    }
