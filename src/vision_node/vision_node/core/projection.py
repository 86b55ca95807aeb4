"""Pinhole camera geometry: intrinsics, pixel + depth back-projection, robust depth of a box.

Points are in the camera optical frame (x right, y down, z forward along the optical axis) [m].
Pixel coordinates follow the ROS / OpenCV convention: (u, v) = (column, row) [px], integer values
at pixel centres. Lens distortion is not modelled: pixels must come from an undistorted
(rectified) image, e.g. a simulated camera or a depth image registered to the colour image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vision_node.errors import VisionNodeError


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of an undistorted camera.

    Attributes:
        fx: Focal length along u [px].
        fy: Focal length along v [px].
        cx: Principal point column [px].
        cy: Principal point row [px].
        width: Image width [px].
        height: Image height [px].
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("fx", "fy"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise VisionNodeError(f"intrinsic {name} = {value!r} px: expected finite > 0")
        for name in ("cx", "cy"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise VisionNodeError(f"intrinsic {name} = {value!r} px: expected a finite value")
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise VisionNodeError(f"image {name} = {value!r} px: expected a positive integer")
            object.__setattr__(self, name, int(value))

    @classmethod
    def from_camera_info_dict(
        cls, data: Mapping[str, Any], ignore_distortion: bool = False
    ) -> CameraIntrinsics:
        """Parse a ROS ``camera_info`` YAML file's content (camera_calibration_parsers format).

        Reads ``image_width``, ``image_height`` and ``camera_matrix`` (``rows: 3``, ``cols: 3``,
        ``data``: the 9 values of K row-major, ``[fx, 0, cx, 0, fy, cy, 0, 0, 1]``).

        Args:
            data: The parsed YAML mapping.
            ignore_distortion: Accept non-zero ``distortion_coefficients`` (the caller guarantees
                the pixels it uses are undistorted). Otherwise they raise.

        Returns:
            The validated intrinsics.

        Raises:
            VisionNodeError: If a key is missing, the matrix is not 3x3 with a last row
                ``[0, 0, 1]`` and zero skew, or the image size or focal lengths are invalid.
        """
        missing = [k for k in ("image_width", "image_height", "camera_matrix") if k not in data]
        if missing:
            raise VisionNodeError(f"camera_info is missing keys {missing}")
        matrix = data["camera_matrix"]
        if not isinstance(matrix, Mapping) or "data" not in matrix:
            raise VisionNodeError(
                f"camera_info camera_matrix = {matrix!r}: expected a mapping with 'data'"
            )
        shape = (matrix.get("rows", 3), matrix.get("cols", 3))
        try:
            k = np.asarray(matrix["data"], dtype=float)
        except (TypeError, ValueError) as exc:
            raise VisionNodeError("camera_info camera_matrix.data is not numeric") from exc
        if shape != (3, 3) or k.shape != (9,):
            raise VisionNodeError(
                f"camera_info camera_matrix has rows x cols = {shape[0]} x {shape[1]} and "
                f"{k.size} values: expected 3 x 3 and 9 values"
            )
        k = k.reshape(3, 3)
        if not np.allclose(k[2], [0.0, 0.0, 1.0]) or k[0, 1] != 0.0 or k[1, 0] != 0.0:
            raise VisionNodeError(
                f"camera_info camera_matrix = {k.tolist()}: expected [[fx, 0, cx], [0, fy, cy], "
                "[0, 0, 1]] (no skew)"
            )
        dist = data.get("distortion_coefficients", {}) or {}
        try:
            coeffs = np.asarray(dist.get("data", []) if isinstance(dist, Mapping) else dist, float)
        except (TypeError, ValueError) as exc:
            raise VisionNodeError("camera_info distortion_coefficients are not numeric") from exc
        if not ignore_distortion and np.any(coeffs != 0.0):
            raise VisionNodeError(
                f"camera_info distortion_coefficients = {coeffs.tolist()}: expected all zeros "
                "(this model has no distortion); undistort first or pass ignore_distortion=True"
            )
        return cls(
            fx=float(k[0, 0]),
            fy=float(k[1, 1]),
            cx=float(k[0, 2]),
            cy=float(k[1, 2]),
            width=data["image_width"],
            height=data["image_height"],
        )

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def backproject(u: np.ndarray, v: np.ndarray, depth: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """3D point seen at pixel (u, v) at a given depth.

    Args:
        u: Column(s) [px].
        v: Row(s) [px].
        depth: Depth along the optical axis (z, not the ray length) [m], > 0.
        k: Camera intrinsics.

    Returns:
        Points in the optical frame [m], shape (..., 3).

    Raises:
        VisionNodeError: If a depth is not finite or not > 0.
    """
    z = np.asarray(depth, dtype=float)
    if not np.all(np.isfinite(z) & (z > 0.0)):
        raise VisionNodeError(f"depth = {z.tolist()} m: expected finite values > 0")
    x = (np.asarray(u, dtype=float) - k.cx) * z / k.fx
    y = (np.asarray(v, dtype=float) - k.cy) * z / k.fy
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def project(points: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Pixel where points of the optical frame are seen (inverse of :func:`backproject`).

    Args:
        points: Points in the optical frame [m], shape (..., 3), in front of the camera (z > 0).
        k: Camera intrinsics.

    Returns:
        Pixel coordinates (u, v) [px], shape (..., 2); they may lie outside the image.

    Raises:
        VisionNodeError: If the last axis is not 3 long or a point is not in front of the camera.
    """
    p = np.asarray(points, dtype=float)
    if p.ndim == 0 or p.shape[-1] != 3:
        raise VisionNodeError(f"points have shape {p.shape}: expected (..., 3)")
    z = p[..., 2]
    if not np.all(np.isfinite(z) & (z > 0.0)):
        raise VisionNodeError(f"point depths z = {z.tolist()} m: expected finite values > 0")
    return np.stack([k.fx * p[..., 0] / z + k.cx, k.fy * p[..., 1] / z + k.cy], axis=-1)


def box_depth(
    depth_image: np.ndarray,
    center_u: float,
    center_v: float,
    width: float,
    height: float,
    depth_scale: float = 1.0,
    inner_fraction: float = 1.0,
) -> float:
    """Robust depth of the object in a box: the median of its valid depth pixels.

    Pixels that are NaN, infinite, zero or negative (no return) are ignored. The box is clipped
    to the image.

    Args:
        depth_image: Depth image, shape (rows, cols); float [m] or integer (e.g. 16UC1 [mm]).
        center_u: Box centre column [px] (``Detection2D.center_x``).
        center_v: Box centre row [px] (``Detection2D.center_y``).
        width: Box width [px], > 0.
        height: Box height [px], > 0.
        depth_scale: Metres per depth unit [m/unit], e.g. 0.001 for millimetre images.
        inner_fraction: Use only the central part of the box, this fraction of its width and
            height, in (0, 1], to leave out background around the object.

    Returns:
        The median depth [m].

    Raises:
        VisionNodeError: If the image is not 2D, the box or parameters are invalid, or no pixel
            of the box has a valid depth.
    """
    img = np.asarray(depth_image)
    if img.ndim != 2:
        raise VisionNodeError(f"depth image has shape {img.shape}: expected (rows, cols)")
    if not (math.isfinite(width) and width > 0.0 and math.isfinite(height) and height > 0.0):
        raise VisionNodeError(f"box size {width!r} x {height!r} px: expected finite values > 0")
    if not (math.isfinite(center_u) and math.isfinite(center_v)):
        raise VisionNodeError(f"box centre ({center_u!r}, {center_v!r}) px: expected finite")
    if not (0.0 < inner_fraction <= 1.0):
        raise VisionNodeError(f"inner_fraction = {inner_fraction!r}: expected a value in (0, 1]")
    if not (math.isfinite(depth_scale) and depth_scale > 0.0):
        raise VisionNodeError(f"depth_scale = {depth_scale!r} m/unit: expected finite > 0")
    half_w, half_h = 0.5 * width * inner_fraction, 0.5 * height * inner_fraction
    # Pixel c has its centre at c: take the pixels whose centre lies in [centre - half, + half).
    col0 = max(0, math.ceil(center_u - half_w))
    col1 = min(img.shape[1], math.ceil(center_u + half_w))
    row0 = max(0, math.ceil(center_v - half_h))
    row1 = min(img.shape[0], math.ceil(center_v + half_h))
    patch = img[row0:row1, col0:col1].astype(float).ravel()
    valid = patch[np.isfinite(patch) & (patch > 0.0)]
    if valid.size == 0:
        raise VisionNodeError(
            f"no valid depth in box centre ({center_u}, {center_v}) px, size {width} x {height} px "
            f"(pixels rows {row0}:{row1}, cols {col0}:{col1}, {patch.size} pixels): expected at "
            "least one finite depth > 0"
        )
    return float(np.median(valid)) * depth_scale
