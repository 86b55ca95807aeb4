"""Letterbox geometry: fit an image into a model input without distortion, and map back.

The image is scaled by one factor so that it fits the input, centred, and the rest is padded
(YOLO exports pad with grey 114). Boxes found in the model input map back to the source image
with :meth:`Letterbox.to_source`. The pixel resampling itself is done by the detector (OpenCV).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision_node.errors import VisionNodeError


@dataclass(frozen=True)
class Letterbox:
    """Where the scaled source image lies in the model input.

    Attributes:
        scale: Input pixels per source pixel.
        pad_x: Columns of padding left of the image [input px].
        pad_y: Rows of padding above the image [input px].
        width: Width of the scaled image inside the input [input px].
        height: Height of the scaled image inside the input [input px].
    """

    scale: float
    pad_x: int
    pad_y: int
    width: int
    height: int

    def to_source(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) (left, top, right, bottom) from input pixels to source pixels.

        Pixel coordinates are integers at pixel centres in both images, so a pixel edge at
        ``x`` in the input is at ``(x - pad + 0.5) / scale - 0.5`` in the source.
        """
        out = np.asarray(boxes, dtype=np.float64).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x + 0.5) / self.scale - 0.5
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y + 0.5) / self.scale - 0.5
        return out


def letterbox_geometry(
    source_width: int, source_height: int, input_width: int, input_height: int
) -> Letterbox:
    """Letterbox of a source image in a model input.

    Args:
        source_width: Source image width [px].
        source_height: Source image height [px].
        input_width: Model input width [px].
        input_height: Model input height [px].

    Raises:
        VisionNodeError: If a size is not positive.
    """
    sizes = (source_width, source_height, input_width, input_height)
    if any(int(s) <= 0 for s in sizes):
        raise VisionNodeError(f"letterbox sizes {sizes}: expected positive pixel counts")
    scale = min(input_width / source_width, input_height / source_height)
    width = min(input_width, int(round(source_width * scale)))
    height = min(input_height, int(round(source_height * scale)))
    return Letterbox(
        scale=scale,
        pad_x=(input_width - width) // 2,
        pad_y=(input_height - height) // 2,
        width=width,
        height=height,
    )
