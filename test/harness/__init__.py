"""Test harness of the humanoid stack: start nodes from the wiring, drive and observe the graph.

- :mod:`harness.domain`: a private ROS_DOMAIN_ID and ROS_HOME per run.
- :mod:`harness.spec`: :class:`NodeSpec`, what it takes to start one node.
- :mod:`harness.wiring`: NodeSpecs from ``launch/stack.yaml``, the launch files' wiring.
- :mod:`harness.processes`: nodes as processes (``ros2 run`` style), stopped with SIGINT.
- :mod:`harness.ros`: :class:`TestNode`, an rclpy node for tests with bounded waits.

Only :mod:`harness.ros` imports rclpy; import it after :func:`configure_environment`.
"""

from .domain import configure_environment
from .processes import NodeGroup, NodeProcess, executable_exists, find_executable
from .spec import NodeSpec
from .wiring import load_stack_file, node_specs

__all__ = [
    "NodeGroup",
    "NodeProcess",
    "NodeSpec",
    "configure_environment",
    "executable_exists",
    "find_executable",
    "load_stack_file",
    "node_specs",
]
