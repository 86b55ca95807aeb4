"""Swing trajectories: minimum-jerk arrival at rest, smooth touchdown, smooth re-targeting."""

import numpy as np
import pytest

from biped_gait.core.swing import SwingFoot, quintic_step
from biped_gait.errors import BipedGaitError

DT = 0.002


def test_quintic_reaches_the_target_at_rest():
    p, v, a = np.zeros(2), np.array([0.3, -0.1]), np.array([1.0, 0.0])
    target, remaining = np.array([0.2, 0.1]), 0.3
    while remaining > 0:
        p, v, a = quintic_step(p, v, a, target, remaining, DT)
        remaining -= DT
    np.testing.assert_allclose(p, target, atol=1e-9)
    np.testing.assert_allclose(v, 0.0, atol=1e-9)


def _fly(swing, retarget_at=None, new_target=None):
    poses, heights, vertical = [], [], []
    while swing.elapsed < swing.duration - 1e-9:
        if retarget_at is not None and abs(swing.elapsed - retarget_at) < DT / 2:
            swing.retarget(new_target)
        pose, _, z, vz, _ = swing.step(DT)
        poses.append(pose.copy())
        heights.append(z)
        vertical.append(vz)
    return np.array(poses), np.array(heights), np.array(vertical)


def test_swing_lifts_to_the_apex_and_touches_down_softly():
    swing = SwingFoot([0.0, 0.1, 0.0], [0.3, 0.1, 0.2], 0.35, 0.05)
    poses, heights, vertical = _fly(swing)
    assert heights.max() == pytest.approx(0.05, abs=1e-3)
    assert heights[-1] == pytest.approx(0.0, abs=1e-9) and vertical[-1] == pytest.approx(0.0)
    assert np.all(heights >= -1e-9)
    np.testing.assert_allclose(poses[-1], [0.3, 0.1, 0.2], atol=1e-9)
    # Smooth: no jump between periods.
    assert np.abs(np.diff(poses[:, 0])).max() < 0.01


def test_retarget_bends_the_path_without_a_jump():
    swing = SwingFoot([0.0, 0.1, 0.0], [0.3, 0.1, 0.0], 0.35, 0.05)
    poses, _, _ = _fly(swing, retarget_at=0.1, new_target=[0.3, 0.25, 0.0])
    assert poses[-1][1] == pytest.approx(0.25, abs=1e-9)
    assert np.abs(np.diff(poses[:, 1])).max() < 0.01


def test_retarget_is_refused_at_the_end_of_the_swing():
    swing = SwingFoot([0.0, 0.0, 0.0], [0.2, 0.0, 0.0], 0.3, 0.05)
    while swing.phase < 0.9:
        swing.step(DT)
    assert not swing.retarget([0.5, 0.0, 0.0])


def test_heading_takes_the_short_way_round():
    swing = SwingFoot([0.0, 0.0, 3.0], [0.0, 0.0, -3.0], 0.3, 0.05)
    poses, _, _ = _fly(swing)
    assert poses[-1][2] == pytest.approx(2 * np.pi - 3.0, abs=1e-9)
    assert np.all(poses[:, 2] >= 3.0 - 1e-9)


@pytest.mark.parametrize(("duration", "height"), [(0.0, 0.05), (0.3, -0.01)])
def test_bad_swing_raises(duration, height):
    with pytest.raises(BipedGaitError):
        SwingFoot([0, 0, 0], [0, 0, 0], duration, height)


def reference_quintic_step(p0, v0, a0, target, t, s):
    """The quintic evaluated with numpy on whole arrays (the textbook form)."""
    d = target - p0 - v0 * t - 0.5 * a0 * t * t
    dv = -v0 - a0 * t
    da = -a0
    c3 = (10.0 * d - 4.0 * dv * t + 0.5 * da * t * t) / t**3
    c4 = (-15.0 * d + 7.0 * dv * t - da * t * t) / t**4
    c5 = (6.0 * d - 3.0 * dv * t + 0.5 * da * t * t) / t**5
    p = p0 + v0 * s + 0.5 * a0 * s * s + c3 * s**3 + c4 * s**4 + c5 * s**5
    v = v0 + a0 * s + 3.0 * c3 * s * s + 4.0 * c4 * s**3 + 5.0 * c5 * s**4
    a = a0 + 6.0 * c3 * s + 12.0 * c4 * s * s + 20.0 * c5 * s**3
    return p, v, a


def test_quintic_on_vectors_equals_the_array_formula_bit_for_bit():
    rng = np.random.default_rng(2)
    for _ in range(300):
        p0, v0, a0, target = (rng.normal(size=3) for _ in range(4))
        t = float(rng.uniform(0.003, 0.6))
        out = quintic_step(p0, v0, a0, target, t, 0.002)
        want_all = reference_quintic_step(p0, v0, a0, target, t, 0.002)
        for got, want in zip(out, want_all, strict=True):
            np.testing.assert_array_equal(got, want)
            assert got.shape == (3,) and got.dtype == np.float64
