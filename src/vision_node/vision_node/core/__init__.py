"""Algorithms of the vision node (numpy only, no ROS): pinhole projection and box depth."""
