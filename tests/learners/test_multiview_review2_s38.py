"""Second review of MultiViewCRL (Yao et al., ICLR 2024): encode_views' input, multi_view_r2 under
hidden="resample", evaluate's contract, the similarity, and the benchmark's table. Tests marked ``# BUG:`` assert
the correct behaviour of a defect found in review and fail until it is fixed."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import latentscm
from latentscm.data import MultiViews
from latentscm.learners.base import NotFittedError
from latentscm.learners.multiview import MultiViewCRL
from latentscm.metrics import evaluate, mcc, multi_view_r2
from latentscm.worlds import make as make_world
from latentscm.worlds.views import multi_view_batch

VIEWS = [["c0", "c1", "s0"], ["c0", "c1", "s1"], ["c0", "s0", "s1"]]
LABELS = [["a", "b", "p"], ["a", "b", "q"], ["a", "p", "q"]]  # the structure of VIEWS, names that are not factors
TINY = dict(depth=2, hidden_dim=16, batch_size=16, lr=1e-3, seed=0)
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_multiview.py"


@pytest.fixture(scope="module")
def world():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


@pytest.fixture(scope="module")
def fitted(world):
    return MultiViewCRL(views=VIEWS, steps=2, **TINY).fit(world, n_samples=32, progress=False)


@pytest.fixture(scope="module")
def drawn(world):
    return multi_view_batch(world, world.sample(12, seed=3), VIEWS, seed=4)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_multiview_review2_s38", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------------- bugs
@pytest.mark.parametrize("bad", ["missing", "fewer rows", "nan"])
def test_encode_views_checks_every_view_not_only_those_it_reads(fitted, drawn, bad):
    # BUG: encode_views (src/latentscm/learners/multiview.py:316-327) encodes only the views in unit_readers()
    # (here views 0 and 1) and never looks at the others, so view 2 may be None, have another number of samples or
    # hold NaN and the call still returns codes; its docstring asks for K arrays (N, C, H, W), one image per sample
    # in every view, and MultiViews refuses all three.
    assert fitted.unit_readers() == [0, 0, 0, 1]  # view 2 reads no unit
    third = {"missing": None, "fewer rows": drawn.views[2][:5], "nan": np.full_like(drawn.views[2], np.nan)}[bad]
    with pytest.raises(ValueError, match="view"):
        fitted.encode_views([drawn.views[0], drawn.views[1], third])


def test_encode_views_errors_name_the_view_and_encode_views(fitted, drawn):
    # BUG: encode_views (src/latentscm/learners/multiview.py:319) hands each view to encode(), whose errors name
    # "The 'x' argument of MultiViewCRL.encode": a NaN or out-of-range image in view 1 of encode_views does not say
    # which view, nor the function the user called.
    views = [v.copy() for v in drawn.views]
    views[1][0, 0] = np.nan
    with pytest.raises(ValueError) as error:
        fitted.encode_views(views)
    message = str(error.value)
    assert "encode_views" in message and ("views[1]" in message or "view 1" in message), message


def test_multi_view_r2_sees_a_view_private_latent_leaked_into_a_block_under_resample(world):
    # BUG: with hidden="resample" a view shows the factors outside S_k at ANOTHER sample's values (the paper's
    # view-specific latents, which the block must leave out), yet multi_view_r2 (src/latentscm/metrics/
    # multi_view.py:99-104) regresses every view's block only on the shared sample's factors (drawn.factors) and
    # files those factors under "unseen" ("a view that never shows them cannot encode them"). A block that encodes
    # a view's private latent perfectly scores style ~0 and unseen ~0: the leak the metric exists to detect is
    # invisible. Fix: under "resample", score the factors outside S_k against drawn.view_factors[k] (what the view
    # showed) and count them as style (or a separate "private" entry).
    views = [["c0", "c1", "s0"], ["c0", "c1", "s1"]]  # one set, block (c0, c1); s1 is private to view 0 under resample
    model = MultiViewCRL(views=views, hidden="resample", steps=1, **TINY).fit(world, n_samples=32, progress=False)
    names = list(world.factor_names)

    def leaky(x, *, view=None, sample=False, seed=None):  # the block's units: c0, and the view's private latent
        shown = world.read_factors(np.asarray(x))
        private = "s1" if view == 0 else "s0"
        return np.stack([shown[:, names.index("c0")], shown[:, names.index(private)]], 1).astype(np.float32)

    model.encode = leaky
    block = multi_view_r2(model, world, n=300, seed=0)["blocks"]["0,1"]
    assert block["per_view"][0]["c0"] > 0.9  # the fake encoder reads the views exactly
    # fixed: the values each view shows of its hidden factors are scored ("private") and counted as style
    assert min(block["private"][0]["s1"], block["private"][1]["s0"]) > 0.9, block
    assert block["style_r2"] > 0.4, block  # two of its four entries are the perfect private leaks


def test_evaluate_an_unfitted_learner_without_views_says_it_is_not_fitted(world):
    # BUG: evaluate (src/latentscm/metrics/evaluate.py:106 -> :188, _names_world_views) iterates learner.views before
    # anything checks the learner is fitted; with views=None (the default) it raises "TypeError: 'NoneType' object is
    # not iterable" instead of the NotFittedError every other unfitted learner (and MultiViewCRL with views) gives.
    with pytest.raises(NotFittedError):
        evaluate(MultiViewCRL(**TINY), world, n=20)


def test_cosine_similarity_is_refused_or_warned_with_one_unit_per_latent(world):
    # BUG: MultiViewCRL offers similarity="cosine" (src/latentscm/learners/multiview.py:138), but each aligned set's
    # NT-Xent reads only its block's units, one per latent, and cosine normalises them onto the unit sphere: a
    # block of k latents keeps k - 1 dimensions and a one-latent block (set (0, 1, 2) here: c0) only its sign, so no
    # block can be an invertible function of its latents (the theorem's claim). Nothing says so. Fix: refuse
    # "cosine" (or add one spare unit per block), or at least warn when a block is read with cosine.
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            MultiViewCRL(views=VIEWS, similarity="cosine", steps=1, **TINY).fit(world, n_samples=32, progress=False)
        caught = [str(w.message) for w in seen]
    except ValueError as error:
        caught = [str(error)]
    assert any("cosine" in message for message in caught), caught


def test_bench_table_columns_line_up_for_the_settings_the_benchmark_writes(bench):
    # BUG (cosmetic): numerical() labels a run "independent, resample, 500 steps" (benchmarks/bench_multiview.py:
    # 138-140: 32 characters) and table() pads the setting to 26 (bench_multiview.py:180, 193), so the rows of
    # --hidden resample or --steps runs push their R² columns right of the header's. Fix: size the column to the
    # longest label.
    def row(setting):
        return {"part": "numerical", "setting": setting, "method": "all sets", "seed": 0, "content": 0.9,
                "style": 0.1, "unseen": 0.0, "blocks": {"0,1": {"content": ["z0"], "content_r2": 0.9,
                                                                "style_r2": 0.1, "unseen_r2": 0.0, "per_view": {}}}}

    long_label = "independent, resample" + ", 500 steps"
    lines = bench.table([row("independent"), row(long_label)]).splitlines()
    header, plain, longer = lines[0], lines[1], lines[2]
    assert plain.index("±") == longer.index("±") and header.index("content R2") < plain.index("±"), lines[:3]


# ---------------------------------------------------------------------------------------------------- checks
def test_evaluate_a_learner_of_your_own_labels_encodes_the_world_images_and_skips_the_block_scores(world):
    drawn = multi_view_batch(world, world.sample(32, seed=5), VIEWS, seed=6)
    model = MultiViewCRL(views=LABELS, steps=2, **TINY).fit(MultiViews(drawn.views), progress=False)
    results = evaluate(model, world, n=40, seed=2)
    assert not any(key.startswith("multi_view.") for key in results)
    assert any("multi-view scores skipped" in note for note in results.notes)
    batch = world.sample(40, seed=2)
    assert results["mcc"] == pytest.approx(mcc(model.encode(batch.images).astype(np.float64), batch.factors))


def test_a_loaded_resampled_run_evaluates_like_the_fitted_learner(world, tmp_path):
    model = MultiViewCRL(views=VIEWS, hidden="resample", steps=2, **TINY)
    model.fit(world, out=str(tmp_path / "run"), n_samples=32, progress=False)
    loaded = latentscm.load(str(tmp_path / "run"))
    assert loaded.hidden == "resample" and loaded.get_params() == model.get_params()
    ours, theirs = evaluate(model, world, n=40), evaluate(loaded, world, n=40)
    keys = [key for key in ours if not key.startswith("time.")]
    assert "multi_view.content" in keys
    for key in keys:
        assert theirs[key] == pytest.approx(ours[key], nan_ok=True), key
    assert any("hidden='resample'" in note for note in theirs.notes)


def test_fixed_views_hold_grid_factors_at_the_middle_of_their_range_snapped_to_the_grid():
    world = make_world("sprites", size=16)
    batch = world.sample(6, seed=0)
    shown = ["posX", "posY"]
    drawn = multi_view_batch(world, batch, [shown, ["posX", "shape"]], seed=1)
    for j, name in enumerate(world.factor_names):
        spec = world.spec(name)
        if name in shown:
            np.testing.assert_array_equal(drawn.view_factors[0][:, j], batch.factors[:, j])
        else:
            middle = float(spec.snap((spec.low + spec.high) / 2.0))
            assert abs(middle - (spec.low + spec.high) / 2.0) <= np.max(np.diff(spec.values)) / 2 + 1e-12, name
            np.testing.assert_array_equal(drawn.view_factors[0][:, j], middle)


def test_bench_split_recomputes_old_rows_as_the_metric_splits_new_ones(bench):
    names = [f"z{j}" for j in range(6)]
    views = [[names[j] for j in view] for view in bench.PAPER_VIEWS]
    rng = np.random.default_rng(0)
    blocks = {}
    for key, content in {"0,1": ["z0", "z1", "z2", "z4"], "0,1,2,3": ["z0", "z1"]}.items():
        subset = [int(k) for k in key.split(",")]
        per_view = {k: {name: float(rng.uniform(-0.2, 1.0)) for name in names} for k in subset}
        style = [per_view[k][n] for k in subset for n in names if n in views[k] and n not in content]
        unseen = [per_view[k][n] for k in subset for n in names if n not in views[k]]
        blocks[key] = {"views": subset, "content": content, "per_view": per_view,
                       "content_r2": float(np.mean([per_view[k][n] for k in subset for n in content])),
                       "style_r2": float(np.mean(style)), "unseen_r2": float(np.mean(unseen))}
    scores = {"blocks": blocks, **{p: float(np.mean([b[f"{p}_r2"] for b in blocks.values()]))
                                   for p in ("content", "style", "unseen")}}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        bench._row("numerical", "independent", "all sets", 0, scores, 1.0)
    new = json.loads(out.getvalue())
    old = json.loads(out.getvalue())
    for field in ("style", "unseen", "units"):
        old.pop(field)
    for block in old["blocks"].values():
        block.pop("style_r2")
        block.pop("unseen_r2")
    old = bench._split(old)
    assert old["style"] == pytest.approx(new["style"], abs=1e-3) and old["unseen"] == pytest.approx(new["unseen"],
                                                                                                   abs=1e-3)
    for key, block in new["blocks"].items():
        assert old["blocks"][key]["style_r2"] == pytest.approx(block["style_r2"], abs=1e-3), key
    table = bench.table([new, old])
    assert "numerical" in table and " 2" in table.splitlines()[1][-3:]  # one key, two seeds' worth of rows
