"""Detectors, chosen by name (parameter ``detector``) through the entry-point group
``vision_node.detectors``: ``scene_objects`` (the shipped heatmap model), ``yolo`` (any
YOLOv8 / YOLO11 ONNX export) and ``fiducial`` (ArUco / AprilTag markers with PnP pose)."""
