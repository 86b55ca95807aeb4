"""Find frame sources by name through the entry-point group ``vision_node.sources``."""

from __future__ import annotations

from importlib import metadata

from vision_node.errors import SourceError
from vision_node.sources.base import FrameSource

GROUP = "vision_node.sources"
BUILT_IN = {
    "topic": "vision_node.sources.topic_source:TopicSource",
    "camera": "vision_node.sources.capture_source:CameraSource",
    "video": "vision_node.sources.capture_source:VideoSource",
    "images": "vision_node.sources.image_folder_source:ImageFolderSource",
}


def available_sources() -> dict[str, str]:
    """Source name -> ``module:Class`` for every installed one (built-ins always)."""
    found = dict(BUILT_IN)
    found.update({entry.name: entry.value for entry in metadata.entry_points(group=GROUP)})
    return found


def load_source(name: str) -> type[FrameSource]:
    """The source class registered under ``name``.

    Raises:
        SourceError: Unknown name (the message lists the available ones), an import failure,
            or a class that is not a FrameSource.
    """
    entries = available_sources()
    if name not in entries:
        raise SourceError(
            f"unknown source {name!r}; available: {sorted(entries)} (entry-point group '{GROUP}')"
        )
    module_name, _, attribute = entries[name].partition(":")
    try:
        module = __import__(module_name, fromlist=[attribute])
        source = getattr(module, attribute)
    except Exception as error:  # noqa: BLE001 - any import failure of a plugin is reported
        raise SourceError(f"source {name!r} failed to load: {error!r}") from error
    if not (isinstance(source, type) and issubclass(source, FrameSource)):
        raise SourceError(f"source {name!r} is {source!r}, not a FrameSource")
    return source
