"""Algorithms of the tactile driver (numpy only, no ROS): calibration of raw taxel readings."""
