"""Find tactile backends by name through the entry-point group ``tactile_driver.backends``.

The built-in backends (serial, sim, replay) are registered in this package's setup.py the same
way a third-party package registers its own::

    entry_points={"tactile_driver.backends": ["my_skin = my_package.backend:MySkinBackend"]}

so integrators add a device without touching this package.
"""

from __future__ import annotations

from humanoid_common.plugins import available, load_class

from tactile_driver.backends.base import BackendError, TactileBackend

GROUP = "tactile_driver.backends"


def available_backends() -> dict[str, str]:
    """Backend name -> ``module:Class``, for every installed distribution."""
    return available(GROUP)


def load_backend(name: str) -> type[TactileBackend]:
    """The backend class registered under ``name``.

    Raises:
        BackendError: No such backend (the message lists the available ones), it fails to
            import, or it is not a TactileBackend.
    """
    return load_class(GROUP, name, TactileBackend, BackendError, "tactile backend")
