"""Replay a recording into the controllers (tactile, gait, hands, vision) and record their outputs.

Usage: ``ros2 launch launch/replay.launch.py bag:=recordings/session [replay_rate:=0.5]
[record_to:=recordings/out]``
(``ros2 launch launch/replay.launch.py --show-args`` lists every argument). The nodes, parameters
and arguments are those of the ``replay`` stack of ``launch/stack.yaml``.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "replay")
