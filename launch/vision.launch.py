"""Start the vision node: detections with 3D pose from a camera's frames.

Usage: ``ros2 launch launch/vision.launch.py [camera_source:=topic|camera|video|images]
[use_sim_time:=false]`` (``--show-args`` lists every argument). With the simulator
(``launch/sim.launch.py``) the default ``topic`` source reads its head camera; ``camera`` reads
a V4L2 device, ``video`` and ``images`` replay recordings (use_sim_time:=false for these three;
their options, e.g. the device or the file path, are in ``config/vision_node.yaml``). The nodes,
parameters and arguments are those of the ``vision`` stack of ``launch/stack.yaml``.
"""

import os
import sys

LAUNCH_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
if LAUNCH_DIRECTORY not in sys.path:
    sys.path.insert(0, LAUNCH_DIRECTORY)

from _stack import stack_launch_description  # noqa: E402


def generate_launch_description():
    return stack_launch_description(os.path.join(LAUNCH_DIRECTORY, "stack.yaml"), "vision")
