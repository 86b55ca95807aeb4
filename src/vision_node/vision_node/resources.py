"""Find files named in parameters: ``package://<package>/<path>``, absolute, or stack-relative.

``package://vision_node/models/scene_objects.onnx`` is the model shipped with this package
(installed under ``share/vision_node/models`` by setup.py); relative paths are taken from the
stack root (the repository holding ``config/``), like every other file parameter of the stack.
"""

from __future__ import annotations

import os
import pathlib

from humanoid_common.params import stack_root

from vision_node.errors import VisionNodeError

PACKAGE_URI = "package://"

__all__ = ["stack_root"]  # re-exported for the training scripts


def _package_share(package: str) -> pathlib.Path:
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )

        try:
            return pathlib.Path(get_package_share_directory(package))
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    if package == "vision_node":  # not installed: this source tree (tests, training)
        return pathlib.Path(__file__).resolve().parents[1]
    raise VisionNodeError(f"package {package!r} not found (is the workspace built and sourced?)")


def resolve_path(path: str) -> pathlib.Path:
    """The file a parameter names (it need not exist; callers check and name it in errors).

    Raises:
        VisionNodeError: If ``path`` is empty or names an unknown package.
    """
    if not path:
        raise VisionNodeError("empty file path")
    if path.startswith(PACKAGE_URI):
        package, _, relative = path[len(PACKAGE_URI) :].partition("/")
        share = _package_share(package)
        candidate = share / relative
        if not candidate.exists() and package == "vision_node":
            source = pathlib.Path(__file__).resolve().parents[1] / relative
            if source.exists():
                return source
        return candidate
    candidate = pathlib.Path(os.path.expanduser(path))
    return candidate if candidate.is_absolute() else stack_root() / candidate
