"""Simulation algorithms with no ROS dependency: model building, sensors, commands, statics."""
