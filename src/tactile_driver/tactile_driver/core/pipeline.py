"""Processing of one skin: raw frame -> pressures, taxel status, contacts and slip per pad.

Per frame:

1. pressure = gain * (raw - offset) [kPa]; values below ``noise_floor_kpa`` (noise, including
   negative values) are set to 0; shear = shear_gain * raw_shear [kPa] (signed counts);
2. a pad counts as loaded if it was in contact or a taxel exceeds ``load_kpa``;
   :class:`~tactile_driver.core.baseline.BaselineTracker` updates taxel health and follows the
   offset drift of unloaded pads only;
3. flagged taxels (dead / stuck) are masked: pressure and shear 0;
4. each pad's :class:`~tactile_driver.core.contacts.ContactEstimator` and
   :class:`~tactile_driver.core.slip.SlipDetector` step on the masked pressures.

Cost: the pads' taxels are handled as one concatenated vector, and every per-pad sum (force, CoP,
area, load, slip noise model, shear) comes out of a single matrix product with a block matrix of
per-pad moments; no Python loop runs over taxels, only a short one over pads.

Taring: the first ``tare_frames`` frames after start-up, and the ``tare_frames`` frames after each
:meth:`SkinProcessor.tare` request, are averaged into new offsets; the skin must be unloaded
meanwhile. Frames processed before the start-up tare completes have ``SkinOutput.ready`` False and
no contacts (their pressures use the calibration file's offsets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tactile_driver.core.baseline import STATUS_OK, BaselineTracker
from tactile_driver.core.calibration import TaxelCalibration
from tactile_driver.core.calibration_file import SkinCalibration
from tactile_driver.core.contacts import ContactEstimator, PadContact
from tactile_driver.core.frame_layout import FrameLayout
from tactile_driver.core.frames import RawFrame
from tactile_driver.core.pad_geometry import SkinGeometry
from tactile_driver.core.processor_params import ProcessorParams
from tactile_driver.core.slip import SlipDetector, SlipEstimate
from tactile_driver.errors import TactileDriverError


@dataclass
class PadOutput:
    """One pad's result for one frame.

    Attributes:
        name: Pad name.
        pressure_kpa: Normal pressure per taxel [kPa], float32, shape (rows * cols,), >= 0.
        shear_kpa: Shear per taxel [kPa], float32, shape (2, rows * cols) (pad x, pad y), or None.
        status: Taxel status (``TactilePad.STATUS_*``), uint8, shape (rows * cols,).
        contact: The pad's contact.
        slip_score: Slip score in [0, 1].
        slip: True if a slip event was detected in this frame.
    """

    name: str
    pressure_kpa: np.ndarray
    shear_kpa: np.ndarray | None
    status: np.ndarray
    contact: PadContact
    slip_score: float
    slip: bool


@dataclass
class SkinOutput:
    """One skin's result for one frame.

    Attributes:
        t: Frame time [s] as passed to :meth:`SkinProcessor.process`.
        pads: Per-pad results, in board order.
        ready: False for frames processed before the start-up tare completed (their contacts are
            not estimated: zero force, no contact, no slip).
        taring: True if this frame was collected for a tare (the skin must be unloaded).
    """

    t: float
    pads: list[PadOutput]
    ready: bool
    taring: bool


class SkinProcessor:
    """Turns raw frames of one skin into calibrated pressures, contacts and slip.

    The pads' taxels are processed as one concatenated vector (numpy-vectorised; per-pad sums
    are block matrix products), then each pad's :class:`ContactEstimator` and
    :class:`SlipDetector` step on its sums.

    Args:
        geometry: The skin's geometry.
        calibration: A :class:`SkinCalibration`, or a mapping pad name -> ``TaxelCalibration``
            (shear then uses the normal gain).
        params: Processing parameters.

    Raises:
        TactileDriverError: If a pad has no calibration or its size differs from the geometry.
    """

    def __init__(
        self,
        geometry: SkinGeometry,
        calibration: SkinCalibration | Mapping[str, TaxelCalibration],
        params: ProcessorParams | None = None,
    ) -> None:
        self.geometry = geometry
        self.params = params = params or ProcessorParams()
        if isinstance(calibration, SkinCalibration):
            cals, shear_gains = calibration.pads, calibration.shear_gain_kpa_per_count
        else:
            cals, shear_gains = calibration, {}
        missing = [name for name in geometry.pad_names if name not in cals]
        if missing:
            raise TactileDriverError(f"no calibration for pads {missing} of skin {geometry.name!r}")
        for pad in geometry.pads:
            cal = cals[pad.name]
            if (cal.rows, cal.cols) != (pad.rows, pad.cols):
                raise TactileDriverError(
                    f"calibration of pad {pad.name!r} is {cal.rows}x{cal.cols}: expected "
                    f"{pad.rows}x{pad.cols} as in the skin geometry"
                )
        pads = geometry.pads
        sizes = [p.num_taxels for p in pads]
        ends = np.cumsum(sizes).tolist()
        self._slices = [slice(e - s, e) for s, e in zip(sizes, ends, strict=True)]
        self._sizes = np.array(sizes)
        self._starts = np.array([s.start for s in self._slices])
        self._taxel_pad = np.repeat(np.arange(len(sizes)), sizes)
        self._gain = np.concatenate([cals[p.name].gain_kpa_per_count for p in pads])
        self._shear_gain = np.concatenate(
            [shear_gains.get(p.name, cals[p.name].gain_kpa_per_count) for p in pads]
        )
        offsets = np.concatenate([cals[p.name].offset_counts for p in pads])
        shapes = [(p.rows, p.cols) for p in pads]
        self._baseline = BaselineTracker.for_pads(shapes, offsets, params.baseline)
        self._contacts = [ContactEstimator(p, params.contact) for p in pads]
        floor = params.noise_floor_kpa
        self._slips = [SlipDetector(p, params.slip, floor) for p in pads]
        # Block matrices: row block of pad j -> its column block, so x @ M = per-pad sums.
        n, count = sum(sizes), len(pads)
        self._moments = np.zeros((n, 4 * count))  # (1, x, y, x^2 + y^2) per pad
        for j, (sl, slip) in enumerate(zip(self._slices, self._slips, strict=True)):
            self._moments[sl, 4 * j : 4 * j + 4] = slip.moments
        # Rows of the per-pad sums (see _sums), written in place every frame: 5 without shear,
        # 7 with.
        self._rows = {False: np.zeros((5, n)), True: np.zeros((7, n))}
        # Per pad: name, taxel slice, moments column, contact estimator, slip detector.
        self._pad_steps = [
            (p.name, sl, 4 * j, self._contacts[j], self._slips[j])
            for j, (p, sl) in enumerate(zip(pads, self._slices, strict=True))
        ]
        self._layout = FrameLayout(geometry)
        self._t_prev: float | None = None
        self._ready = False
        self._tare_left = params.tare_frames
        self._tare_sum = np.zeros(n)

    @property
    def ready(self) -> bool:
        """True once the start-up tare completed."""
        return self._ready

    @property
    def taring(self) -> bool:
        """True while a tare is collecting frames."""
        return self._tare_left > 0

    def offsets_counts(self) -> dict[str, np.ndarray]:
        """Current offsets per pad [counts] (read-only views, updated in place)."""
        offsets = self._baseline.offsets_counts
        return {p.name: offsets[sl] for p, sl in zip(self.geometry.pads, self._slices, strict=True)}

    def tare(self) -> None:
        """Request a tare: the next ``tare_frames`` frames (skin unloaded) become the offsets."""
        self._tare_left = self.params.tare_frames
        self._tare_sum[:] = 0.0

    def check_frame(self, frame: RawFrame) -> None:
        """Check that a frame matches the skin geometry (see :class:`FrameLayout`).

        Raises:
            TactileDriverError: Naming the first pad whose index, size or array shapes differ.
        """
        self._layout.check(frame)

    def process(self, frame: RawFrame, t: float) -> SkinOutput:
        """Process one frame.

        Args:
            frame: Raw frame of this skin's board.
            t: Frame time [s], monotonic (e.g. the frame stamp in seconds).

        Returns:
            Per-pad pressures, status, contacts and slip.

        Raises:
            TactileDriverError: If the frame does not match the geometry (nothing is updated).
        """
        self.check_frame(frame)
        dt = 0.0 if self._t_prev is None else max(t - self._t_prev, 0.0)
        self._t_prev = t
        params = self.params
        raws = frame.pads
        counts = np.concatenate([raw.counts for raw in raws])
        pressure = (counts - self._baseline.offsets_counts) * self._gain
        pressure[pressure < params.noise_floor_kpa] = 0.0
        shear, has_shear = self._shear(raws)
        sums = self._sums(pressure, shear)
        load_sums = sums[4]
        loaded_pads = [
            load_sums[k] > 0.0 or contacts.in_contact for _, _, k, contacts, _ in self._pad_steps
        ]
        if all(loaded_pads) or not any(loaded_pads):
            loaded: bool | np.ndarray = loaded_pads[0]
        else:
            loaded = np.array(loaded_pads)[self._taxel_pad]  # each taxel its pad's flag
        status = self._baseline.update(counts, loaded, dt)
        if not self._baseline.all_ok:
            bad = status != STATUS_OK
            pressure[bad] = 0.0
            if shear is not None:
                shear[:, bad] = 0.0
            sums = self._sums(pressure, shear)
        taring = self._tare_left > 0
        ready = self._ready
        if taring:
            self._tare_sum += counts
        pressure32 = pressure.astype(np.float32)
        shear32 = None if shear is None else shear.astype(np.float32)
        outputs = []
        force, weighted, support, area = sums[0], sums[1], sums[2], sums[3]
        shear_x, shear_y = (sums[5], sums[6]) if shear is not None else (None, None)
        for (name, sl, k, estimator, slip_detector), pad_shear in zip(
            self._pad_steps, has_shear, strict=True
        ):
            if ready:
                contact = estimator.update_from_sums(
                    force[k],
                    force[k + 1],
                    force[k + 2],
                    area[k],
                    (shear_x[k], shear_y[k]) if pad_shear else None,
                )
                slip = slip_detector.step_from_sums(
                    t, contact, weighted[k : k + 4], support[k : k + 4]
                )
            else:
                contact = estimator.update_from_sums(0.0, 0.0, 0.0, 0)
                slip = _NO_SLIP
            outputs.append(
                PadOutput(
                    name,
                    pressure32[sl],
                    shear32[:, sl] if pad_shear else None,
                    status[sl],
                    contact,
                    slip.score,
                    slip.event,
                )
            )
        if taring:
            self._tare_left -= 1
            if self._tare_left == 0:
                self._finish_tare()
        return SkinOutput(t=t, pads=outputs, ready=ready, taring=taring)

    def _sums(self, pressure: np.ndarray, shear: np.ndarray | None) -> list[list[float]]:
        """Per-pad sums of one matrix product: rows x (1, x, y, r^2) blocks of each pad.

        Rows: pressure (force, CoP), slip weights ``max(p - floor, 0)``, their support (0/1),
        taxels above ``contact.min_loaded_kpa`` (area), taxels above ``load_kpa`` (baseline),
        then shear x and y if given.
        """
        params = self.params
        rows = self._rows[shear is not None]
        rows[0] = pressure
        weights = rows[1]
        np.subtract(pressure, params.noise_floor_kpa, out=weights)
        np.maximum(weights, 0.0, out=weights)
        np.sign(weights, out=rows[2])
        np.greater(pressure, params.contact.min_loaded_kpa, out=rows[3])
        np.greater(pressure, params.load_kpa, out=rows[4])
        if shear is not None:
            rows[5:] = shear
        return (rows @ self._moments).tolist()

    def _shear(self, raws) -> tuple[np.ndarray | None, list[bool]]:
        """Shear of all pads [kPa], (2, num_taxels) (zeros for pads without), and who has it."""
        has = [raw.shear is not None for raw in raws]
        if not any(has):
            return None, has
        parts = [
            raw.shear if raw.shear is not None else np.zeros((2, n), dtype=np.int16)
            for raw, n in zip(raws, self._sizes.tolist(), strict=True)
        ]
        return np.concatenate(parts, axis=1) * self._shear_gain, has

    def _finish_tare(self) -> None:
        self._baseline.tare(self._tare_sum / self.params.tare_frames)
        for slip in self._slips:
            slip.reset()
        self._ready = True


_NO_SLIP = SlipEstimate(0.0, False)
