"""argparse value types shared by the console scripts: a bad value is an argparse error, which
prints the usage and the reason and exits with code 2."""

from __future__ import annotations

import argparse
import math


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not finite")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    value = _number(text, float)
    if value <= 0.0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a value > 0")
    return value


def nonnegative_float(text: str) -> float:
    """A finite float >= 0."""
    value = _number(text, float)
    if value < 0.0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a value >= 0")
    return value


def positive_int(text: str) -> int:
    """An integer > 0."""
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer > 0")
    return value


def split_ros_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``argv`` into (the program's arguments, the arguments for ``rclpy.init``).

    ROS arguments are those between ``--ros-args`` and ``--`` (or the end). Unlike
    ``rclpy.utilities.remove_ros_args``, a bare ``FROM:=TO`` outside ``--ros-args`` stays the
    program's (``play --remap /a:=/b``), and is not handed to rcl as a global remap either.
    """
    program, ros = [argv[0]] if argv else [], [argv[0]] if argv else []
    inside = False
    for argument in argv[1:]:
        if argument == "--ros-args":
            inside = True
            ros.append(argument)
        elif inside and argument == "--":
            inside = False
        elif inside:
            ros.append(argument)
        else:
            program.append(argument)
    return program, ros
