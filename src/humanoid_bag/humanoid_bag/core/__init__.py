"""Playback and recording logic without ROS: time windows, pacing, remapping, QoS profiles."""
