"""Square crops around candidate boxes, as the scene-object classifier sees them.

Each crop covers the box's longer side times ``context`` (at least ``min_side_px``), centred on
the box, resampled to ``size`` x ``size`` (bilinear for colour, nearest for depth; outside the
image: zeros). Five channels: RGB in [0, 1], the depth relative to the crop's reference depth
(the median valid depth of its central half), ``(d - ref) / ref x 10`` clipped to [-3, 3], and
the depth's validity (1 where a depth was measured). Without depth the last two are zeros.

The training script builds its crops with this same function, so the classifier sees at run
time exactly what it learned from.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision_node.core.detections import Box2D

CHANNELS = 5
# Depth types cv2.warpAffine samples as they are (others are converted to metres first).
_SAMPLED_DTYPES = (np.dtype(np.float32), np.dtype(np.uint16), np.dtype(np.float64))


def crop_batch(
    rgb: np.ndarray,
    depth_m: np.ndarray | None,
    boxes: list[Box2D],
    size: int = 32,
    context: float = 1.3,
    min_side_px: float = 12.0,
    depth_scale: float = 1.0,
) -> np.ndarray:
    """Crops of ``boxes``.

    Args:
        rgb: Image (rows, cols, 3) uint8.
        depth_m: Depth aligned to ``rgb`` [m], 0 or NaN where unknown; None if none. Also a
            raw depth image in any unit (float32 or uint16, NaN, zero or negative where
            unknown) with ``depth_scale``: only the sampled pixels are converted, which gives
            the crops of :func:`depth_in_metres` of the whole image at a fraction of its cost.
        boxes: Candidate boxes [px].
        size: Side of the output crops [px].
        context: Crop side over the box's longer side.
        min_side_px: Smallest crop side [px].
        depth_scale: Metres per unit of ``depth_m`` (1 for metres).

    Returns:
        (N, 5, size, size) float32.
    """
    out = np.zeros((len(boxes), CHANNELS, size, size), np.float32)
    if not boxes:
        return out
    if depth_m is not None and depth_m.dtype not in _SAMPLED_DTYPES:
        depth_m, depth_scale = depth_in_metres(depth_m, depth_scale), 1.0
    colours = np.empty((len(boxes), size, size, 3), np.uint8)
    depths = np.empty((len(boxes), size, size), np.float32) if depth_m is not None else None
    for index, box in enumerate(boxes):
        side = max(box.width, box.height, 1.0) * context
        side = max(side, min_side_px)
        scale = size / side
        # Affine map: source pixel centre (x, y) -> crop pixel centre; crop centre at size/2-0.5.
        matrix = np.array(
            [
                [scale, 0.0, (size - 1) / 2.0 - scale * box.center_x],
                [0.0, scale, (size - 1) / 2.0 - scale * box.center_y],
            ]
        )
        cv2.warpAffine(
            rgb,
            matrix,
            (size, size),
            colours[index],
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        if depths is not None:
            depths[index] = cv2.warpAffine(
                depth_m,
                matrix,
                (size, size),
                flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_CONSTANT,
            )
    out[:, :3] = colours.transpose(0, 3, 1, 2)
    out[:, :3] *= np.float32(1.0 / 255.0)
    if depths is None:
        return out
    if depth_scale != 1.0:
        depths *= np.float32(depth_scale)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depths) & (depths > 0.0)
    quarter = size // 4
    centre = depths[:, quarter : size - quarter, quarter : size - quarter]
    centre_valid = valid[:, quarter : size - quarter, quarter : size - quarter]
    references = row_medians(centre.reshape(len(boxes), -1), centre_valid.reshape(len(boxes), -1))
    has_reference = ~np.isnan(references)
    if not has_reference.any():
        return out
    # All crops with a reference at once (float32, as one crop at a time would compute it).
    reference = references[has_reference][:, None, None]
    with np.errstate(invalid="ignore"):
        relative = (depths[has_reference] - reference) / reference * 10.0
    shown = valid[has_reference]
    out[has_reference, 3] = np.clip(np.where(shown, relative, 0.0), -3.0, 3.0)
    out[has_reference, 4] = shown
    return out


def row_medians(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row of ``values`` (N, M) float32, the median of its entries where ``mask``: the same
    value as ``np.median(values[i][mask[i]])`` (the middle one, or the float32 mean of the two
    middle ones); NaN for a row without any."""
    counts = np.count_nonzero(mask, axis=1)
    ordered = np.sort(np.where(mask, values, np.float32(np.inf)), axis=1)
    rows = np.arange(values.shape[0])
    upper = ordered[rows, np.minimum(counts // 2, values.shape[1] - 1)]
    lower = ordered[rows, np.maximum((counts - 1) // 2, 0)]
    with np.errstate(over="ignore"):
        medians = np.where(counts % 2 == 1, upper, (lower + upper) / np.float32(2.0))
    medians[counts == 0] = np.nan
    return medians


def depth_in_metres(depth: np.ndarray | None, depth_scale: float) -> np.ndarray | None:
    """Float32 metres (0 where unknown) of a depth image in any unit; None stays None."""
    if depth is None:
        return None
    metres = depth.astype(np.float32) * np.float32(depth_scale)
    metres[~np.isfinite(metres) | (metres < 0.0)] = 0.0
    return metres
