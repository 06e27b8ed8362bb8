"""Shared data helpers for the discovery tests (small, seeded)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from latentscm.scm import random_scm
from latentscm.testing import cpdag_from_causallearn

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the support module mixed_data.py
    sys.path.insert(0, str(HERE))


def scm_data(n_nodes: int, n: int, *, edge_prob: float, mechanism: str,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples (n, d) in the graph's node order and the true adjacency (d, d)."""
    scm = random_scm(n_nodes, edge_prob=edge_prob, mechanism=mechanism, seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    data = np.stack([sample[name] for name in scm.graph.nodes], axis=1)
    return data, scm.graph.adjacency


def causallearn_cpdag(data: np.ndarray, alpha: float, method: str = "fisherz", **options) -> np.ndarray:
    """causal-learn's PC (stable, default orientation rules) in our adjacency convention."""
    pc_module = pytest.importorskip("causallearn.search.ConstraintBased.PC")
    cg = pc_module.pc(data, alpha, method, stable=True, show_progress=False, **options)
    return cpdag_from_causallearn(cg.G)


@pytest.fixture(autouse=True, scope="session")
def _single_blas_thread():
    """Kernel tests multiply many small matrices; on a shared 2-core box multi-threaded BLAS
    oversubscribes the cores and gets slower, not faster."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture
def collider_table(tmp_path):
    """A seeded collider a -> c <- b (2,000 rows): the data (2000, 3) and a CSV of it with header ``a,b,c``."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 2000))
    data = np.stack([a, b, a + b + 0.5 * rng.normal(size=2000)], 1)
    path = tmp_path / "data.csv"
    np.savetxt(path, data, delimiter=",", header="a,b,c", comments="")
    return data, path
