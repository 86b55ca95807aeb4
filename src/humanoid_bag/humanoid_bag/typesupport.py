"""Message definitions and Python classes for the types found in a bag or on the graph.

A rosbag2 file stores, per type, its definition text (``ros2msg``: the ``.msg`` file followed by
every nested type's ``.msg``, separated by ``=====`` lines) and its RIHS01 type hash. As
``ros2 bag record`` does, definitions come from the ``.msg`` files the installed packages ship
(``share/<package>/msg/<Type>.msg``, found through the ament index), so the stack's own types
(humanoid_interfaces, built into ``install/``) work like the standard ones. rosbags parses them
and computes the hash, which equals the hash the publishers announce (tested).
"""

from __future__ import annotations

import importlib
import pathlib

from humanoid_bag.errors import HumanoidBagError


class TypeSupportError(HumanoidBagError):
    """A message type is unknown here (no installed definition or Python module)."""


def _split(msgtype: str) -> tuple[str, str, str]:
    parts = msgtype.split("/")
    if len(parts) != 3 or not all(parts):
        raise TypeSupportError(f"message type {msgtype!r}: expected 'package/msg/Name'")
    return parts[0], parts[1], parts[2]


def _nested_names(fields) -> list[str]:
    """Type names referenced by rosbags field definitions (``(name, (nodetype, detail))``)."""
    names = []
    for _, (nodetype, detail) in fields:
        if nodetype.name == "NAME":
            names.append(detail)
        elif nodetype.name in ("ARRAY", "SEQUENCE") and detail[0][0].name == "NAME":
            names.append(detail[0][1])
    return names


class DefinitionSource:
    """Message definitions loaded on demand from the installed ``.msg`` files."""

    def __init__(self) -> None:
        from rosbags.typesys import Stores, get_typestore

        self.store = get_typestore(Stores.EMPTY)

    def _msg_file(self, msgtype: str) -> pathlib.Path:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        package, kind, name = _split(msgtype)
        try:
            share = pathlib.Path(get_package_share_directory(package))
        except PackageNotFoundError:
            raise TypeSupportError(
                f"message type {msgtype}: package {package!r} is not installed (ament index)"
            ) from None
        path = share / kind / f"{name}.msg"
        if not path.is_file():
            raise TypeSupportError(f"message type {msgtype}: no definition file {path}")
        return path

    def ensure(self, msgtype: str) -> None:
        """Load ``msgtype`` and every type it nests into :attr:`store` (once).

        Raises:
            TypeSupportError: If a definition file is missing or does not parse.
        """
        from rosbags.typesys import get_types_from_msg

        pending = [msgtype]
        while pending:
            name = pending.pop()
            if name in self.store.fielddefs:
                continue
            path = self._msg_file(name)
            try:
                types = get_types_from_msg(path.read_text(), name)
            except Exception as error:  # noqa: BLE001 - any parse failure is a bad definition
                raise TypeSupportError(
                    f"message type {name}: cannot parse {path}: {error}"
                ) from None
            _, fields = types[name]
            self.store.register(types)
            pending.extend(n for n in _nested_names(fields) if n not in self.store.fielddefs)

    def definition(self, msgtype: str) -> tuple[str, str]:
        """``(ros2msg definition text, RIHS01 hash)`` of ``msgtype``."""
        self.ensure(msgtype)
        text, _ = self.store.generate_msgdef(msgtype, ros_version=2)
        return text, self.store.hash_rihs01(msgtype)


def message_class(msgtype: str) -> type:
    """The Python class of ``msgtype`` (``pkg/msg/Name``), for creating publishers.

    Raises:
        TypeSupportError: If its package's Python module is not importable here.
    """
    package, kind, name = _split(msgtype)
    try:
        module = importlib.import_module(f"{package}.{kind}")
        return getattr(module, name)
    except (ImportError, AttributeError) as error:
        raise TypeSupportError(
            f"message type {msgtype}: not installed here ({error}); build or source the "
            "package that defines it"
        ) from None
