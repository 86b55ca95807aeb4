"""3D position and size of a detected object from a depth image aligned to the colour image.

For a box found in the colour image:

1. The reference depth is the median valid depth of the box's central part (``inner_fraction``
   of its width and height), which lies on the object for any convex object the box fits.
2. The object's pixels are those of the whole box whose depth is within a tolerance of the
   reference (``depth_tolerance`` times the object's metric width, at least
   ``min_tolerance_m``): the background behind the object and most of the table in front of it
   drop out. They are back-projected with the intrinsics.
3. The visible surface's centre is the per-axis median of those points (robust to the table
   pixels that remain). The object's centre lies behind its visible surface, along the viewing
   ray, by a class-dependent fraction of the object's width (``centre_offset``; about 0.35 for
   a sphere, whose median visible depth is r/sqrt(2) in front of its centre; the shipped
   detector's class file holds values calibrated on rendered scenes). For a class whose
   offset depends on its pose (a cylinder seen end-on has its centre half its length behind
   its flat cap; seen side-on, less than its radius behind its curved side) an
   ``offset_model`` (a, b, c) gives it in metres as a x the box's smaller extent + b x the
   depth spread (p90 - p10) of the object's pixels + c.
4. The size is the box's extent at the surface's depth along the optical x and y axes; the
   extent along the viewing direction is taken equal to the x extent (it is hidden).

Invalid depth (NaN, infinite, zero, negative, outside [min_depth_m, max_depth_m]) is ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vision_node.core.detections import Box2D
from vision_node.core.projection import CameraIntrinsics
from vision_node.errors import InputError, VisionNodeError

# The depth spread of an object's pixels: from this percentile to that one [%].
SPREAD_PERCENTILES = (10.0, 90.0)


@dataclass(frozen=True)
class LocalizerParams:
    """Parameters of :func:`localize`.

    Attributes:
        inner_fraction: Central part of the box that sets the reference depth, in (0, 1].
        depth_tolerance: Object pixels lie within this many object widths of the reference
            depth.
        min_tolerance_m: Smallest depth tolerance [m].
        min_depth_m: Nearest valid depth [m].
        max_depth_m: Farthest valid depth [m].
        min_points: Fewest object pixels for a position.
        max_points: Boxes with more pixels are subsampled on a regular grid (speed).
    """

    inner_fraction: float = 0.3
    depth_tolerance: float = 0.4
    min_tolerance_m: float = 0.01
    min_depth_m: float = 0.1
    max_depth_m: float = 6.0
    min_points: int = 8
    max_points: int = 3000

    def __post_init__(self) -> None:
        if not 0.0 < self.inner_fraction <= 1.0:
            raise VisionNodeError(f"inner_fraction = {self.inner_fraction}: expected (0, 1]")
        if not (self.depth_tolerance > 0.0 and self.min_tolerance_m > 0.0):
            raise VisionNodeError("depth_tolerance and min_tolerance_m must be > 0")
        if not 0.0 < self.min_depth_m < self.max_depth_m:
            raise VisionNodeError(
                f"depth range [{self.min_depth_m}, {self.max_depth_m}] m: expected "
                "0 < min_depth_m < max_depth_m"
            )
        if self.min_points < 1 or self.max_points < self.min_points:
            raise VisionNodeError("expected 1 <= min_points <= max_points")


@dataclass(frozen=True)
class Localization:
    """Result of :func:`localize`.

    Attributes:
        position: Object centre in the optical frame [m].
        size: Extents along the optical x, y, z axes [m].
        variance: Isotropic position variance [m^2] (spread of the points over their count,
            plus a quarter of the centre offset squared for the shape model).
        points: Number of depth pixels used.
        spread: Depth spread (p90 - p10) of those pixels [m].
    """

    position: np.ndarray
    size: np.ndarray
    variance: float
    points: int
    spread: float = 0.0


def localize(
    depth: np.ndarray,
    box: Box2D,
    intrinsics: CameraIntrinsics,
    centre_offset: float = 0.35,
    params: LocalizerParams = LocalizerParams(),  # noqa: B008 - frozen, never mutated
    depth_scale: float = 1.0,
    offset_model: tuple[float, float, float] | None = None,
) -> Localization:
    """Localise the object in ``box``.

    Args:
        depth: Depth image aligned to the image the box comes from, (rows, cols); float [m]
            or integer units (see ``depth_scale``).
        box: The object's box [px].
        intrinsics: Intrinsics of the (colour) image.
        centre_offset: Distance from the visible surface to the centre, in object widths.
        params: Tolerances.
        depth_scale: Metres per depth unit (0.001 for 16UC1 millimetres).
        offset_model: (a, b, c) for a pose-dependent offset [m] (module docstring); replaces
            ``centre_offset`` when given.

    Returns:
        The object's centre, size and variance.

    Raises:
        InputError: If the box holds fewer than ``params.min_points`` valid object pixels.
        VisionNodeError: If the depth image's size differs from the intrinsics'.
    """
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise VisionNodeError(
            f"depth image is {depth.shape[1]}x{depth.shape[0]} px but the camera is "
            f"{intrinsics.width}x{intrinsics.height} px: expected depth aligned to colour"
        )
    x0, y0, x1, y1 = box.corners()
    col0, col1 = max(0, math.ceil(x0)), min(depth.shape[1], math.ceil(x1))
    row0, row1 = max(0, math.ceil(y0)), min(depth.shape[0], math.ceil(y1))
    if col1 <= col0 or row1 <= row0:
        raise InputError(f"box {box} lies outside the {depth.shape[1]}x{depth.shape[0]} image")
    count = (col1 - col0) * (row1 - row0)
    step = max(1, math.ceil(math.sqrt(count / params.max_points)))
    patch = np.asarray(depth[row0:row1:step, col0:col1:step], dtype=np.float64)
    if depth_scale != 1.0:
        patch = patch * depth_scale
    with np.errstate(invalid="ignore"):
        valid = (patch >= params.min_depth_m) & (patch <= params.max_depth_m)
    if not np.any(valid):
        raise InputError(
            f"no valid depth in box ({box.center_x:.0f}, {box.center_y:.0f}) px "
            f"{box.width:.0f}x{box.height:.0f} px (NaN, zero or out of "
            f"[{params.min_depth_m}, {params.max_depth_m}] m)"
        )
    rows = np.arange(row0, row1, step)
    cols = np.arange(col0, col1, step)
    inner_rows = np.abs(rows - box.center_y) <= 0.5 * box.height * params.inner_fraction
    inner_cols = np.abs(cols - box.center_x) <= 0.5 * box.width * params.inner_fraction
    inner = valid & inner_rows[:, None] & inner_cols[None, :]
    reference = float(_median(patch[inner] if np.any(inner) else patch[valid]))
    width_m = box.width * reference / intrinsics.fx
    height_m = box.height * reference / intrinsics.fy
    tolerance = max(params.min_tolerance_m, params.depth_tolerance * max(width_m, height_m))
    with np.errstate(invalid="ignore"):
        mask = valid & (np.abs(patch - reference) <= tolerance)
    points = int(np.count_nonzero(mask))
    if points < params.min_points:
        raise InputError(
            f"only {points} valid depth pixels on the object in box ({box.center_x:.0f}, "
            f"{box.center_y:.0f}) px: expected at least {params.min_points}"
        )
    row_index, col_index = np.nonzero(mask)
    # x, y, z of the object's pixels as the rows of one array: one median call for the three.
    xyz = np.empty((3, points))
    z = xyz[2]
    z[:] = patch[row_index, col_index]
    np.multiply(cols[col_index] - intrinsics.cx, z, out=xyz[0])
    xyz[0] /= intrinsics.fx
    np.multiply(rows[row_index] - intrinsics.cy, z, out=xyz[1])
    xyz[1] /= intrinsics.fy
    surface = _median(xyz)
    extent_x = box.width * surface[2] / intrinsics.fx
    extent_y = box.height * surface[2] / intrinsics.fy
    low, high = _percentiles(z, SPREAD_PERCENTILES)
    spread_m = float(high - low)
    if offset_model is None:
        offset = centre_offset * extent_x
    else:
        a, b, c = offset_model
        offset = max(0.0, a * min(extent_x, extent_y) + b * spread_m + c)
    position = surface + offset * surface / np.linalg.norm(surface)
    spread = 1.4826 * float(_median(np.abs(z - surface[2])))
    variance = spread**2 / points + (0.5 * offset) ** 2
    return Localization(
        position, np.array([extent_x, extent_y, extent_x]), variance, points, spread_m
    )


def _median(values: np.ndarray) -> np.ndarray:
    """Median along the last axis of float64 values without NaN: what ``np.median`` returns
    (the middle value, or the mean ``(a + b) / 2`` of the two middle ones), without its
    generic checks (a third of this function's cost on a few detections)."""
    count = values.shape[-1]
    half = count // 2
    if count % 2:
        return np.partition(values, half, axis=-1)[..., half]
    ordered = np.partition(values, (half - 1, half), axis=-1)
    return (ordered[..., half - 1] + ordered[..., half]) / 2.0


def _percentiles(values: np.ndarray, percentiles: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, percentiles)`` (its default, linear interpolation between the
    two nearest order statistics, with numpy's float64 operations in the same order) of 1-D
    float64 values without NaN, with one partition and none of its generic checks."""
    count = values.shape[0]
    if count == 1:
        return [float(values[0])] * len(percentiles)
    positions = []
    for percentile in percentiles:
        virtual = (count - 1) * (percentile / 100)
        below = math.floor(virtual)
        positions.append((virtual, below, min(below + 1, count - 1)))
    ordered = np.partition(values, sorted({i for _, b, a in positions for i in (b, a)}))
    result = []
    for virtual, below, above in positions:
        low, high = float(ordered[below]), float(ordered[above])
        gamma = virtual - below
        difference = high - low
        result.append(high - difference * (1 - gamma) if gamma >= 0.5 else low + difference * gamma)
    return result
