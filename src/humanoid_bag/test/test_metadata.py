"""rosbag2 metadata.yaml: the checker and rosbag2-style rendering (no ROS graph)."""

import pytest
import yaml

from humanoid_bag.core.metadata import KEY_ORDER, MetadataError, check, render

# metadata.yaml as `ros2 bag record -s mcap` (Jazzy) writes it: yaml-cpp layout.
STRING_HASH = "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
ROS2_BAG_RECORD = f"""rosbag2_bagfile_information:
  version: 9
  storage_identifier: mcap
  duration:
    nanoseconds: 4021785916
  starting_time:
    nanoseconds_since_epoch: 1718000000123456789
  message_count: 41
  topics_with_message_count:
    - topic_metadata:
        name: /chatter
        type: std_msgs/msg/String
        serialization_format: cdr
        offered_qos_profiles:
          - history: unknown
            depth: 0
            reliability: reliable
            durability: volatile
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
        type_description_hash: {STRING_HASH}
      message_count: 41
  compression_format: ""
  compression_mode: ""
  relative_file_paths:
    - rosbag2_2024_06_10-08_13_20_0.mcap
  files:
    - path: rosbag2_2024_06_10-08_13_20_0.mcap
      starting_time:
        nanoseconds_since_epoch: 1718000000123456789
      duration:
        nanoseconds: 4021785916
      message_count: 41
  custom_data: ~
  ros_distro: jazzy
"""
# Version 8 (Iron): offered_qos_profiles was a YAML string with enum integers.
V8 = """rosbag2_bagfile_information:
  version: 8
  storage_identifier: sqlite3
  duration: {nanoseconds: 10}
  starting_time: {nanoseconds_since_epoch: 5}
  message_count: 1
  topics_with_message_count:
    - topic_metadata:
        name: /a
        type: std_msgs/msg/String
        serialization_format: cdr
        offered_qos_profiles: "- history: 3\\n  depth: 0\\n  reliability: 1\\n  durability: 2\\n"
        type_description_hash: ""
      message_count: 1
  compression_format: ""
  compression_mode: ""
  relative_file_paths: [a_0.db3]
  files: []
  custom_data: ~
  ros_distro: iron
"""


def test_ros2_bag_record_metadata_passes_and_renders_identically():
    info = check(ROS2_BAG_RECORD)
    assert info["version"] == 9 and info["custom_data"] is None
    rendered = render(info)
    # Same content, same key order, one value per line (the long hash is not folded).
    assert yaml.safe_load(rendered) == yaml.safe_load(ROS2_BAG_RECORD)
    assert list(yaml.safe_load(rendered)["rosbag2_bagfile_information"]) == list(KEY_ORDER)
    assert f"type_description_hash: {STRING_HASH}\n" in rendered
    assert "    - topic_metadata:\n        name: /chatter\n" in rendered


def test_render_replaces_the_distro():
    assert "ros_distro: kilted" in render(check(ROS2_BAG_RECORD), "kilted")


def test_older_version_with_string_profiles_passes():
    assert check(V8)["version"] == 8


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (("version: 9", "version: 12"), "version 12"),
        (("  storage_identifier: mcap\n", ""), r"lacks \['storage_identifier'\]"),
        (("  custom_data: ~\n", ""), "custom_data"),
        (("message_count: 41\n  topics", "message_count: -4\n  topics"), "message_count"),
        (("name: /chatter", "name: ''"), "name"),
        (("reliability: reliable", "reliability: always"), "reliability"),
        (("nanoseconds: 4021785916\n  starting", "seconds: 4\n  starting"), "duration"),
        (("rosbag2_bagfile_information:", "bag_info:"), "top-level"),
        (("  version: 9", "  version: [9"), "not YAML"),
    ],
)
def test_corrupt_metadata_is_named(change, match):
    text = ROS2_BAG_RECORD.replace(*change, 1)
    assert text != ROS2_BAG_RECORD
    with pytest.raises(MetadataError, match=match):
        check(text)


def test_version_9_must_store_profiles_as_a_list():
    text = V8.replace("version: 8", "version: 9")
    with pytest.raises(MetadataError, match="as a list"):
        check(text)
