"""ZMP preview control (Kajita et al. 2003): tracking and convergence invariants."""

import numpy as np
import pytest

from biped_gait.core.preview_control import PreviewController, cart_table_matrices, preview_gains
from biped_gait.errors import BipedGaitError

DT, Z_C = 0.005, 0.62


def test_cart_table_output_is_the_zmp():
    a, b, c = cart_table_matrices(DT, Z_C)
    state = np.array([0.1, 0.2, 1.0])
    assert c @ state == pytest.approx(0.1 - Z_C / 9.80665 * 1.0)
    assert (a @ state)[0] == pytest.approx(0.1 + 0.2 * DT + 0.5 * DT * DT)
    assert b[2] == pytest.approx(DT)


def test_preview_gains_decay():
    gains = preview_gains(DT, Z_C, 320)
    assert np.all(np.isfinite(gains.preview))
    # Far future references matter less and less (Kajita 2003, Fig. 6).
    assert abs(gains.preview[-1]) < 5e-3 * abs(gains.preview[:20]).max()


@pytest.mark.parametrize("bad", [dict(dt=0.0), dict(z_c=-1.0), dict(horizon=0), dict(r=0.0)])
def test_bad_arguments_raise(bad):
    args = dict(dt=DT, z_c=Z_C, horizon=10, q_e=1.0, r=1e-6) | bad
    with pytest.raises(BipedGaitError):
        preview_gains(**args)


def _run(controller, reference_of_time, seconds):
    zmp, com = [], []
    times = controller.sample_times
    for k in range(int(seconds / controller.dt)):
        now = k * controller.dt
        reference = np.stack([reference_of_time(now + times)] * 2, axis=1)
        state = controller.step(reference)
        zmp.append(controller.zmp()[0])
        com.append(state[0, 0])
    return np.array(zmp), np.array(com)


def test_com_settles_over_a_constant_zmp():
    controller = PreviewController(DT, Z_C, 1.6)
    controller.reset([0.05, -0.02])
    for _ in range(int(3.0 / DT)):
        controller.step(np.tile([0.0, 0.0], (controller.horizon + 1, 1)))
    np.testing.assert_allclose(controller.state[0], 0.0, atol=1e-4)
    np.testing.assert_allclose(controller.state[1], 0.0, atol=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_zmp_tracks_a_footstep_staircase(seed):
    """Steps of random lengths: the cart-table ZMP follows the reference closely, and the CoM
    moves ahead of each step thanks to the preview."""
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(0.05, 0.2, 8)
    edges = np.cumsum(np.full(8, 0.5)) + 1.5  # the first step comes into view gradually
    levels = np.concatenate([[0.0], np.cumsum(lengths)])

    def reference(t):
        return levels[np.searchsorted(edges, t, side="right")]

    controller = PreviewController(DT, Z_C, 1.6)
    zmp, com = _run(controller, reference, 6.5)
    times = np.arange(len(zmp)) * DT
    error = zmp - reference(times)
    # Away from the jumps the ZMP sits on the reference.
    settled = np.min(np.abs(times[:, None] - edges[None, :]), axis=1) > 0.15
    assert np.abs(error[settled]).max() < 0.01
    # The CoM starts moving before the first step (preview).
    first = int(edges[0] / DT)
    assert com[first - 10] > 0.01
    # The CoM ends near the last foothold (within the settling of the last step).
    assert com[-1] == pytest.approx(levels[-1], abs=0.03)


def test_wrong_reference_shape_raises():
    controller = PreviewController(DT, Z_C, 0.5)
    with pytest.raises(BipedGaitError, match="shape"):
        controller.step(np.zeros((3, 2)))
