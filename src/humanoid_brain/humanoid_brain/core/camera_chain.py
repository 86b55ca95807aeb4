"""Where the head camera is relative to the pelvis: forward kinematics through the waist.

The vision node reports the target in the camera's optical frame. The camera sits on the torso,
which the waist joints (yaw, roll, pitch) move relative to the pelvis, the frame odometry
reports; so the brain needs ``T_pelvis_camera`` at the waist angles of the moment. Pinocchio
computes it from the robot's URDF (fixed base at the pelvis); the optical frame is the camera
link turned to z forward, x right, y down (REP-103).
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import yaml

from humanoid_brain.core.geometry import LINK_TO_OPTICAL
from humanoid_brain.errors import HumanoidBrainError


def example_robot_data_dir() -> pathlib.Path:
    """example-robot-data's ``robots/`` folder: ``$EXAMPLE_ROBOT_DATA_DIR``, the PyPI wheel's
    cmeel prefix on ``sys.path``, or an apt install under ``/opt/ros``."""
    env = os.environ.get("EXAMPLE_ROBOT_DATA_DIR")
    candidates = [pathlib.Path(env)] if env else []
    candidates += [
        pathlib.Path(entry) / "cmeel.prefix/share/example-robot-data/robots" for entry in sys.path
    ]
    candidates += sorted(pathlib.Path("/opt/ros").glob("*/share/example-robot-data/robots"))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise HumanoidBrainError(
        "example-robot-data not found: install its wheel or set EXAMPLE_ROBOT_DATA_DIR"
    )


class CameraChain:
    """``T_pelvis_optical`` as a function of the waist joint angles.

    Args:
        urdf_path: The robot's URDF; its root link is the base (pelvis).
        camera_link: Link of the camera (x forward, z up).
        joints: Joints between the base and the camera link, whose angles matter.

    Raises:
        HumanoidBrainError: If the URDF lacks the link or a joint.
    """

    def __init__(self, urdf_path: str | os.PathLike, camera_link: str, joints: Sequence[str]):
        import pinocchio as pin

        self._pin = pin
        try:
            self.model = pin.buildModelFromUrdf(str(urdf_path))
        except Exception as error:  # noqa: BLE001 - pinocchio raises plain exceptions
            raise HumanoidBrainError(f"cannot load URDF {urdf_path}: {error}") from None
        if not self.model.existFrame(camera_link):
            raise HumanoidBrainError(f"camera link {camera_link!r} is not in {urdf_path}")
        self.frame_id = self.model.getFrameId(camera_link)
        missing = [j for j in joints if not self.model.existJointName(j)]
        if missing:
            raise HumanoidBrainError(f"joints {missing} are not in {urdf_path}")
        self.joints = tuple(joints)
        self._index = [self.model.joints[self.model.getJointId(j)].idx_q for j in self.joints]
        self.data = self.model.createData()
        self._q = pin.neutral(self.model)

    @classmethod
    def from_robot_description(cls, path: str | os.PathLike) -> CameraChain:
        """Build from a robot description YAML (``urdf``, ``camera.link``, waist joints)."""
        try:
            description = yaml.safe_load(pathlib.Path(path).read_text())
            urdf = example_robot_data_dir() / description["urdf"]["path"]
            link = description["camera"]["link"]
            joints = description["joint_groups"]["waist"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
            raise HumanoidBrainError(f"robot description {path}: {error!r}") from None
        return cls(urdf, link, joints)

    def optical_in_base(self, joint_positions: Mapping[str, float] | None = None) -> np.ndarray:
        """``T_base_optical`` (4x4) with the given joint angles [rad] (missing ones: 0)."""
        positions = joint_positions or {}
        for joint, index in zip(self.joints, self._index, strict=True):
            self._q[index] = float(positions.get(joint, 0.0))
        self._pin.framesForwardKinematics(self.model, self.data, self._q)
        placement = self.data.oMf[self.frame_id]
        matrix = np.eye(4)
        matrix[:3, :3] = placement.rotation @ LINK_TO_OPTICAL
        matrix[:3, 3] = placement.translation
        return matrix
