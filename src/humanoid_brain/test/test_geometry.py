"""Rigid transform helpers (no ROS graph)."""

import math

import numpy as np
import pytest

from humanoid_brain.core import geometry
from humanoid_brain.errors import HumanoidBrainError


def random_quaternion(rng):
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)


def test_quaternion_round_trip_and_orthonormality():
    rng = np.random.default_rng(3)
    for _ in range(200):
        q = random_quaternion(rng)
        rotation = geometry.quaternion_to_matrix(*q)
        assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        back = np.array(geometry.matrix_to_quaternion(rotation))
        assert np.allclose(back, q * np.sign(q[0]), atol=1e-9)
    with pytest.raises(HumanoidBrainError, match="quaternion"):
        geometry.quaternion_to_matrix(0, 0, 0, 0)


def test_invert_and_apply():
    rng = np.random.default_rng(4)
    matrix = geometry.transform(rng.normal(size=3), random_quaternion(rng))
    point = rng.normal(size=3)
    assert np.allclose(
        geometry.apply(geometry.invert(matrix), geometry.apply(matrix, point)), point
    )
    assert np.allclose(geometry.invert(matrix) @ matrix, np.eye(4), atol=1e-12)


def test_planar_pose_and_local_coordinates():
    yaw = 0.7
    matrix = geometry.transform((1.0, 2.0, 0.8), (math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)))
    pose = geometry.planar(matrix)
    assert pose == pytest.approx((1.0, 2.0, yaw))
    ahead = (1.0 + math.cos(yaw), 2.0 + math.sin(yaw))
    assert np.allclose(pose.to_local(ahead), [1.0, 0.0])
    assert geometry.wrap_angle(3 * math.pi) == pytest.approx(math.pi)
    assert geometry.wrap_angle(-3 * math.pi / 2) == pytest.approx(math.pi / 2)


def test_optical_frame_convention():
    # The optical z axis is the link's x (forward), optical x the link's -y (right).
    assert np.allclose(geometry.LINK_TO_OPTICAL @ [0, 0, 1], [1, 0, 0])
    assert np.allclose(geometry.LINK_TO_OPTICAL @ [1, 0, 0], [0, -1, 0])
    assert np.allclose(geometry.LINK_TO_OPTICAL @ [0, 1, 0], [0, 0, -1])
