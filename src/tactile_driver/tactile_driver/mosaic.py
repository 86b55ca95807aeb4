"""A viewable image of a skin: every pad's pressures as a block of pixels, side by side."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image

TAXEL_PX = 8
GAP_PX = 4
FULL_SCALE_KPA = 100.0


class MosaicRenderer:
    """Lays the pads of a skin out left to right; pressure -> grey level (mono8).

    Args:
        geometry: The skin's geometry (pads in board order).
        full_scale_kpa: Pressure shown as white.
    """

    def __init__(self, geometry, full_scale_kpa: float = FULL_SCALE_KPA):
        self.full_scale_kpa = full_scale_kpa
        self.height = max(p.rows for p in geometry.pads) * TAXEL_PX
        self.offsets = []
        x = 0
        for pad in geometry.pads:
            self.offsets.append(x)
            x += pad.cols * TAXEL_PX + GAP_PX
        self.width = x - GAP_PX
        self._shapes = [(p.rows, p.cols) for p in geometry.pads]

    def pixels(self, output) -> np.ndarray:
        """The mosaic as a (height, width) uint8 array."""
        image = np.zeros((self.height, self.width), dtype=np.uint8)
        for (rows, cols), x, pad in zip(self._shapes, self.offsets, output.pads, strict=True):
            level = np.clip(pad.pressure_kpa.reshape(rows, cols) / self.full_scale_kpa, 0, 1)
            block = np.kron((level * 255).astype(np.uint8), np.ones((TAXEL_PX, TAXEL_PX), np.uint8))
            image[: rows * TAXEL_PX, x : x + cols * TAXEL_PX] = block
        return image

    def image(self, output, stamp, frame_id: str) -> Image:
        """A sensor_msgs/Image (mono8) of the mosaic."""
        pixels = self.pixels(output)
        msg = Image()
        msg.header.stamp, msg.header.frame_id = stamp, frame_id
        msg.height, msg.width = pixels.shape
        msg.encoding, msg.is_bigendian, msg.step = "mono8", 0, pixels.shape[1]
        msg.data = pixels.tobytes()
        return msg
