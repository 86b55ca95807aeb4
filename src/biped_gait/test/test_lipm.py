"""Analytic invariants of the linear inverted pendulum maths (no ROS graph needed)."""

import math

import numpy as np
import pytest

from biped_gait.core import lipm
from biped_gait.errors import BipedGaitError

Z_C = 0.69  # G1 CoM height while walking, roughly [m]
OMEGA = lipm.natural_frequency(Z_C)


def _random_state(seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.1, 0.1, 2), rng.uniform(-0.3, 0.3, 2), rng.uniform(-0.1, 0.1, 2)


def test_natural_frequency():
    assert lipm.natural_frequency(1.0, g=9.0) == pytest.approx(3.0)
    assert OMEGA == pytest.approx(math.sqrt(lipm.STANDARD_GRAVITY / Z_C))


@pytest.mark.parametrize("z_c", [0.0, -0.5, float("nan"), float("inf")])
def test_bad_com_height_raises(z_c):
    with pytest.raises(BipedGaitError, match="z_c"):
        lipm.natural_frequency(z_c)


def test_bad_gravity_and_duration_raise():
    with pytest.raises(BipedGaitError, match="gravity"):
        lipm.natural_frequency(0.7, g=0.0)
    with pytest.raises(BipedGaitError, match="duration"):
        lipm.com_evolution(np.zeros(2), np.zeros(2), np.zeros(2), -0.1, OMEGA)
    with pytest.raises(BipedGaitError, match="duration"):
        lipm.zmp_to_reach_dcm(np.zeros(2), np.ones(2), 0.0, OMEGA)


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_satisfies_dynamics(seed):
    c0, v0, p = _random_state(seed)
    t, h = 0.37, 1e-4
    c_m, _ = lipm.com_evolution(c0, v0, p, t - h, OMEGA)
    c, v = lipm.com_evolution(c0, v0, p, t, OMEGA)
    c_p, _ = lipm.com_evolution(c0, v0, p, t + h, OMEGA)
    np.testing.assert_allclose((c_p - c_m) / (2 * h), v, atol=1e-7)
    np.testing.assert_allclose((c_p - 2 * c + c_m) / h**2, OMEGA**2 * (c - p), atol=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_dcm_of_com_evolution_matches_dcm_evolution(seed):
    c0, v0, p = _random_state(seed)
    c, v = lipm.com_evolution(c0, v0, p, 0.5, OMEGA)
    xi = lipm.dcm_evolution(lipm.dcm(c0, v0, OMEGA), p, 0.5, OMEGA)
    np.testing.assert_allclose(lipm.dcm(c, v, OMEGA), xi, atol=1e-12)


def test_zmp_at_dcm_keeps_dcm_constant_and_com_converges():
    c0, v0, _ = _random_state(7)
    xi0 = lipm.dcm(c0, v0, OMEGA)
    for t in (0.1, 1.0, 3.0):
        c, v = lipm.com_evolution(c0, v0, xi0, t, OMEGA)
        np.testing.assert_allclose(lipm.dcm(c, v, OMEGA), xi0, atol=1e-9)
    # Capture: with the ZMP on the capture point the CoM comes to rest over it.
    c, v = lipm.com_evolution(c0, v0, lipm.capture_point(c0, v0, OMEGA), 5.0, OMEGA)
    np.testing.assert_allclose(c, xi0, atol=1e-5)
    np.testing.assert_allclose(v, 0.0, atol=1e-5)


def test_com_diverges_when_zmp_is_not_on_dcm():
    c0, v0 = np.array([0.0, 0.0]), np.array([0.1, 0.0])
    xi0 = lipm.dcm(c0, v0, OMEGA)
    zmp = np.zeros(2)  # behind the DCM along x
    dist = [abs(lipm.com_evolution(c0, v0, zmp, t, OMEGA)[0][0]) for t in (0.5, 1.0, 2.0)]
    assert dist[0] < dist[1] < dist[2]
    expected = xi0[0] * math.exp(OMEGA * 2.0)
    assert lipm.dcm_evolution(xi0, zmp, 2.0, OMEGA)[0] == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_orbital_energy_is_conserved(seed):
    c0, v0, p = _random_state(seed)
    e0 = lipm.orbital_energy(c0, v0, p, OMEGA)
    for t in (0.2, 0.6, 1.1):
        c, v = lipm.com_evolution(c0, v0, p, t, OMEGA)
        np.testing.assert_allclose(lipm.orbital_energy(c, v, p, OMEGA), e0, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_zmp_to_reach_dcm_is_inverse_of_dcm_evolution(seed):
    rng = np.random.default_rng(seed)
    xi, target = rng.uniform(-0.2, 0.2, 2), rng.uniform(-0.2, 0.2, 2)
    p = lipm.zmp_to_reach_dcm(xi, target, 0.4, OMEGA)
    np.testing.assert_allclose(lipm.dcm_evolution(xi, p, 0.4, OMEGA), target, atol=1e-12)
