"""Start the whole stack on the robot: tactile drivers, gait, hands, vision, brain; no simulator.

Usage: ``ros2 launch launch/robot.launch.py [tactile_backend:=serial] [camera_source:=topic]
[log_level:=debug]``
(``ros2 launch launch/robot.launch.py --show-args`` lists every argument). The nodes, parameters
and arguments are those of the ``robot`` stack of ``launch/stack.yaml``.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "robot")
