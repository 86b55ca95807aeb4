"""Start the walking controller (biped_gait) of the humanoid: /cmd_vel in, joint commands out.

Usage: ``ros2 launch launch/gait.launch.py [use_sim_time:=true] [namespace:=robot1]``, with the
simulator started separately (``ros2 launch launch/sim.launch.py``) or on the robot
(``ros2 launch launch/gait.launch.py --show-args`` lists every argument). The nodes, parameters
and arguments are those of the ``gait`` stack of ``launch/stack.yaml``. Then
``/gait/stand``, ``/gait/walk`` (std_srvs/Trigger) and /cmd_vel.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "gait")
