"""The conditional Gaussian BIC (Andrews, Ramsey & Cooper 2018) for mixed data: its special cases (all continuous,
all categorical), a mixed local score by hand, cells too small to estimate, and GES / BOSS / GFCI on mixed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mixed_data import mixed_collider

from latentscm.discovery import boss, ges, gfci
from latentscm.discovery.conditional_gaussian import ConditionalGaussianBIC
from latentscm.discovery.scores import GaussianBIC


def test_all_continuous_is_the_gaussian_bic_up_to_a_constant_per_node() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    x[:, 2] += x[:, 0] - 0.7 * x[:, 1]
    cg, bic = ConditionalGaussianBIC(x, np.zeros(4, bool), penalty_discount=2.0), GaussianBIC(x, penalty_discount=2.0)
    gaps = [cg.local(2, parents) - bic.local(2, parents) for parents in ([], [0], [0, 1], [0, 1, 3])]
    # -n/2 log(2 pi) and the intercept's penalty
    assert gaps == pytest.approx([-200 * math.log(2 * math.pi) - math.log(400)] * 4, rel=1e-10)


def test_all_categorical_is_the_multinomial_bic() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 3, size=(300, 3))
    codes[:, 2] = (codes[:, 0] + rng.integers(0, 2, 300)) % 3
    cg = ConditionalGaussianBIC(codes, np.ones(3, bool))
    counts = np.zeros((3, 3))
    np.add.at(counts, (codes[:, 0], codes[:, 2]), 1)
    ll = float(np.sum(counts[counts > 0] * np.log((counts / counts.sum(axis=1, keepdims=True))[counts > 0])))
    assert cg.local(2, [0]) == pytest.approx(ll - 0.5 * 3 * 2 * math.log(300), rel=1e-12)


def test_a_continuous_node_with_a_categorical_parent_by_hand() -> None:
    """y given a binary a: a normal with its own mean and variance in each cell; 4 parameters beyond a's 1."""
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, 500)
    y = np.where(a == 1, 2.0, -1.0) + rng.normal(size=500) * np.where(a == 1, 0.5, 1.5)
    cg = ConditionalGaussianBIC(np.column_stack([a, y]), np.array([True, False]))
    ll = sum(-0.5 * (a == c).sum() * (math.log(2 * math.pi) + math.log(y[a == c].var()) + 1) for c in (0, 1))
    assert cg.local(1, [0]) == pytest.approx(ll - 0.5 * 4 * math.log(500), rel=1e-12)
    # and a given y: the joint over the marginal (a quadratic discriminant), 4 - 2 = 2 more parameters than y alone
    ll_y = -0.5 * 500 * (math.log(2 * math.pi) + math.log(y.var()) + 1)
    ll_a = sum((a == c).sum() * math.log((a == c).mean()) for c in (0, 1))
    assert cg.local(0, [1]) == pytest.approx(ll + ll_a - ll_y - 0.5 * 3 * math.log(500), rel=1e-12)
    # score equivalence between the two directions of the edge
    assert cg.local(0, []) + cg.local(1, [0]) == pytest.approx(cg.local(1, []) + cg.local(0, [1]), rel=1e-12)


def test_cells_too_small_are_left_out_and_the_rest_scaled_to_n() -> None:
    """A categorical with 60 levels on 240 rows: only the cells with k + 4 = 5 or more rows enter s(y | a), both of
    its terms on those rows, scaled by n / rows; with every cell too small the parent set scores -inf."""
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.integers(0, 60, 240), rng.normal(size=240), rng.normal(size=240)])
    cg = ConditionalGaussianBIC(x, np.array([True, False, False]))
    a, y = x[:, 0].astype(int), x[:, 1]
    sizes = np.bincount(a, minlength=60)
    keep = sizes[a] >= 5
    ll_with = sum(np.sum(keep & (a == c)) * (math.log(np.sum(keep & (a == c)) / keep.sum()) - 0.5 * (
        math.log(2 * math.pi) + math.log(y[keep & (a == c)].var()) + 1)) for c in np.unique(a[keep]))
    ll_without = sum(np.sum(keep & (a == c)) * math.log(np.sum(keep & (a == c)) / keep.sum())
                     for c in np.unique(a[keep]))
    dof = np.unique(a).size * 2  # a mean and a variance per possible cell (the 57 levels the data show)
    expected = 240 / keep.sum() * (ll_with - ll_without) - 0.5 * dof * math.log(240)
    assert 0 < keep.sum() < 240 and cg.local(1, [0]) == pytest.approx(expected, rel=1e-10)
    found = ges(x, score="cg", score_options={"discrete": [0]})
    assert not found.adjacency[0].any() and not found.adjacency[:, 0].any()  # 120 parameters buy nothing
    tiny = np.column_stack([np.repeat(np.arange(120), 2), rng.normal(size=240)])
    assert ConditionalGaussianBIC(tiny, np.array([True, False])).local(1, [0]) == -np.inf


@pytest.mark.parametrize("search", [ges, boss])
def test_searches_find_a_mixed_collider(search) -> None:
    data, names = mixed_collider(3000, 0)
    found = search(data, score="cg", score_options={"discrete": ["a", "c"]}, node_names=names)
    assert sorted(found.directed_edges) == [("a", "y"), ("x", "y"), ("y", "c")]
    assert found.info["score"] == "cg" and found.info["score_options"] == {"discrete": ["a", "c"]}


def test_gfci_with_the_cg_score() -> None:
    data, names = mixed_collider(3000, 1)
    pag = gfci(data, score="cg", score_options={"discrete": [0, 3]}, node_names=names)
    assert sorted(pag.edges()) == ["a o-> y", "x o-> y", "y --> c"]


def test_bad_input_names_the_option() -> None:
    data, names = mixed_collider(200, 2)
    with pytest.raises(ValueError, match="'discrete'.*required"):
        ges(data, score="cg")
    with pytest.raises(ValueError, match="names 'b', not a column"):
        ges(data, score="cg", score_options={"discrete": ["b"]}, node_names=names)
    with pytest.raises(TypeError, match="not one string"):
        ges(data, score="cg", score_options={"discrete": "a"}, node_names=names)
    with pytest.raises(ValueError, match="outside 0..3"):
        ges(data, score="cg", score_options={"discrete": [4]})
    with pytest.raises(ValueError, match="takes discrete, min_extra_rows.*Got \\['bins', 'discrete'\\]"):
        ges(data, score="cg", score_options={"discrete": [0], "bins": 3})
    with pytest.raises(ValueError, match="non-integer"):
        ges(data, score="cg", score_options={"discrete": [1]})  # a continuous column declared categorical
    with pytest.raises(ValueError, match="min_extra_rows"):
        ges(data, score="cg", score_options={"discrete": [0], "min_extra_rows": 0})


def test_cli_with_the_cg_score(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app

    data, names = mixed_collider(3000, 0)
    path = tmp_path / "mixed.csv"
    np.savetxt(path, data, delimiter=",", header=",".join(names), comments="")
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "ges", "--param", "score=cg", "--param",
                                      'score_options={"discrete": ["a", "c"]}', "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(map(tuple, json.loads(out.read_text())["directed"])) == [("a", "y"), ("x", "y"), ("y", "c")]
