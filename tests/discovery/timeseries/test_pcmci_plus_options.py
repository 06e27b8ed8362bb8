"""PCMCI+'s ``tau_min`` and ``link_assumptions`` (Runge 2020; tigramite's documented link marks) and the CLI's
``--link-assumptions`` / ``--tau-min`` for ``discover --timeseries``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery.timeseries.pcmci_plus import LINK_MARKS, pcmci_plus


def _series(seed: int = 0, T: int = 400) -> np.ndarray:
    """(T, 4): X0 -> X1 (lag 0), X1 -(1)-> X2, X2 -> X3 (lag 0), X3 -(2)-> X0, AR(1) 0.5 each."""
    rng = np.random.default_rng(seed)
    x = np.zeros((T + 50, 4))
    e = rng.standard_normal((T + 50, 4))
    for t in range(2, T + 50):
        x[t, 0] = 0.5 * x[t - 1, 0] + 0.4 * x[t - 2, 3] + e[t, 0]
        x[t, 1] = 0.5 * x[t - 1, 1] + 0.6 * x[t, 0] + e[t, 1]
        x[t, 2] = 0.5 * x[t - 1, 2] + 0.5 * x[t - 1, 1] + e[t, 2]
        x[t, 3] = 0.5 * x[t - 1, 3] + 0.6 * x[t, 2] + e[t, 3]
    return x[50:]


def _full(d: int = 4, tau_max: int = 2) -> dict:
    """tigramite's default marks: every lagged link ``-?>``, every lag-0 pair ``o?o``."""
    return {j: {**{(i, 0): "o?o" for i in range(d) if i != j},
                **{(i, -tau): "-?>" for i in range(d) for tau in range(1, tau_max + 1)}} for j in range(d)}


def test_tau_min_excludes_lower_lags():
    data = _series()
    plain = pcmci_plus(data, tau_max=2, alpha=0.01)
    assert plain.graph[0].any() and plain.graph[1].any()  # the data do have lag-0 and lag-1 links
    one = pcmci_plus(data, tau_max=2, alpha=0.01, tau_min=1)
    assert not one.graph[0].any() and one.graph[1].any()
    off = ~np.eye(4, dtype=bool)
    assert np.all(one.pvalues[0][off] == 1.0)  # lag 0 untested
    two = pcmci_plus(data, tau_max=2, alpha=0.01, tau_min=2)
    assert not two.graph[:2].any() and two.graph[2, 3, 0] == 1
    assert two.info["tau_min"] == 2


def test_forbidden_links_never_appear_list_and_mark_forms():
    data = _series()
    plain = pcmci_plus(data, tau_max=2, alpha=0.01)
    assert plain.graph[1, 1, 2] and plain.graph[0, 0, 1] + plain.graph[0, 1, 0]  # both links are found
    marks = _full()
    del marks[2][(1, -1)]
    del marks[1][(0, 0)], marks[0][(1, 0)]
    listed = {j: list(links) for j, links in marks.items()}
    for assumptions in (marks, listed):
        got = pcmci_plus(data, tau_max=2, alpha=0.01, link_assumptions=assumptions)
        assert got.graph[1, 1, 2] == 0 and got.graph[0, 0, 1] == 0 and got.graph[0, 1, 0] == 0
        assert got.pvalues[1, 1, 2] == 1.0  # never tested


def test_forced_links_appear_with_their_orientation():
    data = _series()
    plain = pcmci_plus(data, tau_max=2, alpha=0.01)
    assert plain.graph[1, 2, 0] == 0 and plain.graph[0, 2, 3] == 1 and plain.graph[0, 3, 2] == 0
    assert plain.graph[0, 0, 3] == 0 and plain.graph[0, 3, 0] == 0
    marks = _full()
    marks[0][(2, -1)] = "-->"  # a false lagged link
    marks[2][(3, 0)], marks[3][(2, 0)] = "-->", "<--"  # the true X2 -> X3 fixed the wrong way: X3 -> X2
    marks[3][(0, 0)], marks[0][(3, 0)] = "o-o", "o-o"  # a false adjacency, orientation left to the data
    got = pcmci_plus(data, tau_max=2, alpha=0.01, link_assumptions=marks, collider_rule="majority")
    assert got.graph[1, 2, 0] == 1 and got.pvalues[1, 2, 0] == 0.0 and np.isnan(got.scores[1, 2, 0])
    assert got.graph[0, 3, 2] == 1 and got.graph[0, 2, 3] == 0
    assert got.graph[0, 0, 3] + got.graph[0, 3, 0] >= 1
    assert got.info["link_assumptions"][3][(2, 0)] == "<--"


def test_allowed_lag0_orientation_is_applied_only_if_adjacent():
    data = _series()
    marks = _full()
    marks[1][(0, 0)], marks[0][(1, 0)] = "<?-", "-?>"  # X1 -> X0 if adjacent (the truth is X0 -> X1)
    marks[3][(1, 0)], marks[1][(3, 0)] = "-?>", "<?-"  # X1 -> X3 if adjacent (they are not)
    got = pcmci_plus(data, tau_max=2, alpha=0.01, link_assumptions=marks)
    assert got.graph[0, 1, 0] == 1 and got.graph[0, 0, 1] == 0
    assert got.graph[0, 1, 3] == 0 and got.graph[0, 3, 1] == 0


@pytest.mark.parametrize("seed", range(4))
def test_random_assumptions_are_respected(seed):
    rng = np.random.default_rng(100 + seed)
    data = _series(seed=seed, T=300)
    marks = _full()
    for j in range(4):
        for i, lag in list(marks[j]):
            if lag < 0:
                marks[j][(i, lag)] = str(rng.choice(["-?>", "-->", "gone"], p=[0.6, 0.15, 0.25]))
    for i in range(4):
        for j in range(i + 1, 4):
            mark = str(rng.choice(list(LINK_MARKS) + ["gone"]))
            marks[j][(i, 0)] = mark
            marks[i][(j, 0)] = {"-->": "<--", "<--": "-->", "-?>": "<?-", "<?-": "-?>"}.get(mark, mark)
    fixed = [(0, 1), (1, 2), (2, 3)]  # keep the fixed orientations acyclic: only i -> j with i < j
    for i in range(4):
        for j in range(4):
            if i != j and marks[j][(i, 0)] in ("-->", "-?>") and (min(i, j), max(i, j)) in fixed and i > j:
                marks[j][(i, 0)], marks[i][(j, 0)] = "o?o", "o?o"
    marks = {j: {link: m for link, m in links.items() if m != "gone"} for j, links in marks.items()}
    got = pcmci_plus(data, tau_max=2, alpha=0.01, link_assumptions=marks)
    for j in range(4):
        for i in range(4):
            for tau in range(3):
                if tau == 0 and i == j:
                    continue
                mark = marks[j].get((i, -tau))
                adjacent = got.graph[tau, i, j] or (tau == 0 and got.graph[0, j, i])
                if mark is None:
                    assert not adjacent, (i, tau, j)
                elif mark[1] == "-":
                    assert adjacent, (i, tau, j, mark)
                if tau == 0 and adjacent and mark in ("-->", "-?>"):
                    assert got.graph[0, i, j] == 1 and got.graph[0, j, i] == 0, (i, j, mark)


@pytest.mark.parametrize("kwargs, message", [
    ({"tau_min": 3}, "'tau_min' argument of pcmci_plus is 3, larger than tau_max=2"),
    ({"tau_min": -1}, "tau_min"),
    ({"link_assumptions": [(0, -1)]}, "must be a dict"),
    ({"link_assumptions": {5: [(0, -1)]}}, "names target 5"),
    ({"link_assumptions": {0: [(7, -1)]}}, "variable 7 is outside 0..3"),
    ({"link_assumptions": {0: [(1, -3)]}}, "lag -3 is outside -2..-0"),
    ({"link_assumptions": {0: [(1, 0)]}, "tau_min": 1}, "lag 0 is outside -2..-1"),
    ({"link_assumptions": {0: [(0, 0)]}}, "no contemporaneous cause of itself"),
    ({"link_assumptions": {0: {(1, -1): "<--"}}}, "mark '<--' for link (1, -1) -> 0"),
    ({"link_assumptions": {0: {(1, 0): "->"}}}, "mark '->'"),
    ({"link_assumptions": {0: {(1, 0): "-->"}, 1: {(0, 0): "-->"}}}, "inconsistent at lag 0"),
    ({"link_assumptions": {0: {(1, 0): "-->"}, 1: {(2, 0): "-->"}, 2: {(0, 0): "-->"}}}, "contemporaneous cycle"),
    ({"link_assumptions": {0: {(1, 0): "o?o"}, 1: [(0, 0)]}}, "mixes lists and mark dicts"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError) as error:
        pcmci_plus(_series(T=100), tau_max=2, **kwargs)
    assert message in str(error.value)


def _write(tmp_path, links) -> tuple[str, str]:
    names = ["a", "b", "c", "d"]
    lines = [",".join(names)] + [",".join(f"{v:.6f}" for v in row) for row in _series(T=300)]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "la.json").write_text(json.dumps({"links": links}) if not isinstance(links, str) else links)
    return str(tmp_path / "s.csv"), str(tmp_path / "la.json")


def _discover(tmp_path, links, *extra):
    csv, la = _write(tmp_path, links)
    out = tmp_path / "g.json"
    result = CliRunner().invoke(app, ["discover", "--timeseries", "--tau-max", "2", "--alpha", "0.01", csv,
                                      "--out", str(out), "--link-assumptions", la, *extra])
    return result, out


def test_cli_link_assumptions_round_trip(tmp_path):
    links = [{"cause": "c", "effect": "a", "lag": 1, "mark": "-->"},  # forced false lagged link
             {"cause": "d", "effect": "c", "lag": 0, "mark": "-->"},  # the true c -> d fixed the wrong way
             {"cause": "a", "effect": "d", "lag": 2}]
    result, out = _discover(tmp_path, links, "--method", "pcmci_plus")
    assert result.exit_code == 0, result.output
    found = {(link["cause"], link["effect"], link["lag"]) for link in json.loads(out.read_text())["links"]}
    assert ("c", "a", 1) in found and ("d", "c", 0) in found and ("c", "d", 0) not in found
    # d keeps only its listed links: no lagged self-link d -(1)-> d although d is autocorrelated
    assert ("d", "d", 1) not in found and ("a", "d", 2) not in found
    result, out = _discover(tmp_path, [{"cause": "b", "effect": "c", "lag": 2}], "--method", "pcmci", "--tau-min", "2")
    assert result.exit_code == 0, result.output
    found = {(link["cause"], link["effect"], link["lag"]) for link in json.loads(out.read_text())["links"]}
    assert all(link[2] == 2 for link in found) and not any(link[1] == "c" and link[0] != "b" for link in found)


def test_cli_tau_min_for_pcmci_plus(tmp_path):
    result, out = _discover(tmp_path, [{"cause": "a", "effect": "b", "lag": 1}], "--method", "pcmci_plus",
                            "--tau-min", "1")
    assert result.exit_code == 0, result.output
    assert all(link["lag"] >= 1 for link in json.loads(out.read_text())["links"])


@pytest.mark.parametrize("links, extra, message", [
    ([{"cause": "zz", "effect": "a", "lag": 1}], [], "links[0] {\"cause\": \"zz\""),
    ([{"cause": "zz", "effect": "a", "lag": 1}], [], "unknown cause 'zz'; the columns are a, b, c, d"),
    ([{"cause": "a", "effect": "b", "lag": 1}, {"cause": "a", "effect": "b", "lag": 5}], [], "links[1]"),
    ([{"cause": "a", "effect": "b", "lag": 5}], [], "the lag must be an integer in 0..2"),
    ([{"cause": "a", "effect": "b", "lag": "1"}], [], "the lag must be an integer"),
    ([{"cause": "a", "effect": "b", "lag": 0}], ["--tau-min", "1"], "in 1..2"),
    ([{"cause": "a", "effect": "b", "lag": 1, "mark": "o-o"}], [], "mark 'o-o' is not allowed"),
    ([{"cause": "a", "effect": "b", "lag": 0, "mark": "-->"}, {"cause": "b", "effect": "a", "lag": 0, "mark": "-->"}],
     [], "inconsistent at lag 0"),
    ([{"cause": "a", "effect": "b", "lag": 1, "wrong": 1}], [], "optionally \"mark\""),
    ("{not json", [], "cannot read a JSON file"),
    ('{"edges": []}', [], "expected an object with the keys \"links\""),
])
def test_cli_link_assumptions_errors_name_file_and_entry(tmp_path, links, extra, message):
    result, out = _discover(tmp_path, links, "--method", "pcmci_plus", *extra)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "--link-assumptions" in text and "la.json" in text and message in text, text
    assert not out.exists()


def test_cli_link_assumptions_refused_where_unused(tmp_path):
    result, _ = _discover(tmp_path, [{"cause": "a", "effect": "b", "lag": 1, "mark": "-->"}], "--method", "pcmci")
    assert result.exit_code == 2 and "mark '-->' is not allowed for --method pcmci" in " ".join(result.output.split())
    result, _ = _discover(tmp_path, [{"cause": "a", "effect": "b", "lag": 0}], "--method", "pcmci", "--tau-min", "1")
    assert result.exit_code == 2 and "in 1..2" in result.output
    result, _ = _discover(tmp_path, [{"cause": "a", "effect": "b", "lag": 1}], "--method", "granger")
    assert result.exit_code == 2 and "--link-assumptions is used by --method pcmci and pcmci_plus" in result.output
