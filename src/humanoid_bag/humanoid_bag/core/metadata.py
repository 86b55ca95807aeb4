"""rosbag2's ``metadata.yaml``: its layout (version 9), a checker, and a writer in rosbag2's style.

The layout, as rosbag2_storage (``yaml.hpp``, ``BagMetadata`` version 9; Jazzy and Kilted)
writes it, top-level key ``rosbag2_bagfile_information``, keys in this order::

    version: 9
    storage_identifier: mcap | sqlite3
    duration: {nanoseconds: int}
    starting_time: {nanoseconds_since_epoch: int}
    message_count: int
    topics_with_message_count:
      - topic_metadata:
          name, type, serialization_format (cdr),
          offered_qos_profiles: [profile, ...]   (a YAML string before version 9)
          type_description_hash: RIHS01_<64 hex>  (version >= 7)
        message_count: int
    compression_format: "" | zstd
    compression_mode: "" | FILE | MESSAGE
    relative_file_paths: [file name, ...]
    files: [{path, starting_time, duration, message_count}, ...]   (version >= 5)
    custom_data: ~ | {key: value}                                  (version >= 6)
    ros_distro: jazzy | kilted | ...                               (version >= 8)

rosbags writes the same content with keys sorted and long values folded onto the next line;
:func:`render` rewrites it in rosbag2's order with one value per line, so a recorded bag's
metadata reads like one from ``ros2 bag record``.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from humanoid_bag.core.qos import QosError, parse_profiles
from humanoid_bag.errors import HumanoidBagError

ROOT = "rosbag2_bagfile_information"
KEY_ORDER = (
    "version",
    "storage_identifier",
    "duration",
    "starting_time",
    "message_count",
    "topics_with_message_count",
    "compression_format",
    "compression_mode",
    "relative_file_paths",
    "files",
    "custom_data",
    "ros_distro",
)
TOPIC_KEY_ORDER = (
    "name",
    "type",
    "serialization_format",
    "offered_qos_profiles",
    "type_description_hash",
)
FILE_KEY_ORDER = ("path", "starting_time", "duration", "message_count")
MAX_VERSION = 9


class MetadataError(HumanoidBagError):
    """A ``metadata.yaml`` does not follow rosbag2's layout (the message says where)."""


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MetadataError(f"{where} = {value!r}: expected an integer >= 0")
    return value


def _nested_int(doc: Mapping, key: str, inner: str, where: str) -> int:
    value = doc.get(key)
    if not isinstance(value, Mapping) or inner not in value:
        raise MetadataError(f"{where}.{key}: expected a mapping with '{inner}'")
    return _int(value[inner], f"{where}.{key}.{inner}")


def check(text: str) -> dict:
    """Parse and check a ``metadata.yaml`` text against rosbag2's layout (versions 1-9).

    Returns:
        The ``rosbag2_bagfile_information`` mapping.

    Raises:
        MetadataError: Naming the first missing or malformed entry.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MetadataError(f"not YAML: {error}") from None
    if not isinstance(document, Mapping) or not isinstance(document.get(ROOT), Mapping):
        raise MetadataError(f"expected a top-level mapping '{ROOT}'")
    info = dict(document[ROOT])
    version = _int(info.get("version"), "version")
    if not 1 <= version <= MAX_VERSION:
        raise MetadataError(f"version {version}: expected 1..{MAX_VERSION}")
    required = ["storage_identifier", "relative_file_paths", "topics_with_message_count"]
    required += ["compression_format", "compression_mode"] if version >= 3 else []
    required += ["files"] if version >= 5 else []
    required += ["custom_data"] if version >= 6 else []
    required += ["ros_distro"] if version >= 8 else []
    missing = [key for key in required if key not in info]
    if missing:
        raise MetadataError(f"version {version} metadata lacks {missing}")
    _int(info.get("message_count"), "message_count")
    _nested_int(info, "duration", "nanoseconds", ROOT)
    _nested_int(info, "starting_time", "nanoseconds_since_epoch", ROOT)
    files = info["relative_file_paths"]
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise MetadataError(f"relative_file_paths = {files!r}: expected a list of file names")
    topics = info["topics_with_message_count"]
    if not isinstance(topics, list):
        raise MetadataError("topics_with_message_count: expected a list")
    for index, entry in enumerate(topics):
        where = f"topics_with_message_count[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("topic_metadata"), Mapping):
            raise MetadataError(f"{where}: expected a mapping with 'topic_metadata'")
        _int(entry.get("message_count"), f"{where}.message_count")
        topic = entry["topic_metadata"]
        for key in ("name", "type", "serialization_format"):
            if not isinstance(topic.get(key), str) or not topic[key]:
                raise MetadataError(f"{where}.topic_metadata.{key}: expected a non-empty string")
        profiles = topic.get("offered_qos_profiles", [])
        if version >= 9 and isinstance(profiles, str) and profiles:
            raise MetadataError(f"{where}: version 9 stores offered_qos_profiles as a list")
        try:
            parse_profiles(profiles, f"{where}.topic_metadata.offered_qos_profiles")
        except QosError as error:
            raise MetadataError(str(error)) from None
        if version >= 7 and not isinstance(topic.get("type_description_hash"), str):
            raise MetadataError(f"{where}.topic_metadata.type_description_hash: expected a string")
    if version >= 6 and not (info["custom_data"] is None or isinstance(info["custom_data"], dict)):
        raise MetadataError("custom_data: expected a mapping or ~")
    return info


def _ordered(mapping: Mapping, order: tuple[str, ...]) -> dict:
    known = {key: mapping[key] for key in order if key in mapping}
    return {**known, **{k: v for k, v in mapping.items() if k not in known}}


def _topic(topic: Mapping) -> dict:
    topic = _ordered(topic, TOPIC_KEY_ORDER)
    profiles = topic.get("offered_qos_profiles")
    if isinstance(profiles, list):
        topic["offered_qos_profiles"] = [p.to_dict() for p in parse_profiles(profiles)]
    return topic


class _Rosbag2Dumper(yaml.SafeDumper):
    """Indents list items under their key, as yaml-cpp (rosbag2) does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def render(info: Mapping, ros_distro: str | None = None) -> str:
    """``metadata.yaml`` text for ``info`` (a ``rosbag2_bagfile_information`` mapping) with
    rosbag2's key order, one scalar per line, and ``ros_distro`` replaced when given."""
    info = _ordered(info, KEY_ORDER)
    if ros_distro is not None:
        info["ros_distro"] = ros_distro
    info["topics_with_message_count"] = [
        {"topic_metadata": _topic(entry["topic_metadata"]), "message_count": entry["message_count"]}
        for entry in info.get("topics_with_message_count", [])
    ]
    info["files"] = [_ordered(entry, FILE_KEY_ORDER) for entry in info.get("files", [])]
    return yaml.dump(
        {ROOT: info},
        Dumper=_Rosbag2Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=2**31 - 1,
        allow_unicode=True,
    )
