"""Tests of whole-skin calibration files (defaults, per-pad overrides, errors naming the pad)."""

import pathlib

import numpy as np
import pytest
import yaml

from tactile_driver.core.calibration_file import (
    default_skin_calibration,
    load_skin_calibration,
    skin_calibration_from_dict,
)
from tactile_driver.core.pad_geometry import load_skin_geometry, skin_geometry_from_dict
from tactile_driver.errors import TactileDriverError

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROBOT_YAML = ROOT / "config" / "robots" / "g1_dex3.yaml"

SKIN = skin_geometry_from_dict(
    "test_hand",
    {
        "base_link": "palm",
        "pads": [
            {"name": "tip", "link": "l1", "center": [0, 0, 0], "normal": [0, 0, 1], "rows": 2,
             "cols": 3, "pitch": [0.005, 0.004]},
            {"name": "palm", "link": "l0", "center": [0, 0, 0], "normal": [0, 0, 1], "rows": 1,
             "cols": 2, "pitch": [0.01, 0.01]},
        ],
    },
)  # fmt: skip

DEFAULT = {"offset_counts": 1000, "gain_kpa_per_count": 0.05}


@pytest.mark.parametrize(("side", "file"), [("right", "dex3_right"), ("left", "dex3_left")])
def test_dex3_files_use_the_nominal_convention(side, file):
    geometry = load_skin_geometry(ROBOT_YAML, f"{side}_hand")
    calibration = load_skin_calibration(ROOT / "config" / "tactile" / f"{file}.yaml", geometry)
    assert calibration.skin == f"{side}_hand"
    assert set(calibration.pads) == set(geometry.pad_names)
    for pad in geometry.pads:
        cal = calibration.pads[pad.name]
        np.testing.assert_array_equal(cal.offset_counts, 1000.0)
        np.testing.assert_array_equal(cal.gain_kpa_per_count, 1.0 / 30.0)
        assert cal.taxel_area_m2 == pytest.approx(pad.taxel_area)
        # 30 counts per kPa: 100 kPa reads 3000 counts above the offset.
        np.testing.assert_allclose(cal.raw_counts(np.full(pad.num_taxels, 100.0)), 4000.0)
        np.testing.assert_array_equal(calibration.shear_gain_kpa_per_count[pad.name], 1.0 / 30.0)


def test_per_taxel_values_scalar_broadcast_and_default_fallback():
    offsets = [990, 995, 1000, 1005, 1010, 1015]
    data = {
        "skin": "test_hand",
        "default": DEFAULT,
        "pads": {"tip": {"offset_counts": offsets, "shear_gain_kpa_per_count": 0.02}},
    }
    calibration = skin_calibration_from_dict(data, SKIN)
    tip, palm = calibration.pads["tip"], calibration.pads["palm"]
    np.testing.assert_array_equal(tip.offset_counts, offsets)
    np.testing.assert_array_equal(tip.gain_kpa_per_count, [0.05] * 6)  # key from 'default'
    np.testing.assert_array_equal(palm.offset_counts, [1000, 1000])  # pad from 'default'
    assert tip.taxel_area_m2 == pytest.approx(0.005 * 0.004)
    np.testing.assert_array_equal(calibration.shear_gain_kpa_per_count["tip"], [0.02] * 6)
    np.testing.assert_array_equal(calibration.shear_gain_kpa_per_count["palm"], [0.05] * 2)


def test_load_from_file(tmp_path):
    path = tmp_path / "cal.yaml"
    data = {"skin": "test_hand", "pads": {"tip": DEFAULT, "palm": {**DEFAULT, "offset_counts": 7}}}
    path.write_text(yaml.safe_dump(data))
    calibration = load_skin_calibration(path, SKIN)
    np.testing.assert_array_equal(calibration.pads["palm"].offset_counts, [7, 7])


def test_default_calibration_without_file():
    calibration = default_skin_calibration(SKIN)
    np.testing.assert_array_equal(calibration.pads["tip"].offset_counts, 1000.0)
    np.testing.assert_array_equal(calibration.pads["tip"].gain_kpa_per_count, 1.0 / 30.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pads": {"thumb": DEFAULT}}, "unknown pads \\['thumb'\\]"),
        (
            {"pads": {"tip": {**DEFAULT, "offset_counts": [1, 2, 3]}}},
            "pad 'tip' 'offset_counts' has 3 values.*expected a scalar or 6 values",
        ),
        ({"pads": {"tip": DEFAULT}}, "pad 'palm' has no \\['offset_counts', 'gain_kpa_p"),
        (
            {"pads": {"tip": {**DEFAULT, "gain_kpa_per_count": -1}}, "default": DEFAULT},
            "pad 'tip' 'gain_kpa_per_count' is <= 0",
        ),
        ({"pads": {"tip": {**DEFAULT, "offset": 3}}}, "pad 'tip' has unknown keys"),
        ({"pads": {"tip": {**DEFAULT, "offset_counts": "x"}}}, "pad 'tip' 'offset_counts'"),
        ({"default": DEFAULT, "skin": "right_hand"}, "'skin' = 'right_hand': expected 'test_hand'"),
        ({"default": DEFAULT, "extra": 1}, "unknown keys \\['extra'\\]"),
    ],
)
def test_errors_name_the_pad_or_key(data, message):
    data = {"skin": "test_hand", **data}
    with pytest.raises(TactileDriverError, match=message):
        skin_calibration_from_dict(data, SKIN, source="cal.yaml")


def test_unreadable_file(tmp_path):
    with pytest.raises(TactileDriverError, match="cannot read calibration file"):
        load_skin_calibration(tmp_path / "missing.yaml", SKIN)
    bad = tmp_path / "bad.yaml"
    bad.write_text("skin: [unclosed")
    with pytest.raises(TactileDriverError, match="invalid YAML"):
        load_skin_calibration(bad, SKIN)
