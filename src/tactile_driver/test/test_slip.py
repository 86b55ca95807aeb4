"""Tests of slip detection on a 1 kHz stream of synthetic fingertip pressures."""

import numpy as np
import pytest

from tactile_driver.core.contacts import ContactEstimator, ContactParams
from tactile_driver.core.filters import highpass_noise_gain
from tactile_driver.core.pad_geometry import pad_geometry_from_dict
from tactile_driver.core.slip import SlipDetector, SlipParams
from tactile_driver.errors import TactileDriverError

PAD = pad_geometry_from_dict(
    {
        "name": "tip",
        "link": "finger",
        "center": [0.03, 0.0, 0.0],
        "normal": [0, 1, 0],
        "axis": [1, 0, 0],
        "rows": 3,
        "cols": 6,
        "pitch": [0.005, 0.006],
    }
)
N = PAD.num_taxels
RATE_HZ = 1000.0
DT = 1.0 / RATE_HZ
NOISE_COUNTS = 2.0  # sensor noise [counts]; 30 counts per kPa
FLOOR_KPA = 0.3  # as the pipeline's noise floor


class Stream:
    """A Gaussian contact patch (sigma 3 mm) on the pad, read through a noisy 30 counts/kPa ADC."""

    def __init__(self, seed=0, params=None):
        self.rng = np.random.default_rng(seed)
        self.contact = ContactEstimator(PAD, ContactParams())
        self.slip = SlipDetector(PAD, params or SlipParams(), floor_kpa=FLOOR_KPA)
        self.k = 0

    def pressure(self, x, y, peak):
        d2 = ((PAD.taxel_xy_pad - [x, y]) ** 2).sum(axis=1)
        ideal = peak * np.exp(-d2 / (2 * 0.003**2))
        counts = np.round(1000.0 + 30.0 * ideal + self.rng.normal(0.0, NOISE_COUNTS, N))
        pressure = (counts - 1000.0) / 30.0
        pressure[pressure < FLOOR_KPA] = 0.0
        return pressure

    def step(self, x=0.0, y=0.0, peak=30.0, shear=None):
        pressure = self.pressure(x, y, peak)
        shear_kpa = None if shear is None else np.outer(shear, pressure)
        contact = self.contact.update(pressure, shear_kpa)
        estimate = self.slip.step(self.k * DT, contact, pressure)
        self.k += 1
        return estimate

    def run(self, frames, **kwargs):
        return [self.step(**kwargs) for _ in range(frames)]


def _event_frames(estimates):
    return [i for i, e in enumerate(estimates) if e.event]


@pytest.mark.parametrize("peak", [8.0, 40.0])
def test_moving_cop_triggers_one_event_within_ten_frames(peak):
    stream = Stream(seed=1)
    before = stream.run(300, x=-0.005, peak=peak)  # settle: stationary contact
    assert _event_frames(before) == []
    assert before[-1].score < 0.2
    moving = [stream.step(x=-0.005 + 0.1 * i * DT, peak=peak) for i in range(60)]  # 0.1 m/s
    events = _event_frames(moving)
    assert len(events) == 1, events  # one slip, one event
    assert events[0] < 10  # within 10 ms of onset at 1 kHz
    assert moving[events[0]].cop_speed_m_s > 0.0


def test_one_long_slip_gives_one_event():
    stream = Stream(seed=10)
    stream.run(100, x=-0.0075)
    sliding = [stream.step(x=-0.0075 + 0.05 * i * DT) for i in range(300)]  # 0.3 s at 5 cm/s
    assert np.mean([e.score for e in sliding]) > 0.8
    assert len(_event_frames(sliding)) == 1


@pytest.mark.parametrize("peak", [6.0, 30.0])
def test_stationary_noisy_press_gives_no_event_in_five_seconds(peak):
    stream = Stream(seed=2)
    estimates = stream.run(5000, peak=peak)
    assert _event_frames(estimates) == []
    assert max(e.score for e in estimates[50:]) < 0.5


def test_vibration_raises_the_score():
    params = SlipParams(cop_speed_slip_m_s=1e3)  # isolate the vibration cue
    quiet, shaking = Stream(seed=3, params=params), Stream(seed=3, params=params)
    quiet_scores = [e.score for e in quiet.run(400, peak=30.0)]
    shaking_scores = []
    for k in range(400):
        estimate = shaking.step(peak=30.0 * (1.0 + 0.1 * np.sin(2 * np.pi * 200.0 * k * DT)))
        shaking_scores.append(estimate.score)
    assert max(quiet_scores[50:]) < 0.1
    assert np.mean(shaking_scores[100:]) > 0.5
    assert estimate.vibration_ratio > 0.3 * params.vibration_slip_ratio


def test_smooth_grip_force_ramp_is_not_vibration():
    # Force x4 within 100 ms: a grip adjustment, not slip (a slip reflex must not feed itself).
    stream = Stream(seed=11)
    stream.run(100, peak=10.0)
    ramp = [stream.step(peak=10.0 * (1.0 + 3.0 * k / 100)) for k in range(100)]
    assert _event_frames(ramp) == []
    assert max(e.score for e in ramp) < 0.2


def test_contact_onset_settles_before_events():
    # Pressing in over 15 ms while the patch rolls 3 mm (0.2 m/s): contact formation, not slip.
    events = 0
    for seed in range(5):
        stream = Stream(seed=20 + seed)
        for i in range(100):
            ramp = min(1.0, i / 15)
            events += stream.step(x=-0.004 + 0.003 * ramp, peak=30.0 * ramp).event
    assert events == 0


def test_no_contact_no_event():
    stream = Stream(seed=4)
    # A light (below threshold_on_n) patch racing across the pad: not a contact, no slip.
    estimates = [stream.step(x=-0.01 + 0.5 * i * DT, peak=1.0) for i in range(40)]
    assert not stream.contact.in_contact
    assert all(e.score == 0.0 and not e.event for e in estimates)


def test_losing_contact_resets_state():
    stream = Stream(seed=5)
    stream.run(100, x=-0.006)
    assert stream.step(x=0.0, peak=0.0).score == 0.0  # contact lost for one frame
    # The new contact lands 6 mm away: without a reset that jump would read as fast motion.
    estimates = stream.run(300, x=0.006)
    assert _event_frames(estimates) == []
    # Control: the same jump within one contact is a slip.
    control = Stream(seed=5)
    control.run(100, x=-0.006)
    assert _event_frames(control.run(50, x=0.006)) != []


def test_time_gap_resets_state():
    stream = Stream(seed=6)
    stream.run(100, x=-0.006)
    stream.k += 200  # 200 ms without frames
    assert _event_frames(stream.run(100, x=0.006)) == []


def test_shear_near_the_friction_cone_is_slip():
    params = SlipParams(mu=0.5, shear_ratio_onset=0.7)
    stream = Stream(seed=7, params=params)
    # Shear stress as a fraction of the normal pressure, along pad x.
    low = stream.run(100, shear=[0.2, 0.0])
    assert all(e.score < 0.2 for e in low) and _event_frames(low) == []
    assert low[-1].shear_ratio == pytest.approx(0.4, rel=1e-9)
    high = stream.run(20, shear=[0.0, 0.48])  # 96 % of mu
    assert _event_frames(high) == [0]
    assert high[0].score > 0.8


def test_refractory_time_merges_close_slips():
    params = SlipParams(refractory_s=0.1)
    stream = Stream(seed=8, params=params)
    stream.run(100, x=-0.006)
    first = stream.run(20, x=0.0)  # jump: slip
    stream.run(30, x=0.0)
    second = stream.run(20, x=0.006)  # 50 ms later: inside the refractory time
    stream.run(200, x=0.006)
    third = stream.run(20, x=0.0)  # well after
    assert len(_event_frames(first)) == 1
    assert _event_frames(second) == []
    assert len(_event_frames(third)) == 1


def test_step_from_sums_matches_step():
    a, b = Stream(seed=9), Stream(seed=9)
    for i in range(200):
        x = -0.005 + 0.05 * max(0, i - 100) * DT
        expected = a.step(x=x)
        pressure = b.pressure(x, 0.0, 30.0)
        contact = b.contact.update(pressure)
        weights = np.maximum(pressure - FLOOR_KPA, 0.0)
        weighted, support = weights @ b.slip.moments, (weights > 0.0) @ b.slip.moments
        got = b.slip.step_from_sums(i * DT, contact, weighted, support)
        assert got == pytest.approx(expected)


def test_params_are_validated():
    with pytest.raises(TactileDriverError, match="slip_threshold = 1.5"):
        SlipParams(slip_threshold=1.5)
    with pytest.raises(TactileDriverError, match="mu = 0"):
        SlipParams(mu=0.0)
    with pytest.raises(TactileDriverError, match="shear_ratio_onset = 1.0"):
        SlipParams(shear_ratio_onset=1.0)
    with pytest.raises(TactileDriverError, match="refractory_s = -1"):
        SlipParams(refractory_s=-1)


@pytest.mark.parametrize("a", [0.0, 0.3, 0.614, 0.95])
def test_highpass_noise_gain_matches_the_impulse_response(a):
    x_prev = y1 = y2 = 0.0
    energy = 0.0
    for k in range(3000):  # impulse through the two sections, as SlipDetector runs them
        x = 1.0 if k == 0 else 0.0
        y1_new = a * (y1 + x - x_prev)
        y2 = a * (y2 + y1_new - y1)
        y1, x_prev = y1_new, x
        energy += y2 * y2
    assert highpass_noise_gain(a) == pytest.approx(energy, rel=1e-9, abs=1e-15)


def test_irregular_and_duplicate_time_steps_are_safe():
    stream = Stream(seed=12)
    stream.run(50)
    pressure = stream.pressure(0.0, 0.0, 30.0)
    contact = stream.contact.update(pressure)
    t = stream.k * DT
    for step in (0.0, 1e-9, 3e-7, 0.0123):  # duplicate stamp, sub-microsecond, jitter, late
        t += step
        estimate = stream.slip.step(t, contact, pressure)
        assert 0.0 <= estimate.score <= 1.0 and not estimate.event
