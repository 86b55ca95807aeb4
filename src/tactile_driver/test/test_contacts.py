"""Tests of per-pad contact estimation: force, centre of pressure, area, shear, hysteresis."""

import numpy as np
import pytest

from tactile_driver.core.contacts import ContactEstimator, ContactParams
from tactile_driver.core.pad_geometry import pad_geometry_from_dict
from tactile_driver.errors import TactileDriverError

# A tilted pad: normal +y of the link, x along +x, origin off the link origin, 3 x 6 taxels.
PAD = pad_geometry_from_dict(
    {
        "name": "tip",
        "link": "finger",
        "center": [0.03, 0.01, -0.002],
        "normal": [0, 1, 0],
        "axis": [1, 0, 0],
        "rows": 3,
        "cols": 6,
        "pitch": [0.005, 0.006],
    }
)
N = PAD.num_taxels
AREA = PAD.taxel_area


def _estimator(**params):
    return ContactEstimator(PAD, ContactParams(**params))


def test_uniform_pressure_gives_grid_centre_and_total_force():
    contact = _estimator().update(np.full(N, 50.0))
    assert contact.force_n == pytest.approx(50.0e3 * N * AREA)
    np.testing.assert_allclose(contact.cop_pad, [0.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(contact.cop_link, PAD.origin_link, atol=1e-15)
    np.testing.assert_allclose(contact.normal_link, [0, 1, 0])
    assert contact.area_m2 == pytest.approx(N * AREA)
    assert contact.in_contact


@pytest.mark.parametrize("index", [0, 5, 8, 17])
def test_single_loaded_taxel_puts_the_cop_on_it(index):
    pressure = np.zeros(N)
    pressure[index] = 12.0
    contact = _estimator().update(pressure)
    np.testing.assert_allclose(contact.cop_pad[:2], PAD.taxel_xy_pad[index], atol=1e-15)
    np.testing.assert_allclose(contact.cop_link, PAD.taxel_positions_link()[index], atol=1e-15)
    assert contact.area_m2 == pytest.approx(AREA)
    assert contact.force_n == pytest.approx(12.0e3 * AREA)


def test_force_scales_linearly_and_cop_is_scale_invariant():
    rng = np.random.default_rng(0)
    pressure = rng.uniform(0.0, 30.0, N)
    base = _estimator().update(pressure)
    for k in (0.1, 2.0, 7.5):
        scaled = _estimator().update(k * pressure)
        assert scaled.force_n == pytest.approx(k * base.force_n)
        np.testing.assert_allclose(scaled.cop_pad, base.cop_pad, atol=1e-15)
    # The CoP is the pressure-weighted mean, expressed in the link frame by origin + R @ cop_pad.
    expected = (pressure @ PAD.taxel_xy_pad) / pressure.sum()
    np.testing.assert_allclose(base.cop_pad[:2], expected)
    np.testing.assert_allclose(
        base.cop_link, PAD.origin_link + PAD.rotation_link_pad @ base.cop_pad, atol=1e-15
    )


def test_zero_pressure_is_no_contact_and_no_nan():
    contact = _estimator().update(np.zeros(N))
    assert contact.force_n == 0.0 and not contact.in_contact and contact.area_m2 == 0.0
    np.testing.assert_array_equal(contact.cop_pad, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(contact.cop_link, PAD.origin_link)
    assert np.all(np.isfinite(contact.cop_link))


def test_area_counts_taxels_above_min_loaded():
    pressure = np.zeros(N)
    pressure[:4] = [0.5, 1.5, 2.5, 0.9]
    contact = _estimator(min_loaded_kpa=1.0).update(pressure)
    assert contact.area_m2 == pytest.approx(2 * AREA)


def _uniform_for_force(force_n):
    return np.full(N, force_n / (1000.0 * N * AREA))


def test_hysteresis_never_chatters_between_thresholds():
    estimator = _estimator(threshold_on_n=0.3, threshold_off_n=0.1)
    rng = np.random.default_rng(1)
    states = []
    for force in [0.0, 0.25, 0.29, 0.31, 0.2, 0.11, 0.29, 0.15, 0.05, 0.2, 0.29]:
        states.append(estimator.update(_uniform_for_force(force)).in_contact)
    assert states == [False, False, False, True, True, True, True, True, False, False, False]
    # A signal oscillating strictly between the two thresholds never switches, either way.
    for start_in_contact in (False, True):
        estimator.reset()
        if start_in_contact:
            estimator.update(_uniform_for_force(0.5))
        forces = rng.uniform(0.11, 0.29, 2000)
        seen = {estimator.update(_uniform_for_force(f)).in_contact for f in forces}
        assert seen == {start_in_contact}


def test_shear_is_summed_and_rotated_into_the_link_frame():
    shear = np.zeros((2, N))
    shear[0, :] = 2.0  # pad x = link x
    shear[1, 3] = -6.0  # pad y = normal x axis = (0, 1, 0) x (1, 0, 0) = -z of the link
    contact = _estimator().update(np.full(N, 10.0), shear)
    expected = np.array([2.0 * N, 0.0, 6.0]) * 1000.0 * AREA
    np.testing.assert_allclose(contact.shear_n_link, expected, atol=1e-15)
    assert contact.has_shear
    no_shear = _estimator().update(np.full(N, 10.0))
    np.testing.assert_array_equal(no_shear.shear_n_link, 0.0)
    assert not no_shear.has_shear


def test_update_from_sums_matches_update():
    rng = np.random.default_rng(2)
    pressure = rng.uniform(0.0, 20.0, N)
    direct = _estimator().update(pressure)
    total, sum_x, sum_y = pressure @ _estimator().moments
    loaded = int(np.count_nonzero(pressure > 1.0))
    from_sums = _estimator().update_from_sums(total, sum_x, sum_y, loaded)
    for a, b in zip(direct, from_sums, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_errors_name_the_value():
    with pytest.raises(TactileDriverError, match=r"pressure has shape \(17,\): expected \(18,\)"):
        _estimator().update(np.zeros(N - 1))
    with pytest.raises(TactileDriverError, match=r"shear has shape \(18, 2\)"):
        _estimator().update(np.zeros(N), np.zeros((N, 2)))
    with pytest.raises(TactileDriverError, match="threshold_off_n = 0.5: expected <= threshold_on"):
        ContactParams(threshold_on_n=0.2, threshold_off_n=0.5)
    with pytest.raises(TactileDriverError, match="threshold_on_n = 0"):
        ContactParams(threshold_on_n=0, threshold_off_n=0)
    with pytest.raises(TactileDriverError, match="min_loaded_kpa = -1"):
        ContactParams(min_loaded_kpa=-1)
