"""Start the whole chain in simulation: simulator, senses, limbs and brain (stack `sim`).

Usage: ``ros2 launch launch/sim.launch.py [sim_mode:=paced] [seed:=3] [camera_source:=topic]
[namespace:=robot1]``
(``ros2 launch launch/sim.launch.py --show-args`` lists every argument). The nodes, parameters
and arguments are those of the ``sim`` stack of ``launch/stack.yaml``.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "sim")
