"""Vision for the humanoid: camera geometry, and later object detection and localisation."""
