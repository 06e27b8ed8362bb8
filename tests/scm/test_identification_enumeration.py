"""s25: surgery, back-door and front-door adjustment against brute-force enumeration on random finite SCMs
with hidden confounders; the graphical criteria against an independent d-separation (moral ancestral graph)."""

import itertools

import numpy as np
import pytest

from latentscm.graph import CausalGraph
from latentscm.scm import (
    DiscreteSCM,
    PositivityError,
    backdoor_adjustment,
    frontdoor_adjustment,
    is_backdoor_set,
    is_frontdoor_set,
)


def _separated(edges, x, y, z):
    """Lauritzen's criterion: x and y separated by z in the moral graph of the ancestral set of x, y, z."""
    parents: dict[str, set[str]] = {}
    for u, v in edges:
        parents.setdefault(v, set()).add(u)
    ancestral, stack = set(x) | set(y) | set(z), [*x, *y, *z]
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in ancestral:
                ancestral.add(p)
                stack.append(p)
    links = {n: set() for n in ancestral}
    for n in ancestral:
        family = sorted(parents.get(n, ()))
        for p in family:
            links[n].add(p)
            links[p].add(n)
        for a, b in itertools.combinations(family, 2):
            links[a].add(b)
            links[b].add(a)
    seen, stack = set(x), list(x)
    while stack:
        for m in links[stack.pop()] - seen - set(z):
            if m in y:
                return False
            seen.add(m)
            stack.append(m)
    return True


def _downstream(edges, x):
    out, stack = set(x), list(x)
    while stack:
        n = stack.pop()
        for u, v in edges:
            if u == n and v not in out:
                out.add(v)
                stack.append(v)
    return out


def _backdoor(edges, x, y, z):
    return not set(z) & _downstream(edges, x) and _separated([e for e in edges if e[0] not in x], x, y, z)


def _frontdoor(edges, x, y, m):
    intercepted = not set(y) & _downstream([e for e in edges if e[0] not in m and e[1] not in m], x)
    return (intercepted and _separated([e for e in edges if e[0] not in x], x, m, [])
            and _separated([e for e in edges if e[0] not in m], m, y, x))


def _random_model(rng):
    observed = [f"v{i}" for i in range(int(rng.integers(3, 6)))]
    hidden = [f"u{i}" for i in range(int(rng.integers(1, 3)))]
    order = list(rng.permutation(observed))
    edges = [(str(a), str(b)) for i, a in enumerate(order) for b in order[i + 1:] if rng.random() < 0.4]
    for h in hidden:
        edges += [(h, str(c)) for c in rng.choice(observed, size=2, replace=False)]
    graph = CausalGraph(edges, nodes=hidden + observed)
    card = {n: int(rng.integers(2, 4)) for n in graph.nodes}
    cpts = {n: rng.dirichlet(np.ones(card[n]), size=tuple(card[p] for p in graph.parents(n))) for n in graph.nodes}
    return graph, cpts, card, observed


def _enumerate(graph, cpts, card, keep, do=None):
    """P(keep | do) by summing the (truncated) product of CPTs over every configuration of every node."""
    do = do or {}
    out = np.zeros([card[n] for n in keep])
    for config in itertools.product(*(range(card[n]) for n in graph.nodes)):
        value = dict(zip(graph.nodes, config))
        if any(value[n] != s for n, s in do.items()):
            continue
        p = np.prod([cpts[n][tuple(value[q] for q in graph.parents(n))][value[n]]
                     for n in graph.nodes if n not in do])
        out[tuple(value[n] for n in keep)] += p
    return out


@pytest.mark.parametrize("seed", range(6))
def test_adjustments_and_surgery_match_enumeration(seed):
    rng = np.random.default_rng(seed)
    valid_backdoor = valid_frontdoor = 0
    for _ in range(6):
        graph, cpts, card, observed = _random_model(rng)
        model = DiscreteSCM(graph, cpts)
        joint = model.observed(observed)
        x, y = [str(v) for v in rng.choice(observed, size=2, replace=False)]
        truth = np.stack([_enumerate(graph, cpts, card, [y], {x: s}) for s in range(card[x])])
        assert np.allclose(model.interventional(y, do=x).transpose([x, y]).values, truth, atol=1e-12)
        assert np.allclose(model.do({x: card[x] - 1}).observed(y).values, truth[-1], atol=1e-12)
        others = [v for v in observed if v not in (x, y)]
        for r in range(len(others) + 1):
            for z in map(list, itertools.combinations(others, r)):
                assert is_backdoor_set(graph, x, y, z) == _backdoor(graph.edges, [x], [y], z), (graph, x, y, z)
                if _backdoor(graph.edges, [x], [y], z):
                    valid_backdoor += 1
                    estimate = backdoor_adjustment(joint, x, y, z).transpose([x, y]).values
                    assert np.allclose(estimate, truth, atol=1e-10), (graph, x, y, z)
                if z:
                    assert is_frontdoor_set(graph, x, y, z) == _frontdoor(graph.edges, [x], [y], z)
                    if _frontdoor(graph.edges, [x], [y], z):
                        valid_frontdoor += 1
                        try:
                            estimate = frontdoor_adjustment(joint, x, z, y).transpose([x, y]).values
                        except PositivityError:
                            continue
                        assert np.allclose(estimate, truth, atol=1e-10), (graph, x, y, z)
    assert valid_backdoor > 0


def test_confounded_pair_has_no_backdoor_set_and_conditioning_is_biased():
    # x <- u -> y with u hidden and x -> y: no observed set is a back-door set, and the naive conditional
    # (the empty adjustment) differs from the truth, so the criterion is what stands between a user and a
    # wrong number.
    rng = np.random.default_rng(1)
    graph = CausalGraph([("u", "x"), ("u", "y"), ("x", "y")], nodes=["u", "x", "y"])
    card = {"u": 2, "x": 2, "y": 2}
    cpts = {n: rng.dirichlet(np.ones(2), size=tuple(2 for _ in graph.parents(n))) for n in graph.nodes}
    model = DiscreteSCM(graph, cpts)
    assert not is_backdoor_set(graph, "x", "y", [])
    truth = np.stack([_enumerate(graph, cpts, card, ["y"], {"x": s}) for s in range(2)])
    naive = backdoor_adjustment(model.observed(["x", "y"]), "x", "y").values
    assert not np.allclose(naive, truth, atol=1e-3)
    assert is_backdoor_set(graph, "x", "y", ["u"])
    assert np.allclose(backdoor_adjustment(model.joint(), "x", "y", "u").values, truth, atol=1e-12)
