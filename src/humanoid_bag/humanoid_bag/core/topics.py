"""Topic names: validation, ``--remap from:=to`` rules, and which bag topic plays where.

Names follow the ROS 2 topic name rules (design.ros2.org "Topic and Service names"): tokens of
letters, digits and underscores separated by ``/``, not starting with a digit, no ``__``, no
trailing ``/``. Relative names are taken from the root namespace (``a/b`` -> ``/a/b``), as a
node in ``/`` would resolve them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from humanoid_bag.errors import HumanoidBagError

_TOKEN = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = re.compile(rf"^/{_TOKEN}(/{_TOKEN})*$")


class TopicError(HumanoidBagError):
    """A topic name, remap rule or topic selection is invalid (the message says which)."""


def absolute_topic(name: str) -> str:
    """``name`` as an absolute topic name (``~`` and substitutions are not supported).

    Raises:
        TopicError: If it is not a valid topic name.
    """
    if not isinstance(name, str) or not name:
        raise TopicError(f"topic name {name!r}: expected a non-empty string")
    absolute = name if name.startswith("/") else "/" + name
    if not _NAME.match(absolute) or "__" in absolute:
        raise TopicError(
            f"topic name {name!r}: expected tokens of letters, digits and '_' separated by '/', "
            "not starting with a digit, without '__' or a trailing '/'"
        )
    return absolute


def parse_remaps(rules: Iterable[str]) -> dict[str, str]:
    """Parse ``from:=to`` rules into ``{from: to}`` (absolute names).

    Raises:
        TopicError: For a rule without ``:=``, a bad name, or one name remapped twice.
    """
    remaps: dict[str, str] = {}
    for rule in rules:
        source, separator, target = rule.partition(":=")
        if not separator:
            raise TopicError(f"remap rule {rule!r}: expected FROM:=TO, e.g. /joint_states:=/replay")
        source, target = absolute_topic(source.strip()), absolute_topic(target.strip())
        if source in remaps and remaps[source] != target:
            raise TopicError(
                f"remap rule {rule!r}: {source} is already remapped to {remaps[source]}"
            )
        remaps[source] = target
    return remaps


class TopicRoute(NamedTuple):
    """Where one bag topic is published.

    Attributes:
        bag_topic: Name in the bag.
        output_topic: Name it is published on (after remapping).
        msgtype: Message type, ``pkg/msg/Name``.
    """

    bag_topic: str
    output_topic: str
    msgtype: str


def plan_routes(
    bag_topics: Mapping[str, str],
    selected: Sequence[str] | None = None,
    remaps: Mapping[str, str] | None = None,
) -> list[TopicRoute]:
    """Which bag topics to play, and on which topic each goes out.

    Args:
        bag_topics: ``{topic: type}`` of the bag.
        selected: Topics to play (bag names); None or empty: all of them.
        remaps: ``{bag topic: output topic}`` (see :func:`parse_remaps`).

    Returns:
        One route per played topic, sorted by bag topic.

    Raises:
        TopicError: If a selected topic or a remap source is not in the bag, or two played
            topics of different types would go out on the same name.
    """
    remaps = dict(remaps or {})
    known = sorted(bag_topics)
    wanted = [absolute_topic(name) for name in selected] if selected else known
    missing = sorted(set(wanted) - set(bag_topics))
    if missing:
        raise TopicError(f"topics {missing} are not in the bag; it has {known}")
    unknown_sources = sorted(set(remaps) - set(bag_topics))
    if unknown_sources:
        raise TopicError(f"remap sources {unknown_sources} are not in the bag; it has {known}")
    routes = [
        TopicRoute(name, remaps.get(name, name), bag_topics[name]) for name in sorted(set(wanted))
    ]
    types_by_output: dict[str, TopicRoute] = {}
    for route in routes:
        other = types_by_output.setdefault(route.output_topic, route)
        if other.msgtype != route.msgtype:
            raise TopicError(
                f"{other.bag_topic} ({other.msgtype}) and {route.bag_topic} ({route.msgtype}) "
                f"would both be published on {route.output_topic}"
            )
    return routes
