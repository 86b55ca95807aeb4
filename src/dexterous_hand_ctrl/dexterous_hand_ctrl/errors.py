"""Root exception of the dexterous_hand_ctrl package: the errors it raises derive from it."""


class DexterousHandCtrlError(Exception):
    """Raised on invalid input or configuration in dexterous_hand_ctrl.

    Messages name the offending value and what was expected.
    """
