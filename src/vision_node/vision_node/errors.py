"""Root exception of the vision_node package: all errors it raises on purpose derive from it."""


class VisionNodeError(Exception):
    """Raised on invalid input or configuration in vision_node.

    Messages name the offending value and what was expected.
    """
