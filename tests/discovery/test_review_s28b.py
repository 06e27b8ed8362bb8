"""Review s28b: PCMCI+ link assumptions (lag-0 omissions, integer lags) and the CLI link-assumptions reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentscm.cli.discover_timeseries import read_link_assumptions, run_timeseries_discovery
from latentscm.discovery.timeseries.pcmci_plus import _link_marks, pcmci_plus

NAMES = ["X0", "X1", "X2"]


def _series(seed: int) -> np.ndarray:
    """(500, 3) series with a strong contemporaneous X2 -> X1 and a lagged X0 -> X1."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((500, 3))
    x[:, 1] += 0.9 * x[:, 2]
    x[1:, 1] += 0.8 * x[:-1, 0]
    return x


def _write(tmp_path: Path, links: list) -> Path:
    path = tmp_path / "links.json"
    path.write_text(json.dumps({"links": links}), encoding="utf-8")
    return path


def test_lag0_pair_omitted_by_a_listed_target_is_forbidden() -> None:
    # X1 lists one lagged cause: every lag-0 link into X1 is forbidden, though X0 and X2 are absent targets
    marks = _link_marks({1: [(0, -1)]}, 3, 0, 2, "pcmci_plus")
    assert marks[1] == {(0, 1): "-?>"}
    assert (1, 0) not in marks[0] and (1, 0) not in marks[2]
    assert marks[0][(2, 0)] == "o?o"  # a pair of two absent targets is untouched
    graph = pcmci_plus(_series(0), tau_max=2, link_assumptions={1: [(0, -1)]})
    assert graph.graph[0, 2, 1] == 0 and graph.graph[0, 1, 2] == 0
    assert graph.graph[1, 0, 1] == 1


def test_lag0_pair_listed_by_one_end_is_still_mirrored() -> None:
    marks = _link_marks({1: {(0, 0): "-->"}}, 3, 0, 1, "pcmci_plus")
    assert marks[0][(1, 0)] == "<--"
    marks = _link_marks({0: [(1, 0)], 1: [(0, -1)]}, 2, 0, 1, "pcmci_plus")
    assert marks[1] == {(0, 1): "-?>", (0, 0): "o?o"}


def test_cli_file_naming_an_effect_forbids_its_lag0_links(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"cause": "X0", "effect": "X1", "lag": 1}])
    graph = run_timeseries_discovery(_series(1), NAMES, method="pcmci_plus", tau_max=2, alpha=0.01, ci="parcorr",
                                     link_assumptions=path)
    assert graph.graph[0, 2, 1] == 0 and graph.graph[0, 1, 2] == 0


@pytest.mark.parametrize("assumptions", [{1: [(0, -1.7)]}, {1: [(0, "-1")]}, {1: {(0, -1.5): "-->"}}])
def test_non_integer_lags_are_refused(assumptions: dict) -> None:
    with pytest.raises(ValueError, match="link_assumptions.*pairs of integers"):
        pcmci_plus(_series(2), tau_max=2, link_assumptions=assumptions)


@pytest.mark.parametrize("entry", [{"cause": ["X0"], "effect": "X1", "lag": 1},
                                   {"cause": "X0", "effect": {"name": "X1"}, "lag": 1}])
def test_cli_reader_refuses_non_string_names(tmp_path: Path, entry: dict) -> None:
    path = _write(tmp_path, [entry])
    with pytest.raises(ValueError, match=r"--link-assumptions .*links\[0\].*unknown (cause|effect)"):
        read_link_assumptions(path, NAMES, method="pcmci_plus", tau_min=0, tau_max=2)


def test_cli_tau_min_above_tau_max_with_a_file_names_tau_min(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"cause": "X0", "effect": "X1", "lag": 1}])
    with pytest.raises(ValueError, match="--tau-min 3 is larger than --tau-max 2"):
        run_timeseries_discovery(_series(3), NAMES, method="pcmci_plus", tau_max=2, alpha=0.01, ci="parcorr",
                                 tau_min=3, link_assumptions=path)
