"""Root exception of the biped_gait package: all errors it raises on purpose derive from it."""


class BipedGaitError(Exception):
    """Raised on invalid input or configuration in biped_gait.

    Messages name the offending value and what was expected.
    """
