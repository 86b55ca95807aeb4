from glob import glob

from setuptools import find_packages, setup

package_name = "vision_node"

setup(
    name=package_name,
    version="0.2.0",
    packages=find_packages(exclude=["test", "training"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml", "README.md"]),
        # The shipped detector: ONNX models, class names, evaluation report.
        (
            "share/" + package_name + "/models",
            sorted(glob("models/*.onnx") + glob("models/*.yaml") + glob("models/*.md")),
        ),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Humanoid stack maintainers",
    maintainer_email="maintainers@humanoid-stack.org",
    description="Camera sources, ONNX and fiducial detection, 3D localisation",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": ["vision_node = vision_node.node:main"],
        # Detectors and sources are found by name through these groups; third-party packages
        # add their own the same way.
        "vision_node.detectors": [
            "scene_objects = vision_node.detectors.heatmap_detector:HeatmapDetector",
            "yolo = vision_node.detectors.yolo_detector:YoloDetector",
            "fiducial = vision_node.detectors.fiducial_detector:FiducialDetector",
        ],
        "vision_node.sources": [
            "topic = vision_node.sources.topic_source:TopicSource",
            "camera = vision_node.sources.capture_source:CameraSource",
            "video = vision_node.sources.capture_source:VideoSource",
            "images = vision_node.sources.image_folder_source:ImageFolderSource",
        ],
    },
)
