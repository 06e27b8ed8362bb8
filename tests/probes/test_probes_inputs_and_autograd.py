"""Regression tests of the fifth review of the probes (s25): the potential-flow pieces under torch.no_grad(), and
the 'units' argument of extreme_values given a bool or a float."""

import numpy as np
import pytest
import torch
from tests.probes.conftest import BlobDecoder

from latentscm.probes import PotentialFlows, extreme_values, laplacian, pair_classifier_accuracy


def _cubic(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """u = sum_i z_i^3 + z_0 z_1 t: Laplacian 6 sum_i z_i, Hessian row sums 6 z_i + t (z_{1-i} rows)."""
    return (z ** 3).sum(1) + z[:, 0] * z[:, 1] * t[:, 0]


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
@pytest.mark.parametrize("method", ["exact", "hutchinson", "official"])
def test_laplacian_under_no_grad_is_the_laplacian(method, mode):
    """Under the caller's no_grad (or inference_mode) every derivative was "unused" and each Laplacian read as
    exactly 0."""
    z = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=torch.float64)
    t = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    expected = laplacian(_cubic, z, t, method=method, generator=3).detach()
    with mode():
        z_in, t_in = z.clone(), t.clone()  # inference tensors under inference_mode
        got = laplacian(_cubic, z_in, t_in, method=method, generator=3).detach()
    torch.testing.assert_close(got, expected)
    if method == "exact":
        torch.testing.assert_close(got, 6 * z.sum(1))
    assert torch.all(got != 0)


CODES = np.random.default_rng(0).normal(size=(24, 4)).astype(np.float32)
OPTIONS = {"steps": 2, "batch_size": 4, "hidden_dim": 8, "seed": 1}


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_potential_flows_fit_and_flow_under_no_grad(mode):
    """fit and trajectories raised "element 0 of tensors does not require grad" under no_grad / inference_mode (fit
    under inference_mode said the decoder had no gradient); the interchange search and the attribute controls
    already train there."""
    reference = PotentialFlows(2, 3, **OPTIONS).fit(BlobDecoder(16), CODES)
    with mode():
        flows = PotentialFlows(2, 3, **OPTIONS).fit(BlobDecoder(16), CODES)
        paths = flows.trajectories(CODES[:5])
    assert [h["loss"] for h in flows.history_] == [h["loss"] for h in reference.history_]
    np.testing.assert_array_equal(paths, reference.trajectories(CODES[:5]))


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_fresh_pair_classifier_trains_under_no_grad(mode):
    """pair_classifier_accuracy raised the same error under no_grad / inference_mode."""
    paths = np.cumsum(np.random.default_rng(1).normal(size=(2, 4, 6, 4)), axis=1).astype(np.float32)
    expected = pair_classifier_accuracy(paths, BlobDecoder(16), steps=2, batch_size=8, seed=0)
    with mode():
        assert pair_classifier_accuracy(paths, BlobDecoder(16), steps=2, batch_size=8, seed=0) == expected


@pytest.mark.parametrize("units", [True, np.True_, 1.0, np.array(True)])
def test_extreme_values_refuses_a_bool_or_float_unit(oracle_model, sprites16, units):
    """units=True probed unit 1 (a bool is an int); np.True_, 1.0 and np.array(True) failed as "not iterable"."""
    with pytest.raises(ValueError, match="'units' parameter of extreme_values"):
        extreme_values(oracle_model, sprites16, units=units, levels=5, n=4, n_boot=10)


def test_extreme_values_refuses_a_repeated_unit(oracle_model, sprites16):
    """units=[1, 1] probed unit 1 twice and gave the effect table two rows of it."""
    with pytest.raises(ValueError, match="'units' parameter of extreme_values repeats unit 1"):
        extreme_values(oracle_model, sprites16, units=[1, 1], levels=5, n=4, n_boot=10)


def test_probe_refuses_a_repeated_kind(tmp_path):
    """--kind extreme,extreme ran the probe twice and showed it twice on the page; refused before the run is read."""
    from typer.testing import CliRunner

    from latentscm.cli import app

    result = CliRunner().invoke(app, ["probe", str(tmp_path / "no-run"), "--kind", "extreme,flows,extreme",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--kind names each kind at most once" in result.output
    assert not (tmp_path / "out").exists()


def test_extreme_values_names_non_finite_codes(oracle_model, sprites16):
    """One NaN code made its unit's range, levels and every statistic NaN, with no error."""

    class OneNaN(type(oracle_model)):
        def encode(self, x, *, sample=False, seed=None):
            codes = super().encode(x, sample=sample, seed=seed)
            codes[0, 0] = np.nan
            return codes

        def decode(self, z):  # as a network decoder does: a NaN code gives a NaN image
            z = np.asarray(z, dtype=np.float64)
            images = super().decode(np.where(np.isfinite(z), z, 0.0)).astype(np.float32)
            images[~np.isfinite(z).all(axis=1)] = np.nan
            return images

    with pytest.raises(ValueError, match=r"1 of the 8 base images have non-finite codes from OneNaN.encode \(units "
                                         r"\[0\]\)"):
        extreme_values(OneNaN(sprites16), sprites16, units=[0, 1], levels=5, n=8, n_boot=10)
