"""Tests of the per-taxel tactile calibration (no ROS graph needed)."""

import numpy as np
import pytest

from tactile_driver.core.calibration import TaxelCalibration
from tactile_driver.errors import TactileDriverError

ROWS, COLS = 3, 4
N = ROWS * COLS


def _calibration(seed: int = 0) -> TaxelCalibration:
    rng = np.random.default_rng(seed)
    return TaxelCalibration.from_dict(
        {
            "rows": ROWS,
            "cols": COLS,
            "taxel_area_m2": 1.6e-5,
            "offset_counts": rng.uniform(400.0, 600.0, N).tolist(),
            "gain_kpa_per_count": rng.uniform(0.05, 0.2, N).tolist(),
        }
    )


def test_pressure_raw_round_trip():
    cal = _calibration()
    rng = np.random.default_rng(1)
    pressure = rng.uniform(0.0, 150.0, (5, N))
    np.testing.assert_allclose(cal.pressure_kpa(cal.raw_counts(pressure)), pressure, atol=1e-9)


def test_dict_round_trip():
    cal = _calibration()
    again = TaxelCalibration.from_dict(cal.to_dict())
    np.testing.assert_array_equal(again.offset_counts, cal.offset_counts)
    np.testing.assert_array_equal(again.gain_kpa_per_count, cal.gain_kpa_per_count)
    assert (again.rows, again.cols, again.taxel_area_m2) == (ROWS, COLS, cal.taxel_area_m2)


def test_force_is_pressure_times_area():
    cal = TaxelCalibration.from_dict(
        {
            "rows": 1,
            "cols": 2,
            "taxel_area_m2": 1e-4,
            "offset_counts": 100,
            "gain_kpa_per_count": 0.5,
        }
    )
    # 20 counts above offset * 0.5 kPa/count = 10 kPa = 1e4 Pa on 1 cm^2 -> 1 N.
    np.testing.assert_allclose(cal.force_n(np.array([120.0, 100.0])), [1.0, 0.0])


def test_negative_pressure_is_clipped_unless_asked():
    cal = _calibration()
    below = cal.offset_counts - 10.0
    assert np.all(cal.pressure_kpa(below) == 0.0)
    assert np.all(cal.pressure_kpa(below, clip_negative=False) < 0.0)


def test_tare_zeroes_constant_input():
    cal = _calibration()
    rng = np.random.default_rng(2)
    baseline = rng.uniform(300.0, 700.0, N)
    noise = rng.normal(0.0, 2.0, (200, N))
    noise -= noise.mean(axis=0)  # the mean of the samples is exactly the baseline
    tared = cal.tare(baseline + noise)
    np.testing.assert_allclose(tared.pressure_kpa(baseline, clip_negative=False), 0.0, atol=1e-9)
    np.testing.assert_array_equal(tared.gain_kpa_per_count, cal.gain_kpa_per_count)
    # The original calibration is left unchanged.
    assert not np.allclose(cal.offset_counts, baseline)


@pytest.mark.parametrize("key", ["offset_counts", "gain_kpa_per_count"])
def test_wrong_shape_raises(key):
    data = _calibration().to_dict()
    data[key] = data[key][:-1]
    with pytest.raises(TactileDriverError, match=rf"{key}.*\({N},\)"):
        TaxelCalibration.from_dict(data)


def test_wrong_raw_shape_raises():
    with pytest.raises(TactileDriverError, match=r"expected \(\.\.\., 12\)"):
        _calibration().pressure_kpa(np.zeros(N + 1))
    with pytest.raises(TactileDriverError, match="unloaded_samples"):
        _calibration().tare(np.zeros((4, N - 1)))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rows", 0),
        ("cols", 2.5),
        ("taxel_area_m2", -1.0),
        ("taxel_area_m2", float("nan")),
        ("gain_kpa_per_count", 0.0),
        ("offset_counts", float("inf")),
    ],
)
def test_invalid_values_raise(key, value):
    data = _calibration().to_dict()
    data[key] = value
    with pytest.raises(TactileDriverError, match=key):
        TaxelCalibration.from_dict(data)


def test_missing_key_raises():
    data = _calibration().to_dict()
    del data["taxel_area_m2"]
    with pytest.raises(TactileDriverError, match="missing keys"):
        TaxelCalibration.from_dict(data)
