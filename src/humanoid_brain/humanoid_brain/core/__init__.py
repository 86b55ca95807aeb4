"""Task logic of the brain (plain Python, no ROS): the fetch-the-object state machine."""
