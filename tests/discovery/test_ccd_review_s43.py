"""Review of contrastive causal disentanglement (s43): one test per confirmed defect, each failing on this code."""

import importlib

import numpy as np
import pytest
import torch

from latentscm.cli.discover import run_discovery
from latentscm.discovery import contrastive_causal_disentanglement_graph
from latentscm.discovery.contrastive_causal_disentanglement import (
    ContrastiveCausalDisentanglement,
    GaussianInterventionLogOdds,
    contrastive_causal_disentanglement,
)
from latentscm.testing.interventional_latents import simulate_interventional_latents

ccd_module = importlib.import_module("latentscm.discovery.contrastive_causal_disentanglement")

TINY = {"hidden": (4,), "epochs": 1}


def _data(n=40, d=3, p=4):
    model = simulate_interventional_latents(d, p=p, hidden=8, layers=1, seed=0)
    x_obs, x_int, _, _ = model.sample(n, seed=1)
    return x_obs, x_int


def _hand_built_fit(d=2):
    return ContrastiveCausalDisentanglement(
        nodes=tuple(f"z{i}" for i in range(d)), weights=np.zeros((d, d)), noise_scales=np.ones(d),
        encoder=torch.nn.Identity(), log_odds_model=GaussianInterventionLogOdds(d), input_mean=np.zeros(d),
        input_scale=np.ones(d), latent_mean=np.zeros(d), latent_scale=np.ones(d), info={"edge_threshold": 0.1})


def test_save_load_round_trips_numpy_string_node_names(tmp_path):
    """Defect: ``save`` writes ``"nodes": list(self.nodes)`` without ``_plain``, so node names given as a numpy
    string array (np.str_, which check_names accepts as str) are pickled as numpy objects, and ``load`` (torch.load
    with weights_only=True) then fails with an UnpicklingError: a file written by save cannot be read back."""
    x_obs, x_int = _data()
    fit = contrastive_causal_disentanglement(x_obs, x_int, node_names=np.array(["a", "b", "c"]), seed=0, **TINY)
    path = tmp_path / "fit.ckpt"
    fit.save(path)
    back = ContrastiveCausalDisentanglement.load(path)
    assert back.nodes == ("a", "b", "c")
    np.testing.assert_array_equal(back.encode(x_obs), fit.encode(x_obs))


@pytest.mark.parametrize("method", ["encode", "log_odds"])
def test_encode_and_log_odds_check_batch_size(method):
    """Defect: ``encode`` / ``log_odds`` never check ``batch_size``: a negative one silently returns an empty (0, d)
    array for N rows (``range`` with a negative step is empty), and 0 fails with numpy/range's "range() arg 3 must
    not be zero" instead of an error naming 'batch_size'."""
    fit = _hand_built_fit()
    x = np.ones((5, 2))
    with pytest.raises((ValueError, TypeError), match="batch_size"):
        getattr(fit, method)(x, batch_size=-5)
    with pytest.raises((ValueError, TypeError), match="batch_size"):
        getattr(fit, method)(x, batch_size=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_cuda_device_is_a_named_error():
    """Defect: ``device`` is only parsed by torch.device, never checked for use: device="cuda" on a machine
    without CUDA raises a bare AssertionError ("Torch not compiled with CUDA enabled") from deep inside torch, which
    ``latentscm discover --method contrastive-lcd --param device=cuda`` does not catch (a traceback, exit 1), where
    the rest of the library (learners, AxiomModel) raises an error naming the device."""
    x_obs, x_int = _data()
    with pytest.raises((ValueError, RuntimeError), match="device"):
        contrastive_causal_disentanglement(x_obs, x_int, device="cuda", **TINY)


def test_fewer_observed_columns_than_latents_is_refused():
    """Defect: the model needs an injective mixing, p >= d (module docstring; the simulator and linear causal
    disentanglement refuse p < d), but ``_contexts`` never compares p with the number of contexts: three latents
    are fitted from a single observed column without any error."""
    x_obs, x_int = _data()
    with pytest.raises(ValueError, match="column"):
        contrastive_causal_disentanglement(x_obs[:, :1], [x[:, :1] for x in x_int], **TINY)


def test_cli_refuses_param_interventional():
    """Defect: ``_checked_params`` checks contrastive-lcd's --param names against the signature of
    contrastive_causal_disentanglement, whose positional 'interventional' is thus accepted (and listed among the
    names --param takes); the graph function then passes it on next to the split contexts and the call fails with
    TypeError "got multiple values for argument 'interventional'" instead of a ValueError naming the --param."""
    x_obs, x_int = _data()
    data = np.vstack([np.c_[x, np.full(len(x), k)] for k, x in enumerate([x_obs, *x_int])])
    names = [f"x{j}" for j in range(4)] + ["env"]
    with pytest.raises(ValueError, match="interventional"):
        run_discovery(data, names, method="contrastive-lcd", ci=None, alpha=0.05, context=None, environment="env",
                      params={"interventional": [[0.0] * 4] * 3, "observational": 0, "epochs": 1})
    with pytest.raises(ValueError) as error:
        run_discovery(data, names, method="contrastive-lcd", ci=None, alpha=0.05, context=None, environment="env",
                      params={"foo": 1, "observational": 0})
    assert "interventional" not in str(error.value)


def test_graph_function_checks_node_names_before_training(monkeypatch):
    """Defect: ``contrastive_causal_disentanglement_graph`` checks ``node_names`` (one per observed column) only
    after the whole fit has trained (default 100 epochs of a 512-wide MLP), so a wrong count is reported minutes
    later instead of at once."""
    x_obs, x_int = _data()
    data = np.vstack([x_obs, *x_int])
    labels = ["observational"] * len(x_obs) + [lab for k, x in enumerate(x_int) for lab in [f"e{k}"] * len(x)]

    def no_training(*args, **kwargs):
        raise AssertionError("the fit was trained before 'node_names' was checked")

    monkeypatch.setattr(ccd_module, "contrastive_causal_disentanglement_by_environment", no_training)
    with pytest.raises(ValueError, match="node_names"):
        contrastive_causal_disentanglement_graph(data, labels, node_names=["only_one"], **TINY)


@pytest.mark.parametrize("mixing, p", [("identity", 3), ("mlp", 5)])
def test_simulator_mix_checks_the_latent_width(mixing, p):
    """Defect: ``InterventionalLatents.mix`` checks only that ``z`` is 2-D, not that it has d columns: the identity
    mixing returns a (n, 5) "observation" of a 3-latent model unchanged, and the MLP mixing fails with numpy's
    matmul core-dimension message instead of an error naming 'z'."""
    model = simulate_interventional_latents(3, p=p, mixing=mixing, hidden=8, layers=1, seed=0)
    with pytest.raises(ValueError, match="'z'"):
        model.mix(np.zeros((4, 5)))
