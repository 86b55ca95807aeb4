"""Algorithms of the hand controller (numpy and Pinocchio, no ROS): hand kinematics."""
