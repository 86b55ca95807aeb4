"""Topic names, remap rules and playback routes (no ROS graph)."""

import pytest

from humanoid_bag.core.topics import (
    TopicError,
    TopicRoute,
    absolute_topic,
    parse_remaps,
    plan_routes,
)

BAG = {
    "/joint_states": "sensor_msgs/msg/JointState",
    "/imu/data": "sensor_msgs/msg/Imu",
    "/right_hand/tactile/frames": "humanoid_interfaces/msg/TactileFrame",
    "/left_hand/tactile/frames": "humanoid_interfaces/msg/TactileFrame",
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("/a", "/a"), ("a/b", "/a/b"), ("/right_hand/tactile/frames", "/right_hand/tactile/frames")],
)
def test_valid_names(name, expected):
    assert absolute_topic(name) == expected


@pytest.mark.parametrize("name", ["", "/", "/a/", "/1a", "/a b", "/a//b", "/a/__b", "/a-b", 3])
def test_invalid_names(name):
    with pytest.raises(TopicError, match="topic name"):
        absolute_topic(name)


def test_remap_rules():
    assert parse_remaps(["/joint_states:=/replay/joint_states", "imu/data:=imu2"]) == {
        "/joint_states": "/replay/joint_states",
        "/imu/data": "/imu2",
    }
    assert parse_remaps(["/a:=/b", "/a:=/b"]) == {"/a": "/b"}  # repeating a rule is harmless
    with pytest.raises(TopicError, match="expected FROM:=TO"):
        parse_remaps(["/a=/b"])
    with pytest.raises(TopicError, match="already remapped"):
        parse_remaps(["/a:=/b", "/a:=/c"])
    with pytest.raises(TopicError, match="topic name"):
        parse_remaps(["/a:="])


def test_all_topics_by_default_and_selection():
    assert [r.bag_topic for r in plan_routes(BAG)] == sorted(BAG)
    routes = plan_routes(BAG, ["imu/data", "/joint_states", "/imu/data"])
    assert routes == [
        TopicRoute("/imu/data", "/imu/data", "sensor_msgs/msg/Imu"),
        TopicRoute("/joint_states", "/joint_states", "sensor_msgs/msg/JointState"),
    ]


def test_remapped_routes():
    routes = plan_routes(BAG, ["/joint_states"], {"/joint_states": "/replay/joint_states"})
    assert routes[0].output_topic == "/replay/joint_states"
    # Two topics of one type may be merged onto one name.
    merged = plan_routes(
        BAG,
        None,
        {"/right_hand/tactile/frames": "/tactile", "/left_hand/tactile/frames": "/tactile"},
    )
    assert sum(r.output_topic == "/tactile" for r in merged) == 2


def test_route_errors_name_the_problem():
    with pytest.raises(TopicError, match=r"\['/nope'\] are not in the bag; it has"):
        plan_routes(BAG, ["/nope", "/imu/data"])
    with pytest.raises(TopicError, match="remap sources"):
        plan_routes(BAG, None, {"/nope": "/x"})
    with pytest.raises(TopicError, match="would both be published on /x"):
        plan_routes(BAG, None, {"/imu/data": "/x", "/joint_states": "/x"})
