"""Root exception of the humanoid_bag package: all errors it raises on purpose derive from it."""


class HumanoidBagError(Exception):
    """Raised on invalid input or configuration in humanoid_bag.

    Messages name the offending value and what was expected. The console scripts print them
    and exit with code 2.
    """
