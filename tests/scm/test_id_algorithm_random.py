"""s25: the ID algorithm on random semi-Markovian models.

Whenever :func:`identify` returns, its estimand evaluated on the observed joint must equal
``P(y | do(x))`` computed by brute-force graph surgery (a broadcast product of every CPT but the
intervened ones, hidden confounders included, then summed out). Whenever it raises, the hedge must
have the shape the theorem promises, and an independent first-order test must show the query is
not identifiable: at a random parameter point of a model on the same graph, the gradient of
``P(y | do(x))`` must leave the row space of the Jacobian of the observed joint (so some direction
changes the query while the observed joint stays fixed to first order). The same test must find the
identified queries' gradients inside that row space.
"""

from __future__ import annotations

import itertools
import string

import numpy as np
import pytest
import torch

from latentscm.graph import CausalGraph
from latentscm.scm import DiscreteSCM, NonIdentifiableError, identify, is_backdoor_set, is_frontdoor_set
from latentscm.scm.id_algorithm import SemiMarkovianGraph

# Relative residual of the query gradient off the row space of the observed Jacobian: identified
# queries give ~1e-15, hedges ~1e-2 or more (measured in /work/bench_out/s25/id_algorithm/). Hidden
# roots need enough states: with 3, a few hedges look identified to first order (a finite-state
# artefact: e.g. v2 -> v4, v2 <-> v4 with proxies of v2's other confounders), so those get 6. An
# identified query's gradient lies in the row space for any number of states: 2 suffice there.
RESIDUAL_IDENTIFIED = 1e-8
RESIDUAL_HEDGE = 1e-4


def random_model(rng: np.random.Generator, hidden_card: int = 2):
    """A random DiscreteSCM: 3-6 observed nodes (DAG), 0-3 hidden roots with 2-3 observed children."""
    observed = [f"v{i}" for i in range(int(rng.integers(3, 7)))]
    hidden = [f"u{i}" for i in range(int(rng.integers(0, 4)))]
    order = [str(v) for v in rng.permutation(observed)]
    density = rng.uniform(0.2, 0.6)
    edges = [(a, b) for i, a in enumerate(order) for b in order[i + 1:] if rng.random() < density]
    for h in hidden:
        children = rng.choice(observed, size=min(len(observed), int(rng.integers(2, 4))), replace=False)
        edges += [(h, str(c)) for c in children]
    graph = CausalGraph(edges, nodes=hidden + observed)
    card = {n: (hidden_card if n in hidden else int(rng.integers(2, 4))) for n in graph.nodes}
    cpts = {n: rng.dirichlet(np.ones(card[n]), size=tuple(card[p] for p in graph.parents(n))) for n in graph.nodes}
    return graph, cpts, card, observed, hidden


def random_query(rng: np.random.Generator, observed: list[str]):
    shuffled = [str(v) for v in rng.permutation(observed)]
    n_x = int(rng.integers(1, 3))
    n_y = int(rng.integers(1, min(2, len(observed) - n_x) + 1))
    return shuffled[n_x:n_x + n_y], shuffled[:n_x]


def surgery(graph: CausalGraph, cpts, card, keep: list[str], cut: list[str]) -> np.ndarray:
    """``P(keep[len(cut):] | do(cut))`` with axes ``keep`` (``cut`` first): the product of every CPT
    except those of ``cut``, broadcast over all nodes, summed to ``keep``. Independent of DiscreteSCM."""
    nodes = list(graph.nodes)
    full = np.ones([card[n] for n in nodes])
    for n in nodes:
        if n in cut:
            continue
        axes = [nodes.index(p) for p in graph.parents(n)] + [nodes.index(n)]
        shape = [1] * len(nodes)
        for a in axes:
            shape[a] = card[nodes[a]]
        moved = np.transpose(cpts[n], np.argsort(axes)).reshape(shape) if axes else cpts[n]
        full = full * moved
    summed = full.sum(axis=tuple(i for i, n in enumerate(nodes) if n not in keep))
    kept = [n for n in nodes if n in keep]
    return np.transpose(summed, [kept.index(k) for k in keep])


def gradient_residual(smg: SemiMarkovianGraph, y: list[str], x: list[str], seed: int, hidden_card: int = 2,
                      given: list[str] = ()) -> float:
    """Relative norm of the part of d P(y | do(x)[, given]) / d theta outside the row space of d P(v) / d theta, at
    a random point of a softmax-parameterised model on ``smg`` (one hidden root per bidirected pair)."""
    rng = np.random.default_rng(seed)
    observed = list(smg.nodes)
    parents = {v: list(smg.directed.parents(v)) for v in observed}
    hidden = []
    for i, (a, b) in enumerate(smg.bidirected):
        hidden.append(f"_u{i}")
        parents[f"_u{i}"] = []
        parents[a].append(f"_u{i}")
        parents[b].append(f"_u{i}")
    nodes = hidden + observed
    card = {v: 2 for v in observed} | {h: hidden_card for h in hidden}
    letter = {n: string.ascii_letters[i] for i, n in enumerate(nodes)}
    shapes = [tuple(card[p] for p in parents[n]) + (card[n],) for n in nodes]
    sizes = [int(np.prod(s)) for s in shapes]
    theta = torch.tensor(rng.normal(size=sum(sizes)), dtype=torch.float64)

    def contract(flat: torch.Tensor, cut: list[str], out: list[str]) -> torch.Tensor:
        chunks = torch.split(flat, sizes)
        operands, subscripts = [], []
        for n, chunk, shape in zip(nodes, chunks, shapes):
            if n in cut:  # the intervened value is a free axis
                operands.append(torch.ones(card[n], dtype=torch.float64))
                subscripts.append(letter[n])
            else:
                operands.append(torch.softmax(chunk.reshape(shape), dim=-1))
                subscripts.append("".join(letter[p] for p in parents[n]) + letter[n])
        return torch.einsum(",".join(subscripts) + "->" + "".join(letter[n] for n in out), *operands).reshape(-1)

    jac = torch.autograd.functional.jacobian(lambda t: contract(t, [], observed), theta).numpy()
    def query(flat: torch.Tensor) -> torch.Tensor:
        joint = contract(flat, x, x + list(given) + y).reshape([card[n] for n in x + list(given) + y])
        axes = tuple(range(joint.ndim - len(y), joint.ndim))
        return (joint / joint.sum(dim=axes, keepdim=True)).reshape(-1)  # P(y | do(x), given)

    grad = torch.autograd.functional.jacobian(query, theta).numpy()
    _, singular, rows = np.linalg.svd(jac, full_matrices=False)
    basis = rows[singular > 1e-9 * singular[0]]
    off = grad - (grad @ basis.T) @ basis
    return float(np.linalg.norm(off) / np.linalg.norm(grad))


def hedge_residual(smg: SemiMarkovianGraph, y: list[str], x: list[str], seed: int, given: list[str] = ()) -> float:
    """:func:`gradient_residual` with 3-state hidden roots, and 6 when 3 states look identified."""
    residual = gradient_residual(smg, y, x, seed, hidden_card=3, given=given)
    return residual if residual > RESIDUAL_HEDGE else gradient_residual(smg, y, x, seed, hidden_card=6, given=given)


def _c_connected(smg: SemiMarkovianGraph, nodes: frozenset[str]) -> bool:
    pairs = [p for p in smg.bidirected if set(p) <= nodes]
    reached, frontier = {min(nodes)}, [min(nodes)]
    while frontier:
        n = frontier.pop()
        for a, b in pairs:
            for u, v in ((a, b), (b, a)):
                if u == n and v not in reached:
                    reached.add(v)
                    frontier.append(v)
    return reached == set(nodes)


def check_hedge(smg: SemiMarkovianGraph, error: NonIdentifiableError, y: list[str], x: list[str]) -> None:
    forest, sub = error.hedge
    assert sub < forest
    assert forest & set(x) and not sub & set(x)
    assert _c_connected(smg, forest) and _c_connected(smg, sub)
    # every node of F reaches F' along directed edges inside F
    inside = [(a, b) for a, b in smg.directed.edges if a in forest and b in forest]
    reach, changed = set(sub), True
    while changed:
        changed = False
        for a, b in inside:
            if b in reach and a not in reach:
                reach.add(a)
                changed = True
    assert reach == set(forest)
    assert set(error.forest) == forest and set(error.sub_forest) == sub


@pytest.mark.parametrize("seed", range(10))
def test_identified_queries_match_surgery_and_failures_are_hedges(seed):
    rng = np.random.default_rng(1000 + seed)
    identified = refused = 0
    for _ in range(40):
        graph, cpts, card, observed, hidden = random_model(rng)
        smg = SemiMarkovianGraph.from_scm(DiscreteSCM(graph, cpts), hidden=hidden)
        joint = DiscreteSCM(graph, cpts).observed(observed)
        y, x = random_query(rng, observed)
        try:
            estimand = identify(smg, y, x)
        except NonIdentifiableError as error:
            refused += 1
            check_hedge(smg, error, y, x)
            others = [v for v in observed if v not in x + y]
            for z in (list(c) for k in range(len(others) + 1) for c in itertools.combinations(others, k)):
                assert not is_backdoor_set(graph, x, y, z), (str(smg), y, x, z)
                assert not z or not is_frontdoor_set(graph, x, y, z), (str(smg), y, x, z)
            residual = hedge_residual(smg, y, x, seed=int(rng.integers(2**31)))
            assert residual > RESIDUAL_HEDGE, (str(smg), y, x, residual)
            continue
        identified += 1
        truth = surgery(graph, cpts, card, x + y, x)
        got = estimand.evaluate(joint)
        assert got.variables == (*x, *y) and got.intervened == tuple(x)
        np.testing.assert_allclose(got.values, truth, atol=1e-9, rtol=0, err_msg=f"{smg}\n{y} {x}\n{estimand}")
        residual = gradient_residual(smg, y, x, seed=int(rng.integers(2**31)))
        assert residual < RESIDUAL_IDENTIFIED, (str(smg), y, x, residual)
    assert identified >= 5 and refused >= 3, (identified, refused)


def test_surgery_helper_matches_discrete_scm():
    # The brute-force truth agrees with DiscreteSCM's own surgery (two independent computations).
    rng = np.random.default_rng(7)
    for _ in range(20):
        graph, cpts, card, observed, _ = random_model(rng)
        y, x = random_query(rng, observed)
        model = DiscreteSCM(graph, cpts)
        np.testing.assert_allclose(surgery(graph, cpts, card, x + y, x),
                                   model.interventional(y, do=x).transpose(x + y).values, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_conditional_queries_match_surgery_and_refusals_are_not_identifiable(seed):
    """IDC: P(y | do(x), z) against P(y, z | do(x)) / P(z | do(x)) by surgery; a refused query's gradient leaves the
    row space of the observed joint's Jacobian (the first-order test above), an identified one's stays in it."""
    rng = np.random.default_rng(5000 + seed)
    identified = refused = 0
    for _ in range(30):
        graph, cpts, card, observed, hidden = random_model(rng)
        if len(observed) < 3:
            continue
        order = [str(v) for v in rng.permutation(observed)]
        x, y = order[:1], order[1:2]
        z = order[2:2 + int(rng.integers(1, min(2, len(order) - 2) + 1))]
        smg = SemiMarkovianGraph.from_scm(DiscreteSCM(graph, cpts), hidden=hidden)
        try:
            estimand = identify(smg, y, x, given=z)
        except NonIdentifiableError:
            refused += 1
            residual = hedge_residual(smg, y, x, seed=int(rng.integers(2**31)), given=z)
            assert residual > RESIDUAL_HEDGE, (str(smg), y, x, z, residual)
            continue
        identified += 1
        joint = surgery(graph, cpts, card, x + z + y, x)
        truth = joint / joint.sum(axis=tuple(range(len(x) + len(z), joint.ndim)), keepdims=True)
        got = estimand.evaluate(DiscreteSCM(graph, cpts).observed(observed))
        assert got.variables == (*x, *z, *y) and got.given == tuple(z) and got.intervened == tuple(x)
        np.testing.assert_allclose(got.values, truth, atol=1e-9, rtol=0, err_msg=f"{smg}\n{y} {x} {z}\n{estimand}")
        residual = gradient_residual(smg, y, x, seed=int(rng.integers(2**31)), given=z)
        assert residual < RESIDUAL_IDENTIFIED, (str(smg), y, x, z, residual)
    assert identified >= 5 and refused >= 1, (identified, refused)
