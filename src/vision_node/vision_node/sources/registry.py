"""Find frame sources by name through the entry-point group ``vision_node.sources``."""

from __future__ import annotations

from humanoid_common.plugins import available, load_class

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
    return available(GROUP, BUILT_IN)


def load_source(name: str) -> type[FrameSource]:
    """The source class registered under ``name``.

    Raises:
        SourceError: Unknown name (the message lists the available ones), an import failure,
            or a class that is not a FrameSource.
    """
    return load_class(GROUP, name, FrameSource, SourceError, "source", BUILT_IN)
