"""Frame sources, chosen by name (parameter ``source``) through the entry-point group
``vision_node.sources``: ``topic`` (ROS Image topics: the simulator or a RealSense driver),
``camera`` (an OpenCV capture: device index or path, V4L2), ``video`` (a video file) and
``images`` (a folder of images, with optional aligned depth)."""
