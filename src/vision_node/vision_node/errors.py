"""Root exception of the vision_node package: all errors it raises on purpose derive from it."""


class VisionNodeError(Exception):
    """Raised on invalid input or configuration in vision_node.

    Messages name the offending value and what was expected.
    """


class ModelError(VisionNodeError):
    """A detector model is missing, unreadable, corrupt or has an unexpected layout."""


class InputError(VisionNodeError):
    """An input frame cannot be used (wrong encoding, size, or no valid depth); it is skipped."""


class SourceError(VisionNodeError):
    """A frame source cannot start with its configuration (the message says why)."""
