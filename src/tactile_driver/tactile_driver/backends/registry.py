"""Find tactile backends by name through the entry-point group ``tactile_driver.backends``.

The built-in backends (serial, sim, replay) are registered in this package's setup.py the same
way a third-party package registers its own::

    entry_points={"tactile_driver.backends": ["my_skin = my_package.backend:MySkinBackend"]}

so integrators add a device without touching this package.
"""

from __future__ import annotations

from importlib import metadata

from tactile_driver.backends.base import BackendError, TactileBackend

GROUP = "tactile_driver.backends"


def available_backends() -> dict[str, metadata.EntryPoint]:
    """Backend name -> entry point, for every installed distribution."""
    return {entry.name: entry for entry in metadata.entry_points(group=GROUP)}


def load_backend(name: str) -> type[TactileBackend]:
    """The backend class registered under ``name``.

    Raises:
        BackendError: No such backend (the message lists the available ones), it fails to
            import, or it is not a TactileBackend.
    """
    entries = available_backends()
    if name not in entries:
        raise BackendError(
            f"unknown tactile backend {name!r}; available: {sorted(entries)} "
            f"(entry-point group '{GROUP}')"
        )
    try:
        backend = entries[name].load()
    except Exception as error:  # noqa: BLE001 - any import failure of a plugin is reported
        raise BackendError(f"tactile backend {name!r} failed to load: {error!r}") from error
    if not (isinstance(backend, type) and issubclass(backend, TactileBackend)):
        raise BackendError(f"tactile backend {name!r} is {backend!r}, not a TactileBackend")
    return backend
