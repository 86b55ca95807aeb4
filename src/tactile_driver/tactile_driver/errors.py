"""Root exception of the tactile_driver package: all errors it raises on purpose derive from it."""


class TactileDriverError(Exception):
    """Raised on invalid input or configuration in tactile_driver.

    Messages name the offending value and what was expected.
    """
