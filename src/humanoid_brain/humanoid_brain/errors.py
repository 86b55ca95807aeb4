"""Root exception of the humanoid_brain package: all errors it raises on purpose derive from it."""


class HumanoidBrainError(Exception):
    """Raised on invalid input or configuration in humanoid_brain.

    Messages name the offending value and what was expected.
    """
