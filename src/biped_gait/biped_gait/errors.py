"""Root exception of the biped_gait package: everything it raises on purpose derives from it."""


class BipedGaitError(Exception):
    """Raised on invalid input or configuration in biped_gait.

    Messages name the offending value and what was expected.
    """
