"""Start the simulated humanoid (MuJoCo) alone, which offers the robot's topics.

Usage: ``ros2 launch launch/simulator.launch.py [sim_mode:=lockstep] [seed:=3] [namespace:=robot1]``
(``ros2 launch launch/simulator.launch.py --show-args`` lists every argument). The nodes, parameters
and arguments are those of the ``simulator`` stack of ``launch/stack.yaml``.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "simulator")
