"""Tests of the skin pipeline on synthetic Dex3 frames (counts = offset + 30 * kPa + noise)."""

import pathlib

import numpy as np
import pytest

from tactile_driver.core.baseline import STATUS_OK, STATUS_STUCK, BaselineParams
from tactile_driver.core.calibration import TaxelCalibration
from tactile_driver.core.calibration_file import default_skin_calibration
from tactile_driver.core.contacts import ContactParams
from tactile_driver.core.frames import RawFrame, RawPad
from tactile_driver.core.pad_geometry import load_skin_geometry
from tactile_driver.core.pipeline import ProcessorParams, SkinProcessor
from tactile_driver.errors import TactileDriverError

ROBOT_YAML = pathlib.Path(__file__).resolve().parents[3] / "config" / "robots" / "g1_dex3.yaml"
SKIN = load_skin_geometry(ROBOT_YAML, "right_hand")
COUNTS_PER_KPA = 30.0
TIP = "right_index_tip"


class Board:
    """A simulated board: per-taxel true offsets (not the nominal 1000), noise, optional shear."""

    def __init__(self, seed=0, noise=2.0):
        self.rng = np.random.default_rng(seed)
        self.offsets = {p.name: self.rng.uniform(900.0, 1100.0, p.num_taxels) for p in SKIN.pads}
        self.noise = noise
        self.sequence = 0

    def frame(self, pressure=None, shear=None, drop_shear=()):
        """pressure / shear: pad name -> kPa, (n,) / (2, n) (missing pads: unloaded, no shear)."""
        pressure, shear = pressure or {}, shear or {}
        pads = []
        for i, pad in enumerate(SKIN.pads):
            p = pressure.get(pad.name, np.zeros(pad.num_taxels))
            raw = self.offsets[pad.name] + COUNTS_PER_KPA * np.asarray(p)
            raw = raw + self.rng.normal(0.0, self.noise, pad.num_taxels)
            counts = np.clip(np.round(raw), 0, 65535).astype(np.uint16)
            s = None
            if pad.name in shear:
                s = np.round(COUNTS_PER_KPA * np.asarray(shear[pad.name])).astype(np.int16)
            pads.append(RawPad(i, pad.rows, pad.cols, counts, s))
        self.sequence += 1
        return RawFrame(board_id=2, sequence=self.sequence, device_time_us=0, pads=pads)


def _uniform(name, kpa):
    return np.full(SKIN.pad(name).num_taxels, float(kpa))


def _ready_processor(board, params=None, dt=0.001):
    processor = SkinProcessor(SKIN, default_skin_calibration(SKIN), params or ProcessorParams())
    t = 0.0
    for _ in range(processor.params.tare_frames):
        assert not processor.ready
        out = processor.process(board.frame(), t)
        t += dt
    assert processor.ready and not processor.taring and not out.ready
    return processor, t


def _pad(output, name):
    return next(p for p in output.pads if p.name == name)


def test_startup_tare_learns_the_true_offsets():
    board = Board(seed=1)
    processor = SkinProcessor(SKIN, default_skin_calibration(SKIN))
    # During the start-up tare: not ready, contacts not estimated (nominal offsets are wrong).
    out = processor.process(board.frame(), 0.0)
    assert not out.ready and out.taring
    assert not any(p.contact.in_contact for p in out.pads)
    for k in range(1, processor.params.tare_frames):
        out = processor.process(board.frame(), k * 0.001)
    assert not out.ready and out.taring  # the last tare frame is still processed before it
    assert processor.ready and not processor.taring
    out = processor.process(board.frame(), 1.0)
    assert out.ready and not out.taring
    for name, offsets in processor.offsets_counts().items():
        np.testing.assert_allclose(offsets, board.offsets[name], atol=1.5)


def test_pressures_status_and_contacts():
    board = Board(seed=2)
    processor, t = _ready_processor(board)
    out = processor.process(board.frame({TIP: _uniform(TIP, 50.0)}), t)
    assert [p.name for p in out.pads] == list(SKIN.pad_names)
    tip = _pad(out, TIP)
    assert tip.pressure_kpa.dtype == np.float32 and tip.pressure_kpa.shape == (18,)
    np.testing.assert_allclose(tip.pressure_kpa, 50.0, atol=0.3)
    assert tip.status.dtype == np.uint8 and np.all(tip.status == STATUS_OK)
    area = SKIN.pad(TIP).taxel_area
    assert tip.contact.force_n == pytest.approx(50.0e3 * 18 * area, rel=0.01)
    assert tip.contact.in_contact and tip.shear_kpa is None
    np.testing.assert_allclose(tip.contact.cop_link, SKIN.pad(TIP).origin_link, atol=2e-4)
    for pad in out.pads:
        if pad.name != TIP:
            # Noise below the floor reads exactly 0: no phantom force on unloaded pads.
            assert np.all(pad.pressure_kpa == 0.0)
            assert pad.contact.force_n == 0.0 and not pad.contact.in_contact


def test_long_press_is_kept_while_unloaded_pads_follow_drift():
    board = Board(seed=3)
    params = ProcessorParams(baseline=BaselineParams(drift_time_constant_s=2.0))
    processor, t = _ready_processor(board, params, dt=0.01)
    press = {TIP: _uniform(TIP, 20.0)}
    forces = []
    for _ in range(3000):  # 30 s at 100 Hz = 15 drift time constants
        board.offsets["right_palm"] += 0.2 * 0.01  # 0.2 counts/s drift on the idle palm
        out = processor.process(board.frame(press), t)
        t += 0.01
        forces.append(_pad(out, TIP).contact.force_n)
    assert np.ptp(forces[-500:]) < 0.01 * forces[0]
    assert forces[-1] == pytest.approx(forces[0], rel=0.01)
    assert _pad(out, TIP).contact.in_contact
    lag = board.offsets["right_palm"] - processor.offsets_counts()["right_palm"]
    np.testing.assert_allclose(lag, 0.2 * 2.0, atol=1.5)  # ramp lag = rate * tau
    assert np.all(_pad(out, "right_palm").pressure_kpa == 0.0)


def test_tare_request_fixes_an_offset_jump():
    board = Board(seed=4)
    processor, t = _ready_processor(board)
    board.offsets[TIP] += 3.0 * COUNTS_PER_KPA  # e.g. after a collision: reads 3 kPa unloaded
    for _ in range(20):
        out = processor.process(board.frame(), t)
        t += 0.001
    assert _pad(out, TIP).contact.in_contact  # a phantom contact, drift tracking is frozen
    processor.tare()
    for _ in range(processor.params.tare_frames):
        assert processor.taring
        out = processor.process(board.frame(), t)
        t += 0.001
        assert out.taring and out.ready  # contacts go on with the old offsets meanwhile
    assert not processor.taring
    out = processor.process(board.frame(), t)
    assert np.all(_pad(out, TIP).pressure_kpa == 0.0)
    assert not _pad(out, TIP).contact.in_contact


def test_stuck_taxel_is_masked():
    board = Board(seed=5)
    processor, t = _ready_processor(board)
    press = {TIP: _uniform(TIP, 10.0)}
    for _ in range(700):  # 0.7 s > stuck_time_s
        frame = board.frame(press)
        frame.pads[1].counts[4] = 65535
        out = processor.process(frame, t)
        t += 0.001
    tip = _pad(out, TIP)
    assert tip.status[4] == STATUS_STUCK and np.count_nonzero(tip.status) == 1
    assert tip.pressure_kpa[4] == 0.0
    expected = 10.0e3 * 17 * SKIN.pad(TIP).taxel_area
    assert tip.contact.force_n == pytest.approx(expected, rel=0.01)


def test_shear_is_calibrated_and_optional_per_pad():
    board = Board(seed=6)
    processor, t = _ready_processor(board)
    n = SKIN.pad(TIP).num_taxels
    shear = np.vstack([np.full(n, 4.0), np.full(n, -2.0)])
    out = processor.process(board.frame({TIP: _uniform(TIP, 20.0)}, {TIP: shear}), t)
    tip = _pad(out, TIP)
    np.testing.assert_allclose(tip.shear_kpa, shear, atol=0.02)
    assert tip.shear_kpa.dtype == np.float32
    # right_index_tip: pad x = link x, pad y = link -z.
    area = SKIN.pad(TIP).taxel_area
    expected = np.array([4.0, 0.0, 2.0]) * n * 1000.0 * area
    np.testing.assert_allclose(tip.contact.shear_n_link, expected, rtol=1e-3)
    assert _pad(out, "right_palm").shear_kpa is None


def test_slip_event_through_the_pipeline():
    board = Board(seed=7)
    processor, t = _ready_processor(board)
    xy = SKIN.pad(TIP).taxel_xy_pad
    events = []
    for k in range(400):
        x = -0.006 + 0.1 * max(0, k - 300) * 0.001  # stationary for 0.3 s, then 0.1 m/s
        p = 30.0 * np.exp(-(((xy - [x, 0.0]) ** 2).sum(axis=1)) / (2 * 0.003**2))
        out = processor.process(board.frame({TIP: p}), t)
        t += 0.001
        events += [(k, pad.name) for pad in out.pads if pad.slip]
    assert len(events) == 1 and events[0][1] == TIP
    assert 300 <= events[0][0] < 310


def test_light_wandering_palm_press_is_not_slip():
    # Press and release on the palm (10 mm taxels) over 1 s, the patch wandering at ~1 cm/s: at
    # light load, taxels at the edge of the patch cross the noise floor every few frames.
    board = Board(seed=9)
    processor, t = _ready_processor(board)
    palm = SKIN.pad("right_palm")
    events, contact_frames = 0, 0
    for k in range(1000):
        phase = k / 1000
        angle = 2 * np.pi * 0.25 * k * 0.001
        centre = 0.006 * np.array([np.cos(angle), np.sin(angle)])
        peak = 60.0 * 0.5 * (1.0 - np.cos(2 * np.pi * phase))
        d2 = ((palm.taxel_xy_pad - centre) ** 2).sum(axis=1)
        p = peak * np.exp(-d2 / (2 * 0.0085**2))
        out = processor.process(board.frame({"right_palm": p}), t)
        t += 0.001
        events += sum(pad.slip for pad in out.pads)
        contact_frames += _pad(out, "right_palm").contact.in_contact
    assert contact_frames > 700
    assert events == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.pads.pop(), "has 5 pads: expected 6"),
        (lambda f: setattr(f.pads[2], "rows", 4), "pad #2 is index 2, 4x6: expected index 2, 3x6"),
        (lambda f: setattr(f.pads[3], "index", 4), "pad #3 is index 4"),
        (lambda f: setattr(f.pads[5], "counts", np.zeros(29)), "'right_palm' counts have shape"),
        (lambda f: setattr(f.pads[0], "shear", np.zeros((18, 2))), "'right_thumb_tip' shear"),
    ],
)
def test_mismatched_frame_is_rejected_without_side_effects(mutate, message):
    board = Board(seed=8)
    processor = SkinProcessor(SKIN, default_skin_calibration(SKIN))
    processor.process(board.frame(), 0.0)
    frame = board.frame()
    mutate(frame)
    with pytest.raises(TactileDriverError, match=message):
        processor.process(frame, 0.001)
    # The rejected frame did not count towards the start-up tare.
    for k in range(processor.params.tare_frames - 1):
        assert not processor.ready
        processor.process(board.frame(), 0.002 + k * 0.001)
    assert processor.ready


def test_params_flat_names_round_trip():
    flat = ProcessorParams().to_flat()
    assert flat["tare_frames"] == 50 and flat["contact.threshold_on_n"] == 0.2
    assert {"slip.mu", "baseline.drift_time_constant_s", "noise_floor_kpa"} <= set(flat)
    assert all(type(v) in (int, float) for v in flat.values())  # declarable as ROS parameters
    assert ProcessorParams.from_flat(flat) == ProcessorParams()
    params = ProcessorParams.from_flat({"slip.mu": 0.8, "tare_frames": 10})
    assert params.slip.mu == 0.8 and params.tare_frames == 10
    assert params.contact == ContactParams()
    with pytest.raises(TactileDriverError, match=r"unknown parameters \['slip.muu'\]"):
        ProcessorParams.from_flat({"slip.muu": 0.8})
    with pytest.raises(TactileDriverError, match="threshold_off_n = 0.5"):
        ProcessorParams.from_flat({"contact.threshold_off_n": 0.5})
    with pytest.raises(TactileDriverError, match="tare_frames = 0"):
        ProcessorParams(tare_frames=0)


def test_calibration_mapping_and_errors():
    cals = default_skin_calibration(SKIN).pads
    SkinProcessor(SKIN, dict(cals))  # a plain mapping: shear uses the normal gain
    partial = {k: v for k, v in cals.items() if k != "right_palm"}
    with pytest.raises(TactileDriverError, match=r"no calibration for pads \['right_palm'\]"):
        SkinProcessor(SKIN, partial)
    wrong = dict(cals)
    wrong[TIP] = TaxelCalibration(3, 5, 1000.0, 1 / 30, 3e-5)
    with pytest.raises(TactileDriverError, match="'right_index_tip' is 3x5: expected 3x6"):
        SkinProcessor(SKIN, wrong)
