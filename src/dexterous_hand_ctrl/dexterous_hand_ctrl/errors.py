"""Root exception of the dexterous_hand_ctrl package: everything it raises on purpose derives from it."""


class DexterousHandCtrlError(Exception):
    """Raised on invalid input or configuration in dexterous_hand_ctrl.

    Messages name the offending value and what was expected.
    """
