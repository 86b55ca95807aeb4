"""Start the grasp controllers of both hands (one Grasp action server per hand).

Usage: ``ros2 launch launch/hand.launch.py [use_sim_time:=false]`` (``--show-args`` lists every
argument). The nodes, parameters and arguments are those of the ``hand`` stack of
``launch/stack.yaml``. They need the robot (``launch/sim.launch.py``; in lockstep mode add
``right_hand`` / ``left_hand`` to the simulator's ``lockstep_sources``) and the tactile drivers
(``launch/tactile.launch.py tactile_backend:=sim`` in simulation).
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "hand")
