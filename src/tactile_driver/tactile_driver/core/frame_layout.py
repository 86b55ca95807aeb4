"""Does a raw frame match a skin? Pad count, pad order, sizes and array shapes.

The pipeline checks every frame before it touches any state; a frame that does not match is
rejected with a message naming the first offending pad (the node counts and drops it).
"""

from __future__ import annotations

import numpy as np

from tactile_driver.core.frames import RawFrame
from tactile_driver.core.pad_geometry import SkinGeometry
from tactile_driver.errors import TactileDriverError


class FrameLayout:
    """The frame layout a skin expects.

    Args:
        geometry: The skin; frames must carry its pads in order, ``RawPad.index`` = position,
            counts of shape (rows * cols,) and shear, if any, of shape (2, rows * cols).
    """

    def __init__(self, geometry: SkinGeometry) -> None:
        self.geometry = geometry
        self._expected = [
            (i, p.rows, p.cols, (p.num_taxels,), (2, p.num_taxels))
            for i, p in enumerate(geometry.pads)
        ]

    def check(self, frame: RawFrame) -> None:
        """Check a frame (a fast pass; the detailed one only runs on a mismatch).

        Raises:
            TactileDriverError: Naming the first pad whose index, size or array shapes differ.
        """
        raws = frame.pads
        if len(raws) == len(self._expected):
            for raw, (index, rows, cols, counts_shape, shear_shape) in zip(
                raws, self._expected, strict=True
            ):
                counts, shear = raw.counts, raw.shear
                if (
                    raw.index != index
                    or raw.rows != rows
                    or raw.cols != cols
                    or _shape(counts) != counts_shape
                    or (shear is not None and _shape(shear) != shear_shape)
                ):
                    break
            else:
                return
        self._explain(frame)

    def _explain(self, frame: RawFrame) -> None:
        pads = self.geometry.pads
        if len(frame.pads) != len(pads):
            raise TactileDriverError(
                f"frame of board {frame.board_id} has {len(frame.pads)} pads: expected "
                f"{len(pads)} for skin {self.geometry.name!r}"
            )
        for i, (raw, g) in enumerate(zip(frame.pads, pads, strict=True)):
            n = g.num_taxels
            if raw.index != i or raw.rows != g.rows or raw.cols != g.cols:
                raise TactileDriverError(
                    f"frame pad #{i} is index {raw.index}, {raw.rows}x{raw.cols}: expected "
                    f"index {i}, {g.rows}x{g.cols} ({g.name!r})"
                )
            if np.shape(raw.counts) != (n,):
                raise TactileDriverError(
                    f"frame pad {g.name!r} counts have shape {np.shape(raw.counts)}: "
                    f"expected ({n},)"
                )
            if raw.shear is not None and np.shape(raw.shear) != (2, n):
                raise TactileDriverError(
                    f"frame pad {g.name!r} shear has shape {np.shape(raw.shear)}: expected (2, {n})"
                )
        raise AssertionError("unreachable: the frame matched on the second look")


def _shape(values) -> tuple[int, ...]:
    """``np.shape``, without its call overhead for arrays."""
    return values.shape if type(values) is np.ndarray else np.shape(values)
