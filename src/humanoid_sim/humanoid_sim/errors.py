"""Root exception of the humanoid_sim package."""


class SimError(Exception):
    """Anything the simulator refuses: bad configuration, bad command, unknown body."""


class CommandRejected(SimError):
    """A joint command that is rejected as a whole (the reason is the message)."""
