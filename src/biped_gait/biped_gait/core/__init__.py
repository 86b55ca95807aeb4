"""Algorithms of the walking controller (numpy only, no ROS): the linear inverted pendulum."""
