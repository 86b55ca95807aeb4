"""QoS profiles as bags store them, and the record/playback choice rules (no ROS graph)."""

import pytest
import yaml

from humanoid_bag.core.qos import (
    DEFAULT_DEPTH,
    INFINITE,
    VOLATILE_PLAYBACK_DEPTH,
    QosError,
    QosProfile,
    dump_profiles,
    load_overrides,
    offer_for_playback,
    parse_profiles,
    request_for_offers,
)

# What `ros2 bag record` (Jazzy/Kilted, metadata version 9) writes for a latched publisher
# seen through the graph (history and depth are not discoverable).
V9 = """
- history: unknown
  depth: 0
  reliability: reliable
  durability: transient_local
  deadline:
    sec: 9223372036
    nsec: 854775807
  lifespan:
    sec: 9223372036
    nsec: 854775807
  liveliness: automatic
  liveliness_lease_duration:
    sec: 9223372036
    nsec: 854775807
  avoid_ros_namespace_conventions: false
"""
# The same profile as Humble/Iron (version 8) stored it: a string with rmw enum integers, and
# the Fast DDS "infinite" of Foxy.
V8 = (
    "- history: 3\n  depth: 0\n  reliability: 1\n  durability: 1\n"
    "  deadline:\n    sec: 2147483647\n    nsec: 4294967295\n"
    "  lifespan:\n    sec: 9223372036\n    nsec: 854775807\n  liveliness: 1\n"
    "  liveliness_lease_duration:\n    sec: 9223372036\n    nsec: 854775807\n"
    "  avoid_ros_namespace_conventions: false"
)


def test_both_layouts_parse_to_the_same_profile():
    (v9,) = parse_profiles(yaml.safe_load(V9))
    (v8,) = parse_profiles(V8)
    assert v9 == v8
    assert v9.latched and v9.reliability == "reliable" and v9.history == "unknown"
    assert v9.deadline == INFINITE  # the legacy Fast DDS value is normalised


@pytest.mark.parametrize("empty", [None, "", [], "[]"])
def test_empty_profile_lists(empty):
    assert parse_profiles(empty) == []


def test_dump_round_trip_and_key_order():
    profiles = [
        QosProfile(durability="transient_local", depth=1, deadline=(1, 500)),
        QosProfile(reliability="best_effort", history="keep_all", lifespan=INFINITE),
    ]
    text = dump_profiles(profiles)
    assert parse_profiles(text) == profiles
    assert parse_profiles(yaml.safe_load(text)) == profiles
    first_keys = list(yaml.safe_load(text)[0])
    assert first_keys[:4] == ["history", "depth", "reliability", "durability"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("- reliability: sometimes", "reliability"),
        ("- durability: 7", r"durability = 7"),
        ("- depth: -1", "depth"),
        ("- deadline: {sec: 1}", "deadline"),
        ("- colour: blue", "unknown keys"),
        ("history: keep_last", "expected a list"),
        ("- [", "not YAML"),
    ],
)
def test_malformed_profiles_are_named(text, match):
    with pytest.raises(QosError, match=match):
        parse_profiles(text)


def test_recording_request_adapts_to_every_publisher():
    reliable = QosProfile(reliability="reliable")
    best_effort = QosProfile(reliability="best_effort")
    latched = QosProfile(durability="transient_local")
    assert request_for_offers([reliable, reliable], 500).reliability == "reliable"
    # One best-effort publisher: a reliable request would not match it.
    assert request_for_offers([reliable, best_effort], 500).reliability == "best_effort"
    assert request_for_offers([latched], 5).durability == "transient_local"
    assert request_for_offers([latched, reliable], 5).durability == "volatile"
    request = request_for_offers([], 50)
    assert (request.reliability, request.durability, request.depth) == ("reliable", "volatile", 50)
    with pytest.raises(QosError, match="depth"):
        request_for_offers([reliable], 0)


def test_playback_offers_the_shared_profile_with_keep_last_history():
    latched = QosProfile(history="unknown", depth=0, durability="transient_local")
    # History and lifespan are local to each publisher: they do not make profiles differ.
    other = QosProfile(history="keep_all", durability="transient_local", lifespan=(5, 0))
    offer, note = offer_for_playback([latched, other])
    assert note == "" and offer.latched
    assert (offer.history, offer.depth) == ("keep_last", DEFAULT_DEPTH)
    mixed, note = offer_for_playback([latched, QosProfile()])
    assert mixed == QosProfile(depth=VOLATILE_PLAYBACK_DEPTH) and "different" in note
    assert offer_for_playback([])[0] == QosProfile(depth=VOLATILE_PLAYBACK_DEPTH)
    # Volatile streams get a deep history: a slow reliable reader loses nothing.
    stream, _ = offer_for_playback([QosProfile(history="unknown", depth=0)])
    assert (stream.history, stream.depth) == ("keep_last", VOLATILE_PLAYBACK_DEPTH)


def test_override_file():
    overrides = load_overrides(
        "/map: {durability: transient_local, depth: 1}\n/scan: {reliability: best_effort}\n",
        "overrides.yaml",
    )
    assert overrides["/map"].latched and overrides["/map"].depth == 1
    assert overrides["/scan"].reliability == "best_effort"
    with pytest.raises(QosError, match="overrides.yaml: /x"):
        load_overrides("/x: {history: sometimes}", "overrides.yaml")
    with pytest.raises(QosError, match="mapping"):
        load_overrides("- a", "overrides.yaml")
