"""Classes found by name through an entry-point group: how integrators add a tactile backend,
a vision detector or a frame source without touching the stack (no ROS import).

A package registers its classes in setup.py the way a third-party package does::

    entry_points={"<group>": ["my_name = my_package.module:MyClass"]}
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib import metadata


def available(group: str, built_in: Mapping[str, str] | None = None) -> dict[str, str]:
    """Name -> ``module:Class`` for every installed entry of ``group`` (``built_in`` entries
    always, so a package run from its sources still finds its own)."""
    found = dict(built_in or {})
    found.update({entry.name: entry.value for entry in metadata.entry_points(group=group)})
    return found


def load_class(
    group: str,
    name: str,
    base: type,
    error: type[Exception],
    kind: str,
    built_in: Mapping[str, str] | None = None,
) -> type:
    """The subclass of ``base`` registered under ``name`` in ``group``.

    Raises:
        error: Unknown name (the message lists the available ones and the group), an import
            failure, or something that is not a subclass of ``base``; ``kind`` names it.
    """
    entries = available(group, built_in)
    if name not in entries:
        raise error(
            f"unknown {kind} {name!r}; available: {sorted(entries)} (entry-point group '{group}')"
        )
    module_name, _, attribute = entries[name].partition(":")
    try:
        found = getattr(importlib.import_module(module_name.strip()), attribute.strip())
    except Exception as failure:  # noqa: BLE001 - any import failure of a plugin is reported
        raise error(f"{kind} {name!r} failed to load: {failure!r}") from failure
    if not (isinstance(found, type) and issubclass(found, base)):
        raise error(f"{kind} {name!r} is {found!r}, not a {base.__name__}")
    return found
