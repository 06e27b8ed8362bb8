"""``"no_causes"`` in a ``--link-assumptions`` file: variables with no cause at any lag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentscm.cli.discover_timeseries import read_link_assumptions, run_timeseries_discovery

NAMES = ["X0", "X1", "X2"]


def _series(seed: int) -> np.ndarray:
    """(500, 3): X1 drives X0 at lag 1 and X2 at lag 0; X0 is autocorrelated."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((500, 3))
    for t in range(1, 500):
        x[t, 0] += 0.6 * x[t - 1, 0] + 0.8 * x[t - 1, 1]
    x[:, 2] += 0.9 * x[:, 1]
    return x


def _write(tmp_path: Path, content: dict) -> Path:
    path = tmp_path / "links.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize("method", ["pcmci", "pcmci_plus"])
def test_no_causes_forbids_every_link_into_the_variable(tmp_path: Path, method: str) -> None:
    series = _series(0)
    free = run_timeseries_discovery(series, NAMES, method=method, tau_max=2, alpha=0.01, ci="parcorr").adjacency()
    assert free[1, 1, 0] and free[1, 0, 0]  # X1(t-1) -> X0 and X0's own past are found
    path = _write(tmp_path, {"no_causes": ["X0"]})
    graph = run_timeseries_discovery(series, NAMES, method=method, tau_max=2, alpha=0.01, ci="parcorr",
                                     link_assumptions=path).adjacency()
    assert not graph[:, :, 0].any()  # nothing into X0, its own past included
    np.testing.assert_array_equal(graph[1:, :, 1:], free[1:, :, 1:])


def test_no_causes_keeps_contemporaneous_links_out_of_the_variable(tmp_path: Path) -> None:
    path = _write(tmp_path, {"no_causes": ["X1"]})
    assumptions = read_link_assumptions(path, NAMES, method="pcmci_plus", tau_min=0, tau_max=2)
    assert assumptions == {1: {(0, 0): "<?-", (2, 0): "<?-"}}
    graph = run_timeseries_discovery(_series(1), NAMES, method="pcmci_plus", tau_max=2, alpha=0.01, ci="parcorr",
                                     link_assumptions=path)
    assert graph.graph[0, 1, 2] == 1 and graph.graph[0, 2, 1] == 0  # X1 -> X2 at lag 0, oriented by the rule


def test_no_causes_with_links(tmp_path: Path) -> None:
    path = _write(tmp_path, {"no_causes": ["X1"], "links": [{"cause": "X1", "effect": "X0", "lag": 1}]})
    assert read_link_assumptions(path, NAMES, method="pcmci", tau_min=0, tau_max=2) == {1: [], 0: [(1, -1)]}
    # X0 lists its causes (X1 at lag 1 only), so no lag-0 link X1 -> X0 is opened; X2 is left open
    assert read_link_assumptions(path, NAMES, method="pcmci_plus", tau_min=0, tau_max=2) == {
        1: {(2, 0): "<?-"}, 0: {(1, -1): "-?>"}}
    path = _write(tmp_path, {"no_causes": ["X1"], "links": [{"cause": "X1", "effect": "X0", "lag": 0}]})
    assert read_link_assumptions(path, NAMES, method="pcmci_plus", tau_min=0, tau_max=2) == {
        1: {(2, 0): "<?-"}, 0: {(1, 0): "-?>"}}


@pytest.mark.parametrize("content, message", [
    ({"no_causes": ["X9"]}, r"no_causes\[0\]: unknown column 'X9'"),
    ({"no_causes": ["X1", "X1"]}, r"no_causes\[1\]: 'X1' is named twice"),
    ({"no_causes": "X1"}, r"\"no_causes\" must be a list"),
    ({"links": {"cause": "X1"}}, r"\"links\" must be a list"),
    ({}, r"expected an object with the keys"),
    ({"no_causes": [], "other": 1}, r"expected an object with the keys"),
    ({"no_causes": ["X0"], "links": [{"cause": "X1", "effect": "X0", "lag": 1}]},
     r"links\[0\].*'X0' is listed in \"no_causes\""),
    ({"no_causes": ["X0"], "links": [{"cause": "X0", "effect": "X1", "lag": 0, "mark": "o?o"}]},
     r"links\[0\].*mark 'o\?o' is not allowed .* whose cause 'X0' is in \"no_causes\""),
])
def test_no_causes_bad_files_name_the_entry(tmp_path: Path, content: dict, message: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(ValueError, match=rf"--link-assumptions '.*links.json'.*{message}"):
        read_link_assumptions(path, NAMES, method="pcmci_plus", tau_min=0, tau_max=2)
