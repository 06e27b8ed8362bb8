"""Review of ContrastiveCausalDisentanglement.refit_mechanisms / mechanism_scale (commits after ca66bb0).

Tests named ``test_defect_*`` fail on the reviewed code; the others cover paths the new tests leave out and pass."""

import numpy as np
import pytest
import torch
from tests.discovery.test_ccd_refit import _identity_fit

from latentscm.discovery import ContrastiveCausalDisentanglement, contrastive_causal_disentanglement
from latentscm.discovery.result import DiscoveredGraph
from latentscm.testing.interventional_latents import simulate_interventional_latents
from latentscm.training.checkpoint import load_checkpoint, save_checkpoint


class _Refusing(torch.nn.Module):
    """An encoder that must not run (the arguments are bad: nothing needs encoding)."""

    def forward(self, x):
        raise RuntimeError("encoded before the arguments were checked")


@pytest.fixture(scope="module")
def setting():
    model = simulate_interventional_latents(3, p=3, mixing="identity", degree=2, seed=2)
    x_obs, x_int, z_obs, _ = model.sample(1000, seed=7)
    return model, x_obs, x_int, _identity_fit(model, z_obs)


# ------------------------------------------------------------------ defects (fail on the reviewed code)
def test_defect_wrong_row_shape_without_input_shape_in_info_is_a_value_error(setting):
    """refit_mechanisms reads ``info.get("input_shape", [p])`` for the check but ``info['input_shape']`` for its
    message: a fit without that key (as _observations and encode allow) gets a KeyError instead of the message."""
    model, x_obs, x_int, _ = setting
    fit = _identity_fit(model, x_obs, info={"edge_threshold": 0.1})
    wide = [np.hstack([x, x]) for x in [x_obs, *x_int]]
    with pytest.raises(ValueError, match="rows of shape"):
        fit.refit_mechanisms(wide[0], wide[1:])


def test_defect_inverse_must_be_true_or_false(setting):
    """``inverse="no"`` is truthy: the map is silently run backwards (counterfactual's ``residual`` is checked)."""
    _, x_obs, x_int, fit = setting
    gaussian = fit.refit_mechanisms(x_obs, x_int, marginals="gaussian")
    with pytest.raises(TypeError, match="inverse"):
        gaussian.mechanism_scale(fit.encode(x_obs[:5]), inverse="no")


def test_defect_penalty_discount_is_checked_whatever_the_graph(setting):
    """A nonsense ``penalty_discount`` is accepted silently unless graph="gies" (and then refused by
    InterventionalGaussianBIC, not by refit_mechanisms)."""
    _, x_obs, x_int, fit = setting
    with pytest.raises((TypeError, ValueError), match="penalty_discount.*refit_mechanisms|refit_mechanisms.*"
                                                      "penalty_discount"):
        fit.refit_mechanisms(x_obs, x_int, graph="fit", penalty_discount="x")
    with pytest.raises((TypeError, ValueError), match="penalty_discount.*refit_mechanisms|refit_mechanisms.*"
                                                      "penalty_discount"):
        fit.refit_mechanisms(x_obs, x_int, graph="gies", penalty_discount=-1)


@pytest.mark.parametrize("bad", [{"graph": "pc"}, {"graph": np.ones((3, 3))}, {"marginals": "uniform"}])
def test_defect_arguments_are_checked_before_encoding(setting, bad):
    """'graph' (a name or a DAG) is checked only after every context has been encoded (minutes for large image
    sets); 'marginals' is checked first, so the same is expected of 'graph'."""
    model, x_obs, x_int, _ = setting
    fit = _identity_fit(model, x_obs, encoder=_Refusing())
    with pytest.raises(ValueError, match="'graph'|'marginals'"):
        fit.refit_mechanisms(x_obs, x_int, **bad)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("graph", ["fit", "truth", "gies"])
def test_defect_a_latent_constant_on_the_observational_rows_is_refused_for_gaussian_marginals(setting, graph):
    """_quantile_knots promises strictly increasing knots, but a constant column gives equal ones (the tie-break
    offset, 1e-21 per knot, vanishes next to the value), so _piecewise_linear divides by zero: graph="fit" returns a
    fit whose mechanism_scale gives inf, a given DAG fails inside lstsq ("SVD did not converge"), "gies" refuses
    gies's own 'data'. None of them names the latent."""
    model, x_obs, x_int, fit = setting
    x_obs = x_obs.copy()
    x_obs[:, 2] = 0.7  # latent z2 does not vary in the observational context (it does where it is set)
    fit = ContrastiveCausalDisentanglement(**{**fit.__dict__, "latent_mean": np.zeros(3), "latent_scale": np.ones(3)})
    dag = (model.weights != 0).astype(int) if graph == "truth" else graph
    with pytest.raises(ValueError, match="z2"):
        fit.refit_mechanisms(x_obs, x_int, graph=dag, marginals="gaussian")


# ------------------------------------------------------------------ coverage (pass on the reviewed code)
def test_a_file_without_the_marginals_key_loads_as_linear_mechanisms(setting, tmp_path):
    _, x_obs, x_int, _ = setting
    fit = contrastive_causal_disentanglement(x_obs[:200], [x[:200] for x in x_int], hidden=(8,), epochs=1)
    fit.save(tmp_path / "new.pt")
    state = load_checkpoint(tmp_path / "new.pt")
    assert "marginals" in state
    del state["marginals"]  # as written before refit_mechanisms, in format 1
    assert state["format"] == "latentscm.contrastive_causal_disentanglement/2"
    state["format"] = "latentscm.contrastive_causal_disentanglement/1"
    save_checkpoint(tmp_path / "old.pt", state)
    back = ContrastiveCausalDisentanglement.load(tmp_path / "old.pt")
    assert back.marginals is None


def test_bad_graphs_are_refused_naming_graph(setting):
    _, x_obs, x_int, fit = setting
    cpdag = DiscoveredGraph(("z0", "z1", "z2"), np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))  # z0 - z1
    with pytest.raises(ValueError, match="both z0 -> z1 and z1 -> z0"):
        fit.refit_mechanisms(x_obs, x_int, graph=cpdag)
    with pytest.raises(TypeError, match="'graph'"):
        fit.refit_mechanisms(x_obs, x_int, graph=[("z0", "z1")])  # an edge list
    with pytest.raises(ValueError, match="'graph'"):
        fit.refit_mechanisms(x_obs, x_int, graph=None)
    bad = x_obs.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="'observational'.*NaN"):
        fit.refit_mechanisms(bad, x_int)


def test_gaussian_counterfactual_sets_the_value_exactly_and_leaves_non_descendants(setting):
    model, x_obs, x_int, fit = setting
    truth = (model.weights != 0).astype(int)
    gaussian = fit.refit_mechanisms(x_obs, x_int, graph=truth, marginals="gaussian")
    z = fit.encode(x_obs[:200])
    root = int(np.flatnonzero(truth.sum(0) == 0)[0])
    below = np.linalg.matrix_power(np.eye(3, dtype=int) + truth, 3)[root] > 0
    for value in (0.3, 9.0, -9.0):  # inside and far beyond the knots
        new = gaussian.counterfactual_latents(z, {f"z{root}": value})
        np.testing.assert_allclose(new[:, root], value, atol=1e-9)
        np.testing.assert_allclose(new[:, ~below], z[:, ~below], atol=1e-9)
        assert np.all(np.isfinite(new))
