"""Training data of the scene-object detector: rendered frames, augmentation, heatmap targets.

Frames come from :class:`vision_node.synthetic.scene_generator.SceneGenerator` and are stored at
the network's input resolution (320x240: colour area-averaged, depth nearest-sampled from
640x480) with their boxes in input pixels. Each training sample is a random crop, flipped,
colour-jittered, noised, sometimes blurred and sometimes given grey bands (as a letterboxed
input has); its depth gets distance-dependent noise and holes, and is sometimes left out
altogether (so the model also runs on colour alone), with CenterNet targets at
stride 4: a Gaussian per object centre in its class's heatmap, the box size and the sub-cell
offset at the centre cell, and zero loss weight over objects that are not required (mostly
hidden or cut by the border: neither finding nor missing them is wrong).
"""

from __future__ import annotations

import pathlib
import time

import cv2
import numpy as np

from vision_node.synthetic.scene_generator import SceneGenerator

INPUT_SIZE = (320, 240)
STRIDE = 4
PAD_VALUE = 114


def render_frames(generator: SceneGenerator, indices, log_every: int = 200):
    """Render frames at input resolution.

    Returns:
        images (N, 240, 320, 3) uint8, depths (N, 240, 320) float16 [m] (0: no return, as the
        node feeds the model) and labels: per frame an array (k, 6) of class id, left, top,
        right, bottom [input px], required (1/0).
    """
    scale = INPUT_SIZE[0] / generator.intrinsics.width
    images, depths, labels = [], [], []
    start = time.perf_counter()
    for count, index in enumerate(indices):
        frame = generator.render(int(index))
        images.append(cv2.resize(frame.rgb, INPUT_SIZE, interpolation=cv2.INTER_AREA))
        depth = cv2.resize(frame.depth, INPUT_SIZE, interpolation=cv2.INTER_NEAREST)
        depths.append(np.nan_to_num(depth, nan=0.0).astype(np.float16))
        rows = []
        for truth in frame.objects:
            cx, cy, w, h = truth.visible_box
            if w <= 0:
                continue
            # Pixel edges: x_input = (x_source + 0.5) * scale - 0.5.
            corners = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            corners = (corners + 0.5) * scale - 0.5
            rows.append([truth.class_id, *corners, float(truth.required)])
        labels.append(np.array(rows, dtype=np.float32).reshape(-1, 6))
        if log_every and (count + 1) % log_every == 0:
            rate = (count + 1) / (time.perf_counter() - start)
            print(f"  rendered {count + 1} frames ({rate:.1f} frames/s)", flush=True)
    return np.stack(images), np.stack(depths), labels


def load_or_render(generator_factory, seed: int, count: int, cache: pathlib.Path | None):
    """Frames ``0..count-1`` of generator ``seed``, from ``cache`` (.npz) when it has them."""
    if cache is not None and cache.is_file():
        data = np.load(cache, allow_pickle=False)
        if int(data["seed"]) == seed and data["images"].shape[0] == count and "depths" in data:
            labels = np.split(data["labels"], data["splits"])
            print(f"  {count} frames of seed {seed} from {cache}")
            return data["images"], data["depths"], labels
    with generator_factory(seed) as generator:
        images, depths, labels = render_frames(generator, range(count))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        splits = np.cumsum([len(label) for label in labels])[:-1]
        np.savez(
            cache,
            seed=seed,
            images=images,
            depths=depths,
            labels=np.concatenate(labels),
            splits=splits,
        )
    return images, depths, labels


def _gaussian(heat: np.ndarray, cx: float, cy: float, sigma: float) -> None:
    rows, cols = heat.shape
    radius = int(np.ceil(3 * sigma))
    col0, col1 = max(0, int(cx) - radius), min(cols, int(cx) + radius + 1)
    row0, row1 = max(0, int(cy) - radius), min(rows, int(cy) + radius + 1)
    if col1 <= col0 or row1 <= row0:
        return
    x = np.arange(col0, col1) + 0.5 - cx
    y = np.arange(row0, row1) + 0.5 - cy
    blob = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    np.maximum(heat[row0:row1, col0:col1], blob, out=heat[row0:row1, col0:col1])


def make_targets(boxes: np.ndarray, num_classes: int, height: int, width: int):
    """CenterNet targets at stride 4 for an input of ``height`` x ``width`` px.

    Args:
        boxes: (k, 6) class, left, top, right, bottom [input px], required.

    Returns:
        heat (C, h, w), weight (h, w), size (2, h, w) [input px], offset (2, h, w) [cells],
        centre mask (h, w).
    """
    rows, cols = height // STRIDE, width // STRIDE
    heat = np.zeros((num_classes, rows, cols), np.float32)
    weight = np.ones((rows, cols), np.float32)
    size = np.zeros((2, rows, cols), np.float32)
    offset = np.zeros((2, rows, cols), np.float32)
    centre = np.zeros((rows, cols), np.float32)
    for class_id, x0, y0, x1, y1, required in boxes:
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        inside = 0 <= cx < cols and 0 <= cy < rows
        if not required or not inside or w < 2 or h < 2:
            c0, c1 = max(0, int(x0 / STRIDE)), min(cols, int(np.ceil(x1 / STRIDE)))
            r0, r1 = max(0, int(y0 / STRIDE)), min(rows, int(np.ceil(y1 / STRIDE)))
            weight[r0:r1, c0:c1] = 0.0
            continue
        sigma = max(0.5, min(w, h) / STRIDE / 7.0)
        _gaussian(heat[int(class_id)], cx, cy, sigma)
        col, row = int(cx), int(cy)
        heat[int(class_id), row, col] = 1.0
        size[:, row, col] = (w, h)
        offset[:, row, col] = (cx - col, cy - row)
        centre[row, col] = 1.0
    return heat, weight, size, offset, centre


class Augmenter:
    """Random crops and photometric and depth changes of stored frames.

    Args:
        images: (N, H, W, 3) uint8 frames.
        depths: (N, H, W) depth [m], 0 where there is no return.
        labels: Per frame (k, 6) boxes (see :func:`render_frames`).
        crop: (width, height) of the samples [px], multiples of 16.
        depth_dropout: Probability of a sample without depth (the model then still works,
            less well, on sources without depth).
        seed: Random seed.
    """

    def __init__(self, images, depths, labels, crop=(224, 176), depth_dropout=0.1, seed=0):
        self.images, self.depths, self.labels = images, depths, labels
        self.crop = crop
        self.depth_dropout = depth_dropout
        self.rng = np.random.default_rng(seed)

    def sample(self, index: int):
        rng = self.rng
        image = self.images[index]
        boxes = self.labels[index].copy()
        height, width = image.shape[:2]
        crop_w, crop_h = self.crop
        x = int(rng.integers(0, width - crop_w + 1))
        y = int(rng.integers(0, height - crop_h + 1))
        image = image[y : y + crop_h, x : x + crop_w].astype(np.float32)
        depth = self.depths[index][y : y + crop_h, x : x + crop_w].astype(np.float32)
        boxes[:, [1, 3]] -= x
        boxes[:, [2, 4]] -= y
        if rng.random() < 0.5:
            image, depth = image[:, ::-1], depth[:, ::-1]
            boxes[:, [1, 3]] = crop_w - 1 - boxes[:, [3, 1]]
        gain = (rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, size=3)).astype(np.float32)
        mean = image.mean()
        image = (image - mean) * np.float32(rng.uniform(0.75, 1.25)) + mean
        image = image * gain + np.float32(rng.uniform(-15, 15))
        if rng.random() < 0.25:
            image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.5, 1.2))
        noise = rng.standard_normal(size=image.shape, dtype=np.float32)
        image = image + noise * np.float32(rng.uniform(0.0, 6.0))
        depth = np.ascontiguousarray(depth)
        if rng.random() < self.depth_dropout:
            depth[:] = 0.0
        else:
            # Stereo-like depth noise growing with distance squared, and holes without return.
            sigma = np.float32(rng.uniform(0.0, 0.004))
            depth += rng.standard_normal(size=depth.shape, dtype=np.float32) * sigma * depth**2
            for _ in range(int(rng.integers(0, 4))):
                hx, hy = int(rng.integers(0, crop_w)), int(rng.integers(0, crop_h))
                depth[hy : hy + int(rng.integers(2, 12)), hx : hx + int(rng.integers(2, 12))] = 0
        if rng.random() < 0.15:  # grey bands, as in a letterboxed input
            band = int(rng.integers(4, crop_h // 4))
            image[:band] = PAD_VALUE
            image[crop_h - band :] = PAD_VALUE
            depth[:band] = 0.0
            depth[crop_h - band :] = 0.0
            centre_y = (boxes[:, 2] + boxes[:, 4]) / 2
            boxes[(centre_y < band) | (centre_y >= crop_h - band), 5] = 0.0
        image = np.clip(image, 0, 255) * np.float32(1 / 255.0)
        return np.ascontiguousarray(image.transpose(2, 0, 1)), depth[None], boxes

    def batch(self, size: int, num_classes: int):
        """A batch: images (B, 3, h, w), depths (B, 1, h, w) and stacked targets."""
        indices = self.rng.integers(0, len(self.images), size=size)
        images, depths, targets = [], [], []
        for index in indices:
            image, depth, boxes = self.sample(int(index))
            images.append(image)
            depths.append(depth)
            targets.append(make_targets(boxes, num_classes, self.crop[1], self.crop[0]))
        stacked = [np.stack([t[i] for t in targets]) for i in range(5)]
        return np.stack(images), np.stack(depths), stacked
