"""The continuous-optimisation methods warn on badly scaled data: their lambda1 and w_threshold are absolute, so
without standardize a column far from unit scale can silently empty the graph (bench_out/s30/scale)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from latentscm.discovery.dagma import dagma_linear
from latentscm.discovery.dagma_mlp import dagma_mlp
from latentscm.discovery.notears import SCALE_RANGE, notears_linear
from latentscm.discovery.notears_mlp import notears_mlp

# Tiny runs: the warning is raised before any optimisation, so a few steps suffice.
METHODS = {
    "notears_linear": lambda x, **kw: notears_linear(x, max_iter=2, **kw),
    "dagma_linear": lambda x, **kw: dagma_linear(x, n_stages=1, warm_steps=20, final_steps=20, **kw),
    "notears_mlp": lambda x, **kw: notears_mlp(x, hidden=(2,), max_iter=1, seed=0, **kw),
    "dagma_mlp": lambda x, **kw: dagma_mlp(x, hidden=(2,), n_stages=1, warm_steps=5, final_steps=5, seed=0, **kw),
}
NAMES = ["a", "b", "c"]


def _data(n: int = 80, seed: int = 0) -> np.ndarray:
    """(n, 3) with b depending on a, c independent; every column's std near 1."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = np.tanh(a) + 0.5 * rng.normal(size=n)
    c = rng.normal(size=n)
    return np.column_stack([a, b, c])


def _scale_warnings(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, UserWarning) and "standard deviation" in str(w.message)]


@pytest.mark.parametrize("factor", [1e-3, 1e4])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_badly_scaled_column_warns_once_naming_it(method, factor):
    x = _data()
    x[:, 1] *= factor
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        METHODS[method](x, node_names=NAMES)
    found = _scale_warnings(caught)
    assert len(found) == 1, [str(w.message) for w in caught]
    message = str(found[0].message)
    assert message.startswith(f"{method}:") and "'b' (std" in message
    assert "'a'" not in message and "'c'" not in message
    assert f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]" in message
    assert "Rescale the data" in message and "standardize=True" in message and "varsortability" in message
    assert "--param standardize=true" in message  # the spelling a CLI user types
    assert found[0].filename == __file__  # points at the call (here the lambda in METHODS), not at latentscm


@pytest.mark.parametrize("method", sorted(METHODS))
def test_well_scaled_data_does_not_warn(method):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        METHODS[method](_data(), node_names=NAMES)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_standardize_does_not_warn(method):
    x = _data() * [1e-4, 1.0, 1e5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        METHODS[method](x, node_names=NAMES, standardize=True)


@pytest.mark.parametrize("method", ["notears_linear", "dagma_linear"])
def test_logistic_loss_does_not_warn_on_rare_binary_columns(method):
    rng = np.random.default_rng(1)
    x = (rng.uniform(size=(200, 3)) < [0.5, 0.5, 0.01]).astype(float)
    x[0, 2] = 1.0  # not constant: std about 0.1, below the range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        METHODS[method](x, loss="logistic")
    with pytest.warns(UserWarning, match="'X2' \\(std 0.1"):  # the same data under l2 is out of range
        METHODS[method](x)


def test_constant_columns_are_left_to_the_existing_checks():
    x = np.column_stack([_data(), np.full(80, 0.1)])  # std 0 is outside the range, but it is no scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notears_linear(x, max_iter=2)
    with pytest.raises(ValueError, match="constant columns \\['X3'\\]"):
        notears_linear(x, max_iter=2, standardize=True)


def test_at_most_five_columns_are_listed():
    x = np.random.default_rng(2).normal(size=(50, 8)) * 1e-3
    with pytest.warns(UserWarning) as caught:
        notears_linear(x, max_iter=1)
    message = str(_scale_warnings(list(caught))[0].message)
    assert "'X4' (std" in message and "'X5'" not in message and "and 3 more" in message
