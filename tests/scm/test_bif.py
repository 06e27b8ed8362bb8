"""BIF reader/writer, the shipped networks, and discovery on data sampled from them."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from latentscm.discovery import pc
from latentscm.graph import CausalGraph
from latentscm.metrics.graphs import compare_graphs, dag_to_cpdag
from latentscm.scm.bif import format_bif, load_network, network_names, parse_bif, read_bif, write_bif
from latentscm.scm.discrete import DiscreteSCM


def _same_model(a: DiscreteSCM, b: DiscreteSCM) -> bool:
    return (a.nodes == b.nodes and set(a.graph.edges) == set(b.graph.edges)
            and {k: tuple(map(str, v)) for k, v in a.states.items()} == b.states
            and all(np.array_equal(a.cpts[n], b.cpts[n]) for n in a.nodes))


@pytest.mark.parametrize("name", network_names())
def test_shipped_networks_round_trip_through_a_file(name, tmp_path):
    model = load_network(name)
    path = write_bif(model, tmp_path / "sub" / f"{name}.bif", network_name=name)
    assert _same_model(model, read_bif(path))
    assert sorted(p.name for p in path.parent.iterdir()) == [f"{name}.bif"]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # the usual mode, not mkstemp's 0600


def test_random_model_round_trips_bit_for_bit():
    rng = np.random.default_rng(0)
    graph = CausalGraph([("a", "c"), ("b", "c"), ("c", "d"), ("a", "d")], nodes=["a", "b", "c", "d"])
    cards = {"a": 3, "b": 2, "c": 4, "d": 2}
    cpts = {n: rng.dirichlet(np.ones(cards[n]), size=tuple(cards[p] for p in graph.parents(n)))
            for n in graph.nodes}
    model = DiscreteSCM(graph, cpts, {"a": ("lo", "mid", "hi"), "b": 2, "c": 4, "d": ("x-1", "y.2")})
    again = parse_bif(format_bif(model))
    assert _same_model(model, again)


def test_published_probabilities_and_surgery():
    asia = load_network("asia")
    assert asia.probability("lung", {"smoke": "yes"}).values[0] == pytest.approx(0.1)
    # P(dysp = yes | do(smoke = yes)) by hand: P(bronc)=0.6, P(either)=1 - 0.9 (1 - 0.0104).
    either = 1 - 0.9 * (1 - (0.01 * 0.05 + 0.99 * 0.01))
    dysp = 0.6 * (either * 0.9 + (1 - either) * 0.8) + 0.4 * (either * 0.7 + (1 - either) * 0.1)
    assert asia.interventional("dysp", {"smoke": "yes"}).values[0] == pytest.approx(dysp, abs=1e-12)
    # Surgery cuts smoke's parents: do(lung) leaves smoke at its prior.
    assert asia.interventional("smoke", {"lung": "yes"}).values[0] == pytest.approx(0.5)
    assert asia.probability("smoke", {"lung": "yes"}).values[0] > 0.9
    cancer = load_network("cancer")
    expected = 0.9 * 0.3 * 0.03 + 0.1 * 0.3 * 0.05 + 0.9 * 0.7 * 0.001 + 0.1 * 0.7 * 0.02
    assert cancer.probability("Cancer").values[0] == pytest.approx(expected, abs=1e-12)


_SMALL = """
// comment
network test { property "made by hand"; }
variable a { type discrete [ 2 ] { a0, a1 }; property position = (1, 2); }
variable b { type discrete [ 3 ] { b0, b1, b2 }; }
variable c { type discrete [ 2 ] { c0, c1 }; }
probability ( a ) { table 0.25 0.75; }
probability ( b ) { table 0.2, 0.3, 0.5; }
/* parents declared in the reverse of node order */
probability ( c | b, a ) {
  (b0, a0) 0.1, 0.9;
  (b2, a1) 0.6, 0.4;
  default 0.5, 0.5;
}
"""


def test_parser_handles_comments_properties_default_rows_and_parent_order():
    model = parse_bif(_SMALL)
    assert model.graph.parents("c") == ("a", "b")
    cpt = model.cpts["c"]  # axes (a, b, c)
    assert cpt[0, 0].tolist() == [0.1, 0.9] and cpt[1, 2].tolist() == [0.6, 0.4]
    assert cpt[1, 0].tolist() == [0.5, 0.5] and model.cpts["a"].tolist() == [0.25, 0.75]


def test_table_form_for_a_conditional():
    # Child state slowest, last parent fastest: values for c=c0 over (a, b), then for c=c1.
    p0 = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    values = [*p0.ravel().tolist(), *(1 - p0).ravel().tolist()]
    text = _SMALL.split("/*")[0] + "probability ( c | a, b ) { table " + ", ".join(map(str, values)) + "; }"
    model = parse_bif(text)
    assert np.allclose(model.cpts["c"][..., 0], p0)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("probability ( a ) { table 0.25 0.75; }", "probability ( a | c ) { (c0) 0.2, 0.8; "
                         "(c1) 0.5, 0.5; }"), r"cycle \(a -> c -> a\)|cycle \(c -> a -> c\)"),
    (lambda t: t.replace("0.6, 0.4", "0.6, 0.6"), r"'c' given b=b2, a=a1 sum to 1\.2"),
    (lambda t: t.replace("(b2, a1)", "(b9, a1)"), r"unknown state 'b9' of parent 'b'"),
    (lambda t: t.replace("default 0.5, 0.5;", ""), r"no row for b=b0, a=a1"),
    (lambda t: t.replace("probability ( b ) {", "probability ( e ) {"), r"undeclared variable 'e'"),
    (lambda t: t.replace("table 0.2, 0.3, 0.5", "table 0.2, 0.8"), r"table of 'b' has 2 entries; 3"),
    (lambda t: t.replace("0.1, 0.9", "-0.1, 1.1"), r"negative .* given b=b0, a=a0|negative .*'c'"),
    (lambda t: t.replace("[ 3 ]", "[ 4 ]"), r"declares \[4\] states but lists 3"),
    (lambda t: t.replace("probability ( b ) { table 0.2, 0.3, 0.5; }", ""), r"no probability block .*'b'"),
    (lambda t: t + "variable a { type discrete [ 2 ] { x, y }; }", r"'a' is declared twice"),
])
def test_bad_files_give_errors_naming_the_variable(edit, message):
    with pytest.raises(ValueError, match=message):
        parse_bif(edit(_SMALL), source="bad.bif")


def test_rounded_rows_are_renormalised_and_writer_refuses_bad_labels(tmp_path):
    model = parse_bif(_SMALL.replace("0.2, 0.3, 0.5", "0.33333, 0.33333, 0.33333"))
    assert model.cpts["b"].sum() == pytest.approx(1.0, abs=1e-15)
    odd = DiscreteSCM(CausalGraph([], nodes=["x"]), {"x": [0.5, 0.5]}, {"x": ("a b", "c")})
    with pytest.raises(ValueError, match="state of variable 'x'"):
        write_bif(odd, tmp_path / "x.bif")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="No such BIF file"):
        read_bif(tmp_path / "missing.bif")
    (tmp_path / "binary.bif").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match="binary.bif is not a BIF file: it is not UTF-8 text"):
        read_bif(tmp_path / "binary.bif")
    with pytest.raises(ValueError, match="Unknown network"):
        load_network("alarm")


@pytest.mark.parametrize("name, n", [("asia", 5000), ("cancer", 5000)])
def test_pc_chisq_on_network_samples_matches_causal_learn(name, n):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "discovery"))
    from conftest import causallearn_cpdag

    model = load_network(name)
    data = model.sample(n, seed=1)
    ours = pc(data, ci_test="chisq", node_names=model.nodes)
    reference = causallearn_cpdag(data.astype(float), 0.05, "chisq")
    assert np.array_equal(ours.skeleton, ((reference + reference.T) > 0).astype(int))
    scores = compare_graphs(dag_to_cpdag(model.graph.adjacency), ours.adjacency)
    assert scores["skeleton.precision"] == 1.0 and scores["skeleton.recall"] >= 0.75
    # Text labels (what a user's CSV holds) give the same graph as state indices.
    labels = {v: np.asarray(model.states[v], dtype=str)[data[:, k]] for k, v in enumerate(model.nodes)}
    assert np.array_equal(pc(labels, ci_test="chisq").adjacency, ours.adjacency)


def test_sampling_matches_the_joint():
    model = load_network("cancer")
    data = model.sample(40000, seed=3)
    joint = model.observed(["Smoker", "Cancer"]).values
    counts = np.zeros((2, 2))
    for i, j in itertools.product(range(2), range(2)):
        counts[i, j] = np.mean((data[:, 1] == i) & (data[:, 2] == j))
    assert np.allclose(counts, joint, atol=0.01)


@pytest.mark.parametrize(("rows", "line", "reason"), [
    ("  (y) 0.5, 0.5;\n  (n) 0.7, 0.7;\n", 7, "given a=n sum to 1.4"),
    ("  (y) 0.5, 0.5;\n  (n) -0.2, 1.2;\n", 7, "negative or non-finite probability given a=n"),
    ("  (y) 0.9, 0.9;\n  (n) 0.5, 0.5;\n", 6, "given a=y sum to 1.8"),
    ("  (y) 0.5, 0.5;\n  default 0.3, 0.3;\n", 7, "given a=n sum to 0.6"),
])
def test_a_bad_row_is_refused_at_its_own_line(rows, line, reason):
    from latentscm.scm import parse_bif

    text = ("network n {}\nvariable a { type discrete [ 2 ] { y, n }; }\nvariable b { type discrete [ 2 ] { y, n }; }\n"
            "probability ( a ) { table 0.5, 0.5; }\nprobability ( b | a ) {\n" + rows + "}\n")
    with pytest.raises(ValueError, match=rf"BIF t\.bif, line {line}: .*{reason}"):
        parse_bif(text, source="t.bif")
