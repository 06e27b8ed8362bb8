"""Review tests of ContrastiveCRL, the content-style world, ``counterfactual_pairs(among=...)``, learners
without a decoder and ``r2_per_factor`` (commits ec9a95c, bfb5836).

The last tests pin the problems the review found (fixed with it): each asserts the behaviour the code must have.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from latentscm.learners.contrastive import ContrastiveCRL, nt_xent
from latentscm.metrics import content_style_r2
from latentscm.metrics.r2 import r2, r2_per_factor
from latentscm.worlds import make as make_world
from latentscm.worlds.pairs import counterfactual_pairs

TINY = dict(latent_dim=2, depth=1, hidden_dim=8, batch_size=16, seed=0)
REPO = Path(__file__).resolve().parents[2]
BEFORE = "ec9a95c~1"  # the commit before `among` was added to counterfactual_pairs


@pytest.fixture(scope="module")
def world():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


# --------------------------------------------------------------------------- among=None: the same pairs as before

#: (world, options, changes, share) -> digest of (targets, changed, factors rounded to 1e-8) of the pairs drawn
#: by the implementation before the change (ec9a95c~1), batch world.sample(64, seed=3), pairs seed 5.
_BEFORE_DIGESTS = [
    ("sprites", {"size": 16}, "random", True, "b2e70bd1d5ef4972"),
    ("sprites", {"size": 16}, 2, False, "2b93cc442cb0a783"),
    ("pendulum", {"size": 16}, "random", True, "9d8debe1dcf7acbf"),
    ("pendulum", {"size": 16}, 1, False, "264657222448853f"),
    ("content-style", {"correlated": True, "content": 2, "style": 3}, "random", True, "d0292ce23696f0ca"),
    ("content-style", {"correlated": True, "content": 2, "style": 3}, 3, True, "11d0edda973dd2dc"),
    ("ild-linear", {}, "random", False, "094337ff722ad377"),
]


def _digest(pairs) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(pairs.targets).tobytes())
    h.update(np.ascontiguousarray(pairs.changed).tobytes())
    h.update(np.round(pairs.factors.astype(np.float64), 8).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name, options, changes, share, expected", _BEFORE_DIGESTS)
def test_among_none_draws_the_pairs_of_the_version_before_the_change(name, options, changes, share, expected):
    w = make_world(name, **options)
    batch = w.sample(64, seed=3)
    assert _digest(counterfactual_pairs(w, batch, changes=changes, seed=5, share=share)) == expected
    assert _digest(counterfactual_pairs(w, batch, changes=changes, seed=5, share=share, among=None)) == expected


def _old_pairs_module(tmp_path):
    try:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{BEFORE}:src/latentscm/worlds/pairs.py"],
                              capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("the previous pairs.py is not reachable through git here")
    path = tmp_path / "pairs_before_among.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("pairs_before_among", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_among_none_is_bit_for_bit_the_previous_implementation_images_included(tmp_path):
    old = _old_pairs_module(tmp_path)
    for name, options in [("sprites", {"size": 16}), ("pendulum", {"size": 16}),
                          ("content-style", {"correlated": True})]:
        w = make_world(name, **options)
        for seed in (0, 4):
            batch = w.sample(48, seed=seed)
            for changes in ("random", 1):
                for share in (True, False):
                    before = old.counterfactual_pairs(w, batch, changes=changes, seed=seed + 1, share=share)
                    now = counterfactual_pairs(w, batch, changes=changes, seed=seed + 1, share=share)
                    for field in before._fields:
                        assert np.array_equal(getattr(before, field), getattr(now, field)), (name, seed, changes,
                                                                                             share, field)


# --------------------------------------------------------------------------- among: draws and sharing rule

def test_among_changes_only_named_factors_and_keeps_their_non_descendants_exactly():
    w = make_world("content-style", content=2, style=3, dependence="linear", correlated=True, seed=2)
    batch = w.sample(300, seed=1)
    pairs = counterfactual_pairs(w, batch, seed=2, among=["s2", "s0"])
    names = list(w.factor_names)
    pool = [names.index("s0"), names.index("s2")]
    assert not np.delete(pairs.targets, pool, axis=1).any()
    assert pairs.targets.any(axis=1).all()
    np.testing.assert_array_equal(pairs.factors[:, :2], batch.factors[:, :2])  # content: no style ancestor
    # s1 sits between s0 and s2 (correlated block: s0 -> s1 -> s2): it moves only when s0 is a target
    s1 = names.index("s1")
    np.testing.assert_array_equal(pairs.changed[:, s1], pairs.targets[:, names.index("s0")])
    # the order of the names does not change the draw
    again = counterfactual_pairs(w, batch, seed=2, among=["s0", "s2"])
    np.testing.assert_array_equal(again.factors, pairs.factors)


# --------------------------------------------------------------------------- the world's SCM

@pytest.mark.parametrize("options", [dict(), dict(correlated=True), dict(correlated=True, content=1, style=1),
                                     dict(correlated=True, content=4, style=3, seed=5),
                                     dict(dependence="none", correlated=True, seed=2)])
def test_cholesky_mechanisms_reproduce_the_stated_joint_exactly(options):
    """The linear SEM of the world's mechanisms, solved in closed form, has the data model's mean and covariance."""
    w = make_world("content-style", **options)
    names = list(w.factor_names)
    k = len(names)
    weights, bias, variance = np.zeros((k, k)), np.zeros(k), np.zeros(k)
    for j, name in enumerate(names):
        mechanism = w.scm._mechanisms[name]
        mechanism = getattr(mechanism, "base", mechanism)  # the world's range clip around the LinearGaussian
        for parent, weight in zip(mechanism.parent_names or (), mechanism.weights):
            weights[j, names.index(parent)] = weight
        bias[j], variance[j] = mechanism.bias, mechanism.std ** 2
    solve = np.linalg.inv(np.eye(k) - weights)
    cov_c, b = w.content_cov_, w.style_weights_
    stated = np.block([[cov_c, cov_c @ b.T], [b @ cov_c, b @ cov_c @ b.T + w.style_cov_]])
    np.testing.assert_allclose(solve @ np.diag(variance) @ solve.T, stated, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(solve @ bias, np.concatenate([np.zeros(w.content), w.style_bias_]), atol=1e-12)


# --------------------------------------------------------------------------- resume with style_factors

def test_resume_rebuilds_the_same_style_pairs_and_refuses_other_style_factors(tmp_path):
    from latentscm.training.resume import resume

    w = make_world("content-style", content=2, style=2, dependence="linear", correlated=True, seed=0)
    full = ContrastiveCRL(style_factors=["s1", "s0"], steps=6, **TINY).fit(
        w, out=str(tmp_path / "full"), n_samples=64, progress=False, checkpoint_every=2)
    ContrastiveCRL(style_factors=["s1", "s0"], steps=4, **TINY).fit(
        w, out=str(tmp_path / "part"), n_samples=64, progress=False, checkpoint_every=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resumed = resume(tmp_path / "part", steps=6, progress=False)
    for (key, a), b in zip(full.encoder_.state_dict().items(), resumed.encoder_.state_dict().values()):
        assert torch.equal(a, b), key
    config = json.loads((tmp_path / "part" / "config.json").read_text())
    assert config["data"]["pairs"]["among"] == ["s1", "s0"]
    with pytest.raises(ValueError, match="style_factors"):
        ContrastiveCRL(style_factors=["s0"], steps=6, **TINY).fit(
            w, out=str(tmp_path / "part"), resume=True, n_samples=64, progress=False)


# --------------------------------------------------------------------------- r2 refactor

def test_r2_is_the_mean_of_r2_per_factor_and_warns_at_the_callers_line():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((40, 2))
    factors = np.column_stack([codes[:, 0] + 0.1 * rng.standard_normal(40), np.ones(40), np.zeros(40),
                               rng.standard_normal(40)])
    factors[0, 2] = 1.0  # one non-zero row: varying, but (for this split) constant on the held-out rows
    caught_all = []
    for seed in range(6):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mean = r2(codes, factors, seed=seed)
            per = r2_per_factor(codes, factors, seed=seed)
        assert np.isnan(per[1])  # the constant factor
        assert mean == float(np.mean(per[~np.isnan(per)]))
        caught_all += caught
    assert caught_all  # some split leaves column 2 constant on the held-out rows
    for warning in caught_all:
        assert "column(s) [2]" in str(warning.message)
        assert warning.filename == __file__, warning.filename  # stacklevel points here, for both


# --------------------------------------------------------------------------- no decoder: the CLI commands

def test_cli_counterfactual_and_probe_of_a_contrastive_run_fail_cleanly(tmp_path):
    from typer.testing import CliRunner

    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "--world", "sprites", "--size", "16", "--learner", "contrastive",
                                  "--steps", "2", "--n-samples", "64", "--set", 'style_factors=["posX"]',
                                  "--set", "latent_dim=3", "--set", "batch_size=16", "--set", "channels=[4, 8]",
                                  "--set", "hidden_dim=8", "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    produced = runner.invoke(app, ["counterfactual", str(run), "--do", "posX=0.5", "--out", str(tmp_path / "cf.png")])
    assert produced.exit_code == 2 and "no decoder" in produced.output, produced.output
    assert not (tmp_path / "cf.png").exists()
    for kind in ("extreme", "flows"):
        probed = runner.invoke(app, ["probe", str(run), "--kind", kind, "--n", "8", "--out", str(tmp_path / kind)])
        assert probed.exit_code == 2 and "decoder" in probed.output, (kind, probed.output)


# --------------------------------------------------------------------------- problems found in review, fixed

def test_style_factors_naming_every_factor_trains_as_style_factors_none(world):
    """Every factor as style leaves no fixed content: the pairs are those of style_factors=None (each shares one
    factor), drawn identically, so the weights are too."""
    every = ContrastiveCRL(style_factors=["c0", "c1", "s0", "s1"], steps=2, **TINY).fit(world, n_samples=32,
                                                                                       progress=False)
    none = ContrastiveCRL(steps=2, **TINY).fit(world, n_samples=32, progress=False)
    for a, b in zip(every.encoder_.parameters(), none.encoder_.parameters()):
        assert torch.equal(a, b)


def test_pair_changes_error_counts_the_style_factors_not_the_world(world):
    with pytest.raises(ValueError, match="pair_changes") as error:
        ContrastiveCRL(style_factors=["s0", "s1"], pair_changes=3, steps=2, **TINY).fit(world, n_samples=32,
                                                                                       progress=False)
    assert "style_factors" in str(error.value) and "the world has 2" not in str(error.value)


@pytest.mark.parametrize("names, style", [(["a", "b"], ["b"]), (["a", "b", "c", "d"], ["d"])])
def test_content_style_r2_refuses_factor_names_that_do_not_match_the_columns(names, style):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="factor_names"):
        content_style_r2(rng.standard_normal((60, 2)), rng.standard_normal((60, 3)), names, style)


def test_nt_xent_of_one_pair_is_identically_zero():
    """The reason batch_size=1 must be refused: one pair has no negative, the loss is 0 with no gradient."""
    first = torch.randn(1, 3, requires_grad=True)
    loss, accuracy = nt_xent(first, torch.randn(1, 3))
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(accuracy) == 1.0 and float(first.grad.abs().sum()) == 0.0


def test_batch_size_one_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        ContrastiveCRL(batch_size=1)
