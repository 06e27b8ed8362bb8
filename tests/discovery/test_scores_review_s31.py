"""Review s31 of the BDeu / conditional Gaussian scores and the cg_lrt test: the defects it found, as regression
tests (small cells left out instead of a -inf joint; BDeu's default prior on two columns; gapped codes)."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery import boss, ges
from latentscm.discovery.ci_tests import ConditionalGaussianLRT
from latentscm.discovery.scores import BDeu


def _rare_level(seed: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """A categorical x (n,) with levels 0, 1 common and level 2 on 3 rows; y (n,) = 3 x + noise."""
    rng = np.random.default_rng(seed)
    x = np.r_[rng.integers(0, 2, n - 3), [2, 2, 2]].astype(float)
    return x, 3.0 * x + rng.normal(size=n)


def test_cg_lrt_rare_level_does_not_hide_a_strong_dependence() -> None:
    """One level on 3 of 500 rows makes every joint with a continuous column -inf, and the test answers p = 1
    (independence) for an effect of 3 noise SDs. Tetrad's likelihood leaves out the cells too small to estimate."""
    x, y = _rare_level(0)
    assert ConditionalGaussianLRT(categorical=[0]).test(x, y).p_value < 1e-6


def test_cg_lrt_auto_count_conditioning_column_keeps_the_dependence() -> None:
    """categorical='auto' reads a Poisson count (7 values, the top one on 3 rows) as categorical; a, c dependent
    given it (partial correlation ~0.5) then get p = 1."""
    rng = np.random.default_rng(0)
    n = 500
    rng.integers(0, 2, n - 3)  # the draws of _rare_level(0), so the count has the same rare value
    z = rng.poisson(2.0, n).astype(float)
    a = z + rng.normal(size=n)
    c = a + z + rng.normal(size=n)
    assert np.unique(z).size <= 10 and np.min(np.unique(z, return_counts=True)[1]) < 6
    assert ConditionalGaussianLRT().test(a, c, z).p_value < 1e-6


def test_cg_score_connects_a_categorical_with_a_rare_level() -> None:
    """ges/boss with score='cg' never join x and y above: the rare cell makes every parent set with both -inf."""
    x, y = _rare_level(0)
    for search in (ges, boss):
        found = search({"X": x, "Y": y}, score="cg", score_options={"discrete": ["X"]})
        assert np.asarray(found.adjacency)[0, 1] or np.asarray(found.adjacency)[1, 0], search.__name__


def test_bdeu_default_structure_prior_works_on_two_columns() -> None:
    """The default structure_prior=1 is refused when d = 2 (d - 1 = 1), so ges/boss(score='bdeu') fail on any
    two-column table with default options."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 300)
    b = (a + (rng.random(300) < 0.1)) % 2
    found = ges(np.column_stack([a, b]), score="bdeu")
    assert np.asarray(found.adjacency)[0, 1] == 1


def test_bdeu_codes_with_a_gap_score_as_their_observed_levels() -> None:
    """BDeu takes r = max code + 1, so codes {0, 2} count a never-seen level (causal-learn: len(unique)); the
    public class should re-code, or refuse such codes naming 'codes'."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 200)
    b = (a + (rng.random(200) < 0.2)) % 2
    gapped = np.column_stack([2 * a, b, rng.integers(0, 3, 200)])
    dense = np.column_stack([a, b, gapped[:, 2]])
    try:
        scorer = BDeu(gapped)
    except ValueError as error:
        assert "'codes'" in str(error)
        return
    for node, parents in [(0, []), (1, [0]), (0, [1]), (2, [0, 1])]:
        assert scorer.local(node, parents) == pytest.approx(BDeu(dense).local(node, parents))
