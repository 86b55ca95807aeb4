"""Tests of the skin geometry loader: Dex3 from the robot YAML, and a made-up four-finger hand."""

import pathlib

import numpy as np
import pytest
import yaml

from tactile_driver.core.pad_geometry import list_skins, load_skin_geometry
from tactile_driver.errors import TactileDriverError

ROBOT_YAML = pathlib.Path(__file__).resolve().parents[3] / "config" / "robots" / "g1_dex3.yaml"

# An Allegro-like hand: four fingertips and a palm, tilted normals, an axis that is not
# perpendicular to its normal (it must be orthogonalised), pads of different sizes.
ALLEGRO = {
    "name": "allegro_test",
    "tactile": {
        "allegro_right": {
            "base_link": "palm_link",
            "pads": [
                {
                    "name": f"{finger}_tip",
                    "link": f"{finger}_link_3_tip",
                    "center": [0.0, 0.0, 0.012],
                    "normal": [1, 0, 1],
                    "axis": [0, 0, 1],
                    "rows": 4,
                    "cols": 4,
                    "pitch": [0.004, 0.004],
                }
                for finger in ("index", "middle", "ring", "thumb")
            ]
            + [
                {
                    "name": "palm",
                    "link": "palm_link",
                    "center": [0.0, 0.0, 0.02],
                    "normal": [0, 0, 2],
                    "rows": 7,
                    "cols": 8,
                    "pitch": [0.009, 0.008],
                }
            ],
        }
    },
}


def _write(tmp_path, data, name="hand.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _allegro_with(tmp_path, **pad_changes):
    data = yaml.safe_load(yaml.safe_dump(ALLEGRO))
    data["tactile"]["allegro_right"]["pads"][0].update(pad_changes)
    return _write(tmp_path, data)


def _assert_rotation(rotation):
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_dex3_skins_and_pads():
    assert list_skins(ROBOT_YAML) == ["left_hand", "right_hand"]
    skin = load_skin_geometry(ROBOT_YAML, "right_hand")
    assert skin.base_link == "right_hand_palm_link"
    assert skin.pad_names[0] == "right_thumb_tip" and skin.pad_names[-1] == "right_palm"
    assert len(skin.pads) == 6 and skin.num_taxels == 3 * 18 + 2 * 12 + 30
    palm = skin.pad("right_palm")
    assert (palm.rows, palm.cols, palm.pitch_x, palm.pitch_y) == (6, 5, 0.010, 0.011)
    assert palm.taxel_area == pytest.approx(0.010 * 0.011)
    np.testing.assert_allclose(palm.origin_link, [0.040, 0.0, 0.0])
    for pad in skin.pads:
        _assert_rotation(pad.rotation_link_pad)
        assert pad.taxel_xy_pad.shape == (pad.num_taxels, 2)
    # right_index_tip: normal +y, axis +x -> pad y = z x x = -z of the link.
    tip = skin.pad("right_index_tip")
    np.testing.assert_allclose(tip.rotation_link_pad, [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=0)
    np.testing.assert_allclose(tip.normal_link, [0, 1, 0])


def test_taxel_layout_is_row_major_and_centred():
    tip = load_skin_geometry(ROBOT_YAML, "left_hand").pad("left_index_tip")  # 3 x 6
    xy = tip.taxel_xy_pad
    np.testing.assert_allclose(xy.mean(axis=0), [0.0, 0.0], atol=1e-15)
    row, col = 2, 5
    np.testing.assert_allclose(
        xy[row * tip.cols + col], [(col - 2.5) * tip.pitch_x, (row - 1) * tip.pitch_y]
    )
    np.testing.assert_allclose(xy[0], [-2.5 * 0.005, -0.006])
    positions = tip.taxel_positions_link()
    # All taxels lie in the pad plane through the origin, spaced by the pitch along pad x.
    np.testing.assert_allclose((positions - tip.origin_link) @ tip.normal_link, 0.0, atol=1e-15)
    step = positions[1] - positions[0]
    np.testing.assert_allclose(step, tip.rotation_link_pad[:, 0] * tip.pitch_x)


def test_another_hand_is_a_yaml(tmp_path):
    path = _write(tmp_path, ALLEGRO)
    assert list_skins(path) == ["allegro_right"]
    skin = load_skin_geometry(path, "allegro_right")
    assert skin.pad_names == ("index_tip", "middle_tip", "ring_tip", "thumb_tip", "palm")
    assert skin.num_taxels == 4 * 16 + 56
    tip = skin.pads[0]
    _assert_rotation(tip.rotation_link_pad)
    normal = np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0)
    np.testing.assert_allclose(tip.normal_link, normal)
    # x is the axis orthogonalised against the normal: in their plane, perpendicular to z.
    x_axis = tip.rotation_link_pad[:, 0]
    np.testing.assert_allclose(x_axis, [-1 / np.sqrt(2), 0, 1 / np.sqrt(2)], atol=1e-12)
    palm = skin.pad("palm")
    np.testing.assert_allclose(palm.rotation_link_pad, np.eye(3), atol=1e-15)  # default axis
    np.testing.assert_allclose(palm.normal_link, [0, 0, 1])
    assert palm.taxel_xy_pad[-1] == pytest.approx([3.5 * 0.009, 3 * 0.008])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rows": 0}, "'rows' = 0"),
        ({"cols": 2.5}, "'cols' = 2.5"),
        ({"rows": True}, "'rows' = True"),
        ({"pitch": [0.004, -0.001]}, "'pitch'"),
        ({"pitch": [0.004]}, "'pitch'"),
        ({"normal": [0, 0, 0]}, "'normal'"),
        ({"center": [0, 0]}, "'center'"),
        ({"axis": [2, 0, 2]}, "parallel to the normal"),
    ],
)
def test_invalid_pad_names_the_field(tmp_path, change, message):
    path = _allegro_with(tmp_path, **change)
    with pytest.raises(TactileDriverError, match="index_tip") as info:
        load_skin_geometry(path, "allegro_right")
    assert message in str(info.value)


def test_unknown_skin_lists_the_known_ones():
    with pytest.raises(TactileDriverError, match="'allegro'.*left_hand.*right_hand"):
        load_skin_geometry(ROBOT_YAML, "allegro")


def test_structural_errors(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(ALLEGRO))
    pads = data["tactile"]["allegro_right"]["pads"]
    pads[1]["name"] = pads[0]["name"]
    with pytest.raises(TactileDriverError, match="duplicate pad names.*index_tip"):
        load_skin_geometry(_write(tmp_path, data), "allegro_right")
    del pads[0]["link"]
    with pytest.raises(TactileDriverError, match="missing keys \\['link'\\]"):
        load_skin_geometry(_write(tmp_path, data), "allegro_right")
    data["tactile"]["allegro_right"]["pads"] = []
    with pytest.raises(TactileDriverError, match="non-empty list"):
        load_skin_geometry(_write(tmp_path, data), "allegro_right")
    with pytest.raises(TactileDriverError, match="no 'tactile' section"):
        list_skins(_write(tmp_path, {"name": "no_skin"}))
    with pytest.raises(TactileDriverError, match="cannot read"):
        list_skins(tmp_path / "missing.yaml")
