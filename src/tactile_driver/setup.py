from setuptools import find_packages, setup

package_name = "tactile_driver"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml", "PROTOCOL.md"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Humanoid stack maintainers",
    maintainer_email="maintainers@humanoid-stack.org",
    description="E-skin driver: swappable backends, calibration, contacts and slip",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "tactile_driver_node = tactile_driver.node:main",
            "tactile_emulator = tactile_driver.emulator:main",
        ],
        # Backends are found by name through this group; third-party packages add their own.
        "tactile_driver.backends": [
            "serial = tactile_driver.backends.serial_backend:SerialBackend",
            "sim = tactile_driver.backends.sim_backend:SimBackend",
            "replay = tactile_driver.backends.replay_backend:ReplayBackend",
        ],
    },
)
