"""The scene-object detector network (PyTorch; training time only).

A small centre-heatmap network in the spirit of CenterNet (Zhou, Wang, Kraehenbuehl 2019,
"Objects as Points") on colour and depth: depth enters as two scale-free channels, each
pixel's depth relative to the mean depth around it (windows of 28 and 60 input pixels), which
show what stands out of the table whatever its colour, lighting or distance; zero depth (no
return, or no depth camera) gives zeros. Then a space-to-depth stem (4x4 pixel blocks to
channels), a convolutional
encoder down to stride 16, a two-step upsampling decoder with skip connections back to stride
4 (feature-pyramid style, depthwise-separable fusion as in MobileNet, Howard et al. 2017), and
three heads at stride 4: per-class centre heatmap, box size and sub-cell offset.

The exported graph (:class:`ExportHeatmap`) takes RGB in [0, 1] and depth [m] (0: none),
normalises inside, and returns
``peaks`` (sigmoid heatmap kept only at 3x3 local maxima, CenterNet's max-pool NMS), ``size``
(box width, height [input px]) and ``offset`` ([0, 1] cells). :class:`ExportYolo` wraps the same
weights in the YOLOv8 output layout ``[1, 4 + classes, cells]`` for a letterboxed square colour
input (no depth: the generic YOLO detector feeds colour only).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

STRIDE = 4


def relative_depth(depth: torch.Tensor) -> torch.Tensor:
    """Two channels: depth relative to its local mean over 7x7 and 15x15 blocks of 4x4 px.

    Args:
        depth: (B, 1, H, W) depth [m], 0 where unknown; H and W multiples of 4.

    Returns:
        (B, 2, H, W), (depth - local mean) / local mean x 20, clipped to [-3, 3], 0 where the
        depth is unknown.
    """
    valid = (depth > 0).to(depth.dtype)
    block_sum = functional.avg_pool2d(depth * valid, STRIDE)
    block_count = functional.avg_pool2d(valid, STRIDE)
    channels = []
    for window in (7, 15):
        pad = window // 2
        local_sum = functional.avg_pool2d(block_sum, window, 1, pad, count_include_pad=False)
        local_count = functional.avg_pool2d(block_count, window, 1, pad, count_include_pad=False)
        local = local_sum / local_count.clamp(min=1e-3)
        local = functional.interpolate(local, scale_factor=float(STRIDE), mode="nearest")
        relative = (depth - local) / local.clamp(min=0.1) * valid
        channels.append((20.0 * relative).clamp(-3.0, 3.0))
    return torch.cat(channels, dim=1)


def _conv(channels_in: int, channels_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


def _separable(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1, groups=channels, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


class HeatmapNet(nn.Module):
    """Encoder-decoder with heatmap, size and offset heads at stride 4.

    The input is first folded into 4x4 pixel blocks (space-to-depth, 80 channels at stride 4),
    so no layer runs at full resolution: this is what makes training a few minutes of CPU.

    Args:
        num_classes: Number of object classes.
        width: Channels at stride 4 (x2 at stride 8, x3 at stride 16).
    """

    def __init__(self, num_classes: int = 3, width: int = 24):
        super().__init__()
        c4, c8, c16 = width, 2 * width, 3 * width
        self.stem = nn.Sequential(
            nn.Conv2d(5 * STRIDE * STRIDE, c4, 1, bias=False),
            nn.BatchNorm2d(c4),
            nn.ReLU(inplace=True),
            _conv(c4, c4),
        )
        self.down8 = nn.Sequential(_conv(c4, c8, 2), _conv(c8, c8))
        self.down16 = nn.Sequential(_conv(c8, c16, 2), _conv(c16, c16), _conv(c16, c16))
        self.lateral16 = nn.Conv2d(c16, c8, 1)
        self.fuse8 = _separable(c8)
        self.lateral8 = nn.Conv2d(c8, c4, 1)
        self.fuse4 = _separable(c4)
        self.head = _separable(c4)
        self.heatmap = nn.Conv2d(c4, num_classes, 1)
        self.size = nn.Conv2d(c4, 2, 1)
        self.offset = nn.Conv2d(c4, 2, 1)
        nn.init.constant_(self.heatmap.bias, -2.19)  # prior 0.1 (CenterNet)

    def forward(
        self, images: torch.Tensor, depth: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw outputs: heatmap logits, log box size [log input px], offset logits.

        Args:
            images: (B, 3, H, W) RGB in [0, 1].
            depth: (B, 1, H, W) depth [m], 0 where unknown.
        """
        inputs = torch.cat([(images - 0.45) / 0.25, relative_depth(depth)], dim=1)
        x = functional.pixel_unshuffle(inputs, STRIDE)
        x4 = self.stem(x)
        x8 = self.down8(x4)
        x16 = self.down16(x8)
        y8 = self.fuse8(functional.interpolate(self.lateral16(x16), scale_factor=2.0) + x8)
        y4 = self.fuse4(functional.interpolate(self.lateral8(y8), scale_factor=2.0) + x4)
        features = self.head(y4)
        return self.heatmap(features), self.size(features), self.offset(features)


class ExportHeatmap(nn.Module):
    """The inference graph of the ``scene_objects`` detector (see the module docstring)."""

    def __init__(self, net: HeatmapNet):
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor, depth: torch.Tensor):
        logits, log_size, offset_logits = self.net(images, depth)
        heat = torch.sigmoid(logits)
        peaks = heat * (functional.max_pool2d(heat, 3, 1, 1) == heat).to(heat.dtype)
        return peaks, torch.exp(log_size), torch.sigmoid(offset_logits)


class ExportYolo(nn.Module):
    """The same network in the YOLOv8 / YOLO11 output layout ``[1, 4 + classes, h * w]``."""

    def __init__(self, net: HeatmapNet):
        super().__init__()
        self.inner = ExportHeatmap(net)

    def forward(self, images: torch.Tensor):
        # Zero depth computed from the input, so the exporter does not fold it into constants.
        peaks, size, offset = self.inner(images, images[:, :1] * 0.0)
        _, classes, rows, cols = peaks.shape
        row = torch.arange(rows, dtype=peaks.dtype).view(1, 1, rows, 1).expand(1, 1, rows, cols)
        col = torch.arange(cols, dtype=peaks.dtype).view(1, 1, 1, cols).expand(1, 1, rows, cols)
        cx = (col + offset[:, 0:1]) * STRIDE
        cy = (row + offset[:, 1:2]) * STRIDE
        boxes = torch.cat([cx, cy, size], dim=1)
        return torch.cat([boxes, peaks], dim=1).reshape(1, 4 + classes, rows * cols)


class CropClassifier(nn.Module):
    """Second stage: a crop (colour, relative depth, validity) -> classes + background.

    Args:
        num_outputs: Classes + 1 (background, the last).
        width: Channels of the first stage (x2, x3, x4 after each halving).
    """

    def __init__(self, num_outputs: int = 4, width: int = 16):
        super().__init__()
        c1, c2, c3, c4 = width, 2 * width, 3 * width, 4 * width
        self.features = nn.Sequential(
            _conv(5, c1),
            _conv(c1, c2, 2),
            _conv(c2, c2),
            _conv(c2, c3, 2),
            _conv(c3, c3),
            _conv(c3, c4, 2),
            _conv(c4, c4),
        )
        self.classify = nn.Linear(c4, num_outputs)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_outputs) of crops (N, 5, S, S); colour is normalised inside."""
        colour = (crops[:, :3] - 0.45) / 0.25
        x = self.features(torch.cat([colour, crops[:, 3:]], dim=1))
        return self.classify(x.mean(dim=(2, 3)))


class ExportClassifier(nn.Module):
    """The classifier's inference graph: probabilities (softmax) of crops."""

    def __init__(self, net: CropClassifier):
        super().__init__()
        self.net = net

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(crops), dim=1)
