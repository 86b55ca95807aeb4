"""The classifier's crops: raw depth in any unit gives the crops of the depth in metres."""

import numpy as np

from vision_node.core.detections import Box2D
from vision_node.detectors.crops import CHANNELS, crop_batch, depth_in_metres


def scene(seed: int = 3):
    """A textured colour image and a depth image with holes, negatives and infinities."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    depth = rng.uniform(0.4, 1.5, (120, 160)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.05] = np.nan
    depth[rng.random(depth.shape) < 0.02] = -1.0
    depth[rng.random(depth.shape) < 0.01] = np.inf
    depth[40:60, 50:80] = 0.0
    boxes = [
        Box2D(30.0, 40.0, 24.0, 18.0),
        Box2D(2.0, 3.0, 30.0, 30.0),  # partly outside the image
        Box2D(150.0, 110.0, 5.0, 4.0),  # small: min_side_px
        Box2D(65.0, 50.0, 25.0, 15.0),  # on the hole (no depth in its centre)
    ]
    return rgb, depth, boxes


def test_raw_float_depth_gives_the_crops_of_metres():
    rgb, depth, boxes = scene()
    expected = crop_batch(rgb, depth_in_metres(depth, 1.0), boxes)
    assert expected.shape == (len(boxes), CHANNELS, 32, 32)
    np.testing.assert_array_equal(crop_batch(rgb, depth, boxes), expected)
    assert not np.any(expected[3, 4, 8:24, 8:24])  # the hole has no valid depth


def test_raw_millimetres_with_scale_give_the_crops_of_metres():
    rgb, depth, boxes = scene()
    millimetres = np.nan_to_num(depth * 1000.0, nan=0.0, posinf=0.0).clip(0).astype(np.uint16)
    expected = crop_batch(rgb, depth_in_metres(millimetres, 0.001), boxes)
    np.testing.assert_array_equal(crop_batch(rgb, millimetres, boxes, depth_scale=0.001), expected)
    # A type warpAffine does not sample (float16) is converted first: the same crops.
    half = depth.astype(np.float16)
    np.testing.assert_array_equal(
        crop_batch(rgb, half, boxes), crop_batch(rgb, depth_in_metres(half, 1.0), boxes)
    )


def test_no_depth_and_no_boxes():
    rgb, _, boxes = scene()
    crops = crop_batch(rgb, None, boxes)
    assert not np.any(crops[:, 3:])
    assert np.all((crops[:, :3] >= 0.0) & (crops[:, :3] <= 1.0))
    assert crop_batch(rgb, None, []).shape == (0, CHANNELS, 32, 32)
