"""rosbag2 record and replay for the humanoid stack: ``ros2 run humanoid_bag record|play|info``."""
