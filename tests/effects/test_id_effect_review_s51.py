"""Review of ``id_effect`` (the ID algorithm's formula on frequency tables), ``Estimand.evaluate(renormalise=)`` (since
replaced by ``Estimand.evaluate_where_defined``) and
``latentscm effect --id``: exact ground truth from DiscreteSCMs with hidden nodes, hand-computed adjustment, front-door
and napkin plug-ins on the same frequencies, non-0/1 codes, the pseudocount, determinism, sizes, errors and CLI flags.

Tests marked "DEFECT" failed on the reviewed code; all were fixed before landing and stay as regression tests (the
formula with extra pre-treatment variables by using the adjustment formula when an adjustment set exists, the
treatment levels outside the contrast by evaluating only the entries the contrast needs). The others pin what
holds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from latentscm.effects import id_effect
from latentscm.graph import CausalGraph
from latentscm.scm import DiscreteSCM, NonIdentifiableError, identify
from latentscm.scm.id_algorithm import Estimand, SemiMarkovianGraph, _Product, _Term
from latentscm.scm.probability_table import ProbabilityTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

NAPKIN = CausalGraph.from_text("W1 -> W2; W2 -> X; X -> Y; U1 -> W1; U1 -> Y; U2 -> W1; U2 -> X")


# ------------------------------------------------------------------------------------------------ helpers
def _random_scm(graph: CausalGraph, cards: dict[str, int], seed: int) -> DiscreteSCM:
    """CPTs drawn from Dirichlet(2, ..., 2) mixed with uniform (every cell >= 0.1 / card: positivity)."""
    rng = np.random.default_rng(seed)
    cpts = {}
    for v in graph.nodes:
        shape = tuple(cards[p] for p in graph.parents(v))
        cpts[v] = 0.8 * rng.dirichlet(np.full(cards[v], 2.0), size=shape) + 0.2 / cards[v]
    return DiscreteSCM(graph, cpts)


def _coded(scm: DiscreteSCM, n: int, seed: int, codes: dict[str, tuple[float, ...]]) -> dict[str, np.ndarray]:
    """``n`` rows of the observed nodes (the keys of ``codes``), state ``i`` of ``v`` written as ``codes[v][i]``."""
    sample = scm.sample(n, seed=seed)
    return {v: np.asarray(c, dtype=float)[sample[:, scm.graph.index(v)]] for v, c in codes.items()}


def _true_means(scm: DiscreteSCM, treatment: str, outcome: str, y_codes) -> np.ndarray:
    """Exact E[outcome | do(treatment = state i)] for every state i, outcome in its codes."""
    return scm.interventional([outcome], [treatment]).values @ np.asarray(y_codes, dtype=float)


def _backdoor(d, t, y, w, value):
    """sum_w P(w) E[Y | t, w] by hand (w: a tuple of column names)."""
    keys = np.column_stack([d[v] for v in w])
    total = 0.0
    for row in np.unique(keys, axis=0):
        at = np.all(keys == row, axis=1)
        total += at.mean() * d[y][at & (d[t] == value)].mean()
    return total


def _front_door(d, t, m, y, value):
    """Pearl's front-door formula by hand: sum_m P(m | t) sum_t' P(t') E[Y | t', m]."""
    tt, mm, yy = d[t], d[m], d[y]
    return sum(np.mean(mm[tt == value] == mv) * sum(np.mean(tt == tv) * yy[(tt == tv) & (mm == mv)].mean()
                                                    for tv in np.unique(tt)) for mv in np.unique(mm))


# ------------------------------------------------------------------------------------------------ what holds
@pytest.mark.parametrize("text, hidden", [
    ("U -> T; U -> Y; T -> M; M -> H; H -> Y", ["U", "H"]),  # hidden H with an observed parent M (mediator)
    ("Z -> U; U -> T; U -> Y; T -> M; M -> Y", ["U"]),  # hidden confounder U with an observed parent Z
    ("W -> H1; H1 -> T; T -> H2; H2 -> Y; W -> Y", ["H1", "H2"]),  # hidden nodes with observed parents W, T
    ("W1 -> W2; W2 -> X; X -> Y; U1 -> W1; U1 -> Y; U2 -> W1; U2 -> X", ["U1", "U2"]),  # napkin
])
def test_exact_joint_gives_the_exact_interventional_distribution_checked_or_where_defined(text, hidden):
    # Three-level variables; evaluate on the exact observed joint = scm.interventional, and evaluate_where_defined
    # (which replaced the reviewed renormalise=True) gives the same array on an exact joint.
    graph = CausalGraph.from_text(text)
    cards = {v: 3 for v in graph.nodes}
    scm = _random_scm(graph, cards, seed=7)
    observed = [v for v in graph.nodes if v not in hidden]
    treatment, outcome = ("X", "Y") if "X" in observed else ("T", "Y")
    estimand = identify(SemiMarkovianGraph.from_dag(graph, hidden), y=outcome, do=treatment)
    joint = scm.observed(observed)
    plain = estimand.evaluate(joint).transpose([treatment, outcome]).values
    again = estimand.evaluate_where_defined(joint)  # axes (treatment, outcome)
    truth = scm.interventional([outcome], [treatment]).values
    np.testing.assert_allclose(plain, truth, atol=1e-12)
    np.testing.assert_allclose(again, plain, atol=1e-14)


def test_backdoor_plugin_with_non_binary_codes_and_contrast_order():
    # W in {-1, 0, 2.5}, T in {2, 5}, Y in {0.5, 3, 10}: the ID formula sum_w P(w) P(y | w, t) equals the adjustment
    # plug-in by hand on the same rows, the default contrast is (2, 5), and (5, 2) flips the sign.
    graph = CausalGraph.from_text("W -> T; W -> Y; T -> Y")
    scm = _random_scm(graph, {"W": 3, "T": 2, "Y": 3}, seed=1)
    data = _coded(scm, 4000, 2, {"W": (-1.0, 0.0, 2.5), "T": (2.0, 5.0), "Y": (0.5, 3.0, 10.0)})
    result = id_effect(data, graph, "T", "Y", n_bootstrap=20)
    by_hand = _backdoor(data, "T", "Y", ("W",), 5.0) - _backdoor(data, "T", "Y", ("W",), 2.0)
    assert result.contrast == (2.0, 5.0)
    assert result.estimate == pytest.approx(by_hand, abs=1e-12)
    flipped = id_effect(data, graph, "T", "Y", n_bootstrap=20, contrast=(5, 2))
    assert flipped.estimate == pytest.approx(-by_hand, abs=1e-12)
    truth = _true_means(scm, "T", "Y", (0.5, 3.0, 10.0))
    assert abs(result.estimate - (truth[1] - truth[0])) < 4 * result.std_error


def test_front_door_plugin_three_level_treatment_hidden_node_with_observed_parent():
    # U -> T, U -> Y, T -> M -> H -> Y with U and H hidden (H has the observed parent M): the formula is the front
    # door through M. T in {-1, 0.5, 3} (contrast (-1, 3)), M three levels, Y in {2, 5}: equal to the hand plug-in,
    # and a 20,000-row sample lands within 4 s.e. of the exact effect.
    graph = CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> H; H -> Y")
    scm = _random_scm(graph, {"U": 2, "T": 3, "M": 3, "H": 2, "Y": 2}, seed=3)
    codes = {"T": (-1.0, 0.5, 3.0), "M": (0.0, 1.0, 2.0), "Y": (2.0, 5.0)}
    data = _coded(scm, 20_000, 4, codes)
    result = id_effect(data, graph, "T", "Y", contrast=(-1.0, 3.0), n_bootstrap=30)
    assert result.info["hidden"] == ["U", "H"] and "sum_{T'}" in result.info["estimand"]
    by_hand = _front_door(data, "T", "M", "Y", 3.0) - _front_door(data, "T", "M", "Y", -1.0)
    assert result.estimate == pytest.approx(by_hand, abs=1e-12)
    truth = _true_means(scm, "T", "Y", (2.0, 5.0))
    assert abs(result.estimate - (truth[2] - truth[0])) < 4 * result.std_error


def test_conditional_front_door_when_the_hidden_confounder_has_an_observed_parent():
    # Z -> U (hidden) -> T, Y; T -> M -> Y. The formula sum_{z,m} P(z) P(m | z, t) sum_t' P(t' | z) E[Y | z, t', m]
    # by hand on the same rows, and the exact truth.
    graph = CausalGraph.from_text("Z -> U; U -> T; U -> Y; T -> M; M -> Y")
    scm = _random_scm(graph, {"Z": 2, "U": 2, "T": 2, "M": 3, "Y": 2}, seed=11)
    data = _coded(scm, 20_000, 5, {"Z": (0.0, 1.0), "T": (0.0, 1.0), "M": (0.0, 1.0, 2.0), "Y": (0.0, 1.0)})
    z, t, m, y = data["Z"], data["T"], data["M"], data["Y"]

    def mean_do(value):
        total = 0.0
        for zv, mv in product((0.0, 1.0), (0.0, 1.0, 2.0)):
            p_m = np.mean(m[(z == zv) & (t == value)] == mv)
            inner = sum(np.mean(t[z == zv] == tv) * y[(z == zv) & (t == tv) & (m == mv)].mean() for tv in (0.0, 1.0))
            total += np.mean(z == zv) * p_m * inner
        return total

    result = id_effect(data, graph, "T", "Y", n_bootstrap=30)
    assert result.estimate == pytest.approx(mean_do(1.0) - mean_do(0.0), abs=1e-12)
    truth = _true_means(scm, "T", "Y", (0.0, 1.0))
    assert abs(result.estimate - (truth[1] - truth[0])) < 4 * result.std_error


def test_napkin_with_non_binary_codes_matches_hand_plugin_and_truth():
    # Napkin, X in {2, 5}, Y three levels coded {-1, 0.5, 4}, W1 in {-3, 3}, W2 in {0.5, 7}.
    scm = _random_scm(NAPKIN, {"U1": 2, "U2": 2, "W1": 2, "W2": 2, "X": 2, "Y": 3}, seed=21)
    codes = {"W1": (-3.0, 3.0), "W2": (0.5, 7.0), "X": (2.0, 5.0), "Y": (-1.0, 0.5, 4.0)}
    data = _coded(scm, 20_000, 6, codes)
    w1, w2, x, y = data["W1"], data["W2"], data["X"], data["Y"]

    def mean_do(value):  # sum_w2 P(w2) [sum_w1 P(w1) P(x|w1,w2) E[Y|w1,w2,x]] / [sum_w1 P(w1) P(x|w1,w2)]
        total = 0.0
        for b in codes["W2"]:
            top = bottom = 0.0
            for a in codes["W1"]:
                cell = (w1 == a) & (w2 == b)
                p_x = np.mean(x[cell] == value)
                top += np.mean(w1 == a) * p_x * y[cell & (x == value)].mean()
                bottom += np.mean(w1 == a) * p_x
            total += np.mean(w2 == b) * top / bottom
        return total

    result = id_effect(data, NAPKIN, "X", "Y", n_bootstrap=30)
    assert result.contrast == (2.0, 5.0)
    assert result.estimate == pytest.approx(mean_do(5.0) - mean_do(2.0), abs=1e-12)
    truth = _true_means(scm, "X", "Y", codes["Y"])
    assert abs(result.estimate - (truth[1] - truth[0])) < 4 * result.std_error


def test_columns_the_formula_does_not_read_are_not_encoded():
    # D (a child of Y) with 300 distinct values is not read by sum_w P(w) P(y | w, t): no max_levels refusal, the
    # estimate is the one without D, and info["variables"] leaves it out.
    graph = CausalGraph.from_text("W -> T; W -> Y; T -> Y; Y -> D")
    scm = _random_scm(CausalGraph.from_text("W -> T; W -> Y; T -> Y"), {"W": 2, "T": 2, "Y": 2}, seed=2)
    data = _coded(scm, 600, 1, {"W": (0.0, 1.0), "T": (0.0, 1.0), "Y": (0.0, 1.0)})
    with_d = dict(data, D=np.random.default_rng(0).normal(size=600))
    result = id_effect(with_d, graph, "T", "Y", n_bootstrap=10)
    without = id_effect(data, CausalGraph.from_text("W -> T; W -> Y; T -> Y"), "T", "Y", n_bootstrap=10)
    assert result.info["variables"] == ["W", "T", "Y"] and result.info["hidden"] == []
    assert (result.estimate, result.std_error) == (without.estimate, without.std_error)


def test_pseudocount_is_added_to_every_cell_of_the_read_table():
    # Backdoor W (3 levels) -> T, Y: with pseudocount a the table is counts(w, t, y) + a, normalised; the estimate is
    # the hand plug-in on that table; a huge pseudocount pulls the effect to 0 (a uniform table).
    graph = CausalGraph.from_text("W -> T; W -> Y; T -> Y")
    scm = _random_scm(graph, {"W": 3, "T": 2, "Y": 2}, seed=4)
    data = _coded(scm, 300, 3, {"W": (0.0, 1.0, 2.0), "T": (0.0, 1.0), "Y": (0.0, 1.0)})
    a = 2.5
    counts = np.zeros((3, 2, 2)) + a
    np.add.at(counts, (data["W"].astype(int), data["T"].astype(int), data["Y"].astype(int)), 1.0)
    p = counts / counts.sum()
    p_w = p.sum(axis=(1, 2))
    e_y = p[:, :, 1] / p.sum(axis=2)  # E[Y | w, t]
    by_hand = float(p_w @ (e_y[:, 1] - e_y[:, 0]))
    result = id_effect(data, graph, "T", "Y", pseudocount=a, n_bootstrap=10)
    assert result.estimate == pytest.approx(by_hand, abs=1e-12) and result.info["pseudocount"] == a
    plain = id_effect(data, graph, "T", "Y", n_bootstrap=10)
    assert plain.estimate != pytest.approx(by_hand, abs=1e-6)
    assert abs(id_effect(data, graph, "T", "Y", pseudocount=1e9, n_bootstrap=10).estimate) < 1e-6


def test_same_seed_same_result_other_seed_same_estimate():
    scm = _random_scm(NAPKIN, {v: 2 for v in NAPKIN.nodes}, seed=8)
    data = _coded(scm, 2000, 0, {v: (0.0, 1.0) for v in ("W1", "W2", "X", "Y")})
    first = id_effect(data, NAPKIN, "X", "Y", n_bootstrap=25, seed=3)
    second = id_effect(data, NAPKIN, "X", "Y", n_bootstrap=25, seed=3)
    other = id_effect(data, NAPKIN, "X", "Y", n_bootstrap=25, seed=4)
    assert (first.estimate, first.std_error, first.ci_low) == (second.estimate, second.std_error, second.ci_low)
    assert other.estimate == first.estimate and other.std_error != first.std_error and first.info["seed"] == 3


def test_a_contrast_level_missing_from_a_bootstrap_draw_is_redrawn_and_counted():
    # T -> Y only (formula P(Y | T)); T = 1 in 2 rows of 300: about 13 % of the draws lose it and are redrawn.
    rng = np.random.default_rng(0)
    t = np.zeros(300)
    t[:2] = 1.0
    y = (rng.random(300) < 0.4).astype(float)
    y[:2] = 1.0
    result = id_effect({"T": t, "Y": y}, CausalGraph.from_text("T -> Y"), "T", "Y", n_bootstrap=100, seed=1)
    redrawn = int(result.info["std_error"].split(", ")[1].split()[0])
    assert result.estimate == pytest.approx(1.0 - y[2:].mean()) and 3 <= redrawn <= 40
    assert np.isfinite(result.std_error) and result.std_error > 0


def test_napkin_formula_of_frequencies_sums_to_one_without_renormalising():
    # The reviewed docstring said sampling noise makes the plug-in miss 1 (hence a renormalise=True option, since
    # removed); the napkin's ratio formula sums to 1 exactly on any joint, so the checked evaluation of a noisy
    # 300-row frequency table passes and evaluate_where_defined gives the same numbers.
    scm = _random_scm(NAPKIN, {v: 2 for v in NAPKIN.nodes}, seed=9)
    sample = scm.sample(300, seed=1)
    names = ["W1", "W2", "X", "Y"]
    counts = np.zeros((2, 2, 2, 2))
    np.add.at(counts, tuple(sample[:, NAPKIN.index(v)] for v in names), 1.0)
    joint = ProbabilityTable((counts + 0.5) / (counts + 0.5).sum(), names, {v: (0, 1) for v in names})
    estimand = identify(SemiMarkovianGraph.from_dag(NAPKIN, ["U1", "U2"]), y="Y", do="X")
    plain = estimand.evaluate(joint).values
    np.testing.assert_allclose(estimand.evaluate_where_defined(joint), plain, atol=1e-14)


def test_a_formula_that_sums_far_from_one_is_refused_and_where_defined_does_not_rescale():
    # A formula P(y|x)^2 (no ID output; built by hand) sums to 0.5 and 0.82 over y: evaluate refuses with the worst
    # sum; evaluate_where_defined returns the raw values (it checks nothing, and rescales nothing).
    graph = SemiMarkovianGraph(CausalGraph.from_text("X -> Y"))
    term = _Term(frozenset({"Y"}), frozenset({"X"}))
    estimand = Estimand(_Product((term, term)), ("Y",), ("X",), graph)
    joint = ProbabilityTable(np.array([[0.25, 0.25], [0.45, 0.05]]), ["X", "Y"], {"X": (0, 1), "Y": (0, 1)})
    with pytest.raises(ValueError, match=r"does not sum to 1 over Y \(worst sum 0\.5\)"):
        estimand.evaluate(joint)
    raw = estimand.evaluate_where_defined(joint)
    np.testing.assert_allclose(raw, [[0.25, 0.25], [0.81, 0.01]], atol=1e-12)


def test_refusals_name_the_argument_or_column():
    graph = CausalGraph.from_text("W -> T; W -> Y; T -> Y")
    scm = _random_scm(graph, {"W": 2, "T": 3, "Y": 2}, seed=5)
    data = _coded(scm, 500, 0, {"W": (0.0, 1.0), "T": (2.0, 3.0, 4.0), "Y": (0.0, 1.0)})
    with pytest.raises(ValueError, match=r"'contrast'.*holds 0.*\[2\.0, 3\.0, 4\.0\]"):
        id_effect(data, graph, "T", "Y")  # three levels, none 0: the default (0, 1) is refused by name
    assert id_effect(data, graph, "T", "Y", contrast=(2, 4), n_bootstrap=10).contrast == (2.0, 4.0)
    with pytest.raises(ValueError, match="column 'Y' takes 500 distinct values, more than max_levels=20"):
        id_effect(dict(data, Y=np.arange(500.0)), graph, "T", "Y")
    with pytest.raises(ValueError, match="'max_levels'"):
        id_effect(data, graph, "T", "Y", max_levels=1)
    with pytest.raises(ValueError, match="'treatment' argument of id_effect"):
        id_effect(data, graph, "Q", "Y")
    with pytest.raises(ValueError, match="constant"):
        id_effect(dict(data, T=np.full(500, 2.0)), graph, "T", "Y")
    with pytest.raises(NonIdentifiableError, match="hedge"):
        id_effect({"T": data["T"], "Y": data["Y"]}, CausalGraph.from_text("U -> T; U -> Y; T -> Y"), "T", "Y")


def test_cli_id_reads_codes_contrast_and_refuses_by_flag(tmp_path):
    graph_text = "U -> T; U -> Y; T -> M; M -> Y"
    scm = _random_scm(CausalGraph.from_text(graph_text), {"U": 2, "T": 2, "M": 2, "Y": 2}, seed=12)
    data = _coded(scm, 2000, 0, {"T": (2.0, 5.0), "M": (0.0, 1.0), "Y": (-1.0, 0.5)})
    rows = np.column_stack([data["T"], data["M"], data["Y"]])
    (tmp_path / "d.csv").write_text("T,M,Y\n" + "\n".join(",".join(f"{v:g}" for v in r) for r in rows) + "\n")
    base = ["effect", tmp_path / "d.csv", "--graph", graph_text, "--treatment", "T", "--outcome", "Y", "--id"]
    expected = id_effect(data, CausalGraph.from_text(graph_text), "T", "Y", contrast=(5.0, 2.0), seed=4)
    out = tmp_path / "e.json"
    result = invoke([*base, "--contrast", "5,2", "--seed", "4", "--out", out])
    assert result.exit_code == 0, result.output
    assert f"{expected.estimate:.4g}" in result.output and "do(T=5)" in result.output
    refused(invoke([*base, "--contrast", "2,3"]), "'contrast'", "never takes")
    refused(invoke([*base, "--pseudocount", "-1"]), "pseudocount")
    refused(invoke([*base, "--ida"]), "--id cannot be combined")
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", "U -> T; U -> Y; T -> Y; M -> Y", "--treatment", "T",
                    "--outcome", "Y", "--id"]), "not identifiable")


# ------------------------------------------------------------------------------------------------ defects
def _rare_third_level(n_rare_rows):
    """W -> T, W -> Y, T -> Y; T in {0, 1} plus a rare third level 2 (the first rows; W of those rows alternating)."""
    rng = np.random.default_rng(0)
    n = 3000
    w = rng.integers(0, 2, n).astype(float)
    t = (rng.random(n) < 0.3 + 0.4 * w).astype(float)
    t[:n_rare_rows] = 2.0
    w[:n_rare_rows] = np.arange(n_rare_rows) % 2 if n_rare_rows > 1 else 0.0
    y = (rng.random(n) < 0.2 + 0.3 * np.minimum(t, 1.0) + 0.3 * w).astype(float)
    return {"W": w, "T": t, "Y": y}


def test_defect_treatment_level_outside_the_contrast_blocks_the_estimate():
    # DEFECT. Input: backdoor graph W -> T, W -> Y, T -> Y; 3,000 rows, T in {0, 1} except 1 row with T = 2 (W = 0);
    # contrast=(0, 1). Every (W, T) cell of the contrast is populated and sum_w P(w) E[Y | w, t] by hand is 0.3266.
    # What happens: ValueError "the formula ... divides by a probability that is zero ... P(T, W) is zero at W=1, T=2"
    # -- Estimand.evaluate checks positivity for every treatment level, also the one the contrast never uses.
    # Should: evaluate P(y | do(t)) only at the contrast's two levels and return the hand plug-in.
    data = _rare_third_level(1)
    graph = CausalGraph.from_text("W -> T; W -> Y; T -> Y")
    by_hand = _backdoor(data, "T", "Y", ("W",), 1.0) - _backdoor(data, "T", "Y", ("W",), 0.0)
    result = id_effect(data, graph, "T", "Y", contrast=(0, 1), n_bootstrap=20)
    assert result.estimate == pytest.approx(by_hand, abs=1e-12)


def test_defect_treatment_level_outside_the_contrast_blocks_the_standard_error():
    # DEFECT. Input: as above but 2 rows with T = 2 (one at W = 0, one at W = 1): the point estimate is computed, yet
    # about 60 % of the bootstrap draws lose a (T = 2, W) cell. What happens: ValueError "51 bootstrap draws left a
    # cell the formula divides by empty; the table is too sparse for a standard error" although no draw lacks a
    # cell of the contrast (0, 1). Should: a finite standard error (the data without the 2 rows give 0.0156).
    data = _rare_third_level(2)
    graph = CausalGraph.from_text("W -> T; W -> Y; T -> Y")
    result = id_effect(data, graph, "T", "Y", contrast=(0, 1), n_bootstrap=50)
    assert np.isfinite(result.std_error) and 0.005 < result.std_error < 0.05


@pytest.mark.parametrize("text", ["W1 -> W2; W2 -> T; W1 -> Y; T -> Y", "Z -> T; W -> T; W -> Y; T -> Y"])
def test_defect_formula_with_extra_pretreatment_variables_agrees_with_no_adjustment_plugin(text):
    # DEFECT (finite-sample estimator). Input: graphs with no hidden node at all, identified by adjustment:
    # W1 -> W2 -> T, W1 -> Y, T -> Y (W2 a 90 % copy of W1), and Z -> T, W -> T, W -> Y, T -> Y (Z an instrument).
    # What happens: ID's line 3 makes W2 (Z) a treatment and averages over its marginal, so the formula is
    # sum_{W2} P(W2) sum_{W1} P(W1) P(Y|W1,W2,T): product weights P(w1) P(w2) of dependent variables on cells
    # (w1 != w2) that are rare, and it divides by every (w1, w2, t) cell. On the same rows the estimate equals none of
    # the adjustment plug-ins ({W1}, {W2}, {W1, W2}); over 100 replications of 1,000 rows its RMSE was 0.061 against
    # 0.036 for {W1} and 0.052 for {W1, W2}, and with a 97 % copy it refused half the data sets ("divides by a
    # probability that is zero") where the {W1} plug-in was always defined.
    # Should: on a graph where adjustment identifies the effect, agree with an adjustment plug-in on the same
    # frequencies (as it does for W -> T, W -> Y, T -> Y and for the front door).
    graph = CausalGraph.from_text(text)
    first, second = ("W1", "W2") if "W1" in text else ("W", "Z")
    rng = np.random.default_rng(1)
    n = 1000
    a = (rng.random(n) < 0.5).astype(float)
    b = np.where(rng.random(n) < 0.9, a, 1 - a) if first == "W1" else (rng.random(n) < 0.5).astype(float)
    driver = b if first == "W1" else np.clip(a + b, 0, 1)
    t = (rng.random(n) < 0.1 + 0.8 * driver).astype(float)
    y = (rng.random(n) < 0.1 + 0.3 * t + 0.5 * a).astype(float)
    data = {first: a, second: b, "T": t, "Y": y}
    result = id_effect(data, graph, "T", "Y", n_bootstrap=10)
    plugins = [_backdoor(data, "T", "Y", s, 1.0) - _backdoor(data, "T", "Y", s, 0.0)
               for s in ((first,), (second,), (first, second)) if s != ("Z",)]
    assert any(result.estimate == pytest.approx(p, abs=1e-9) for p in plugins), (result.estimate, plugins)


def test_defect_table_size_overflow_is_a_bare_numpy_error():
    # DEFECT. Input: backdoor with 15 covariates of 20 levels each (max_levels=20 respected per column), 400 rows.
    # What happens: ValueError "invalid dims: array size defined by dims is larger than the maximum possible size"
    # from np.ravel_multi_index (20**15 * 4 cells overflow int64) -- no id_effect, no column, no way out named.
    # Should: a refusal by id_effect naming the size of the frequency table (or the variables), or a sparse table.
    rng = np.random.default_rng(0)
    k, n = 15, 400
    data = {f"W{i}": rng.integers(0, 20, n).astype(float) for i in range(k)}
    data.update(T=rng.integers(0, 2, n).astype(float), Y=rng.integers(0, 2, n).astype(float))
    graph = CausalGraph.from_text("; ".join(f"W{i} -> T; W{i} -> Y" for i in range(k)) + "; T -> Y")
    with pytest.raises(ValueError, match="id_effect"):
        id_effect(data, graph, "T", "Y", n_bootstrap=2)


def test_defect_dense_table_memory_blow_up_with_few_rows():
    # DEFECT. Input: backdoor with 10 covariates of 6 levels, 2,000 rows (so at most 2,000 non-empty cells).
    # What happens: id_effect allocates the dense table of 6**10 * 4 = 242 million cells (1.8 GiB per array, several
    # arrays per evaluation and per bootstrap draw); under a 1.5 GiB address-space limit it dies with a bare
    # MemoryError; unlimited, 9 covariates already took 19 s just to reach its positivity refusal.
    # Should: refuse quickly by name (the table is far sparser than the rows can fill) or count only seen cells.
    script = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))
        import numpy as np
        from latentscm.effects import id_effect
        from latentscm.graph import CausalGraph
        rng = np.random.default_rng(0)
        k, n = 10, 2000
        data = {f"W{i}": rng.integers(0, 6, n).astype(float) for i in range(k)}
        data.update(T=rng.integers(0, 2, n).astype(float), Y=rng.integers(0, 2, n).astype(float))
        graph = CausalGraph.from_text("; ".join(f"W{i} -> T; W{i} -> Y" for i in range(k)) + "; T -> Y")
        try:
            id_effect(data, graph, "T", "Y", n_bootstrap=2)
            print("RESULT")
        except Exception as error:
            print(type(error).__name__, str(error)[:200])
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    line = run.stdout.strip()
    assert line == "RESULT" or (line.startswith("ValueError") and "id_effect" in line), (line, run.stderr[-500:])


def _napkin_csv(tmp_path):
    scm = _random_scm(NAPKIN, {v: 2 for v in NAPKIN.nodes}, seed=13)
    sample = scm.sample(1500, seed=0)
    columns = ["W1", "W2", "X", "Y"]
    rows = sample[:, [NAPKIN.index(v) for v in columns]]
    (tmp_path / "d.csv").write_text(",".join(columns) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return ["effect", tmp_path / "d.csv", "--graph", "W1 -> W2; W2 -> X; X -> Y; U1 -> W1; U1 -> Y; U2 -> W1; "
            "U2 -> X", "--treatment", "X", "--outcome", "Y", "--id"]


@pytest.mark.parametrize("flag", [["--learner", "forest"], ["--folds", "3"]])
def test_defect_cli_id_silently_ignores_estimating_flags(tmp_path, flag):
    # DEFECT. Input: latentscm effect d.csv --graph <napkin> --treatment X --outcome Y --id --learner forest
    # (or --folds 3). What happens: exit 0, the same estimate as without the flag (id_effect takes no learner and no
    # folds; --id refuses --method, --adjustment, --covariates, --ida, --refute, and --identify refuses --learner).
    # Should: refuse with exit 2 naming the flag, like the other estimating flags --id cannot use.
    refused(invoke([*_napkin_csv(tmp_path), *flag]), flag[0])


def test_defect_cli_world_silently_ignores_pseudocount():
    # DEFECT. Input: latentscm effect --world flow --treatment water_height --outcome flow --samples 300
    # --pseudocount 1. What happens: exit 0, a dml estimate; --pseudocount is dropped (the --world branch refuses
    # --id but returns before the check "--pseudocount needs --id"). Should: refuse naming --pseudocount.
    refused(invoke(["effect", "--world", "flow", "--treatment", "water_height", "--outcome", "flow", "--samples",
                    "300", "--pseudocount", "1"]), "--pseudocount")


def test_defect_cli_max_levels_advice_names_an_option_the_command_lacks(tmp_path):
    # DEFECT (message). Input: latentscm effect d.csv --graph "W -> T; W -> Y; T -> Y" ... --id with a 25-level W.
    # What happens: "column 'W' takes 25 distinct values, more than max_levels=20; ... (or raise max_levels)", but the
    # command has no --max-levels ("No such option: --max-levels"). Should: offer the flag, or not advise it.
    rng = np.random.default_rng(3)
    w, t, y = rng.integers(0, 25, 600), rng.integers(0, 2, 600), rng.integers(0, 2, 600)
    (tmp_path / "d.csv").write_text("W,T,Y\n" + "\n".join(f"{a},{b},{c}" for a, b, c in zip(w, t, y)) + "\n")
    result = invoke(["effect", tmp_path / "d.csv", "--graph", "W -> T; W -> Y; T -> Y", "--treatment", "T",
                     "--outcome", "Y", "--id"])
    refused(result, "column 'W' takes 25 distinct values")
    # Resolved by adding the option: the advice names it, and it works.
    assert "--max-levels" in result.output, result.output
    wider = invoke(["effect", tmp_path / "d.csv", "--graph", "W -> T; W -> Y; T -> Y", "--treatment", "T",
                    "--outcome", "Y", "--id", "--max-levels", "30"])
    assert wider.exit_code == 0 and "by the ID algorithm's formula" in wider.output, wider.output
