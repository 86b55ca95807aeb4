"""Start the tactile skin drivers of both hands.

Usage: ``ros2 launch launch/tactile.launch.py [tactile_backend:=sim] [use_sim_time:=false]``
(``ros2 launch launch/tactile.launch.py --show-args`` lists every argument; use_sim_time:=false
with real boards). The nodes, parameters and arguments are those of the ``tactile`` stack of
``launch/stack.yaml``. With no boards, ``ros2 run tactile_driver tactile_emulator --skin
right_hand --link /tmp/humanoid_eskin_right_hand`` plays one on a pseudo-terminal.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "tactile")
