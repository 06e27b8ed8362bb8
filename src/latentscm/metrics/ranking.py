"""Ranking metrics for root-cause analysis: PR@k, MAP@k and MRR over a set of cases.

Each case (one incident) has a ranking of candidate variables, best first, and the set of its true
root causes. With ``A`` the cases, ``R_a(i)`` the i-th candidate of case ``a`` (i = 1, 2, ...) and
``V_a`` its root causes, the definitions are those of the RCA literature (Meng et al. 2020,
"Localizing failure root causes in a microservice through causality inference", IWQoS; used by
Wang et al. 2023, "Incremental causal graph learning for online root cause analysis", KDD):

* ``PR@k = 1/|A| sum_a |{R_a(1..k)} ∩ V_a| / min(k, |V_a|)`` — the share of root causes found in the
  top k, relative to how many could fit there;
* ``MAP@k = 1/k sum_{j=1..k} PR@j`` — PR averaged over the cut-offs 1..k (rewards finding the
  root causes early, not only within k);
* ``MRR = 1/|A| sum_a 1 / rank_a``, where ``rank_a`` is the rank of the first root cause of case a
  (a root cause missing from the ranking contributes 0).

All three are in [0, 1]; higher is better.

A ranking is a sequence of names (best first) or a mapping ``{name: score}`` (higher = more likely a
root cause; sorted by decreasing score). Names with equal scores are tied: the scores are the expected
values over a uniformly random order of the tied names (McSherry & Najork 2008, "Computing information
retrieval performance measures efficiently in the presence of tied scores", ECIR), so they do not depend
on the order in which the mapping lists them (a scorer that ties every candidate scores what a random
ranking scores on average). Several cases are given as a list of rankings with a list of root-cause sets
of the same length; a single case may be given as one ranking and one root-cause set (or a single name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from math import comb
from typing import Any

from latentscm._validation import check_number
from latentscm.metrics._common import check_sequence

__all__ = ["map_at_k", "mrr", "precision_at_k", "ranking_scores"]


def _ordered(ranking: Any, owner: str, case: int) -> list[list[str]]:
    """The ranking as consecutive groups of tied names, best first (one name per group for a sequence)."""
    if isinstance(ranking, Mapping):
        items = list(ranking.items())
        for name, score in items:
            check_number(score, f"rankings[{case}][{name!r}]", owner)
        ordered = sorted(items, key=lambda item: -float(item[1]))
        return [[name for name, _ in group] for _, group in groupby(ordered, key=lambda item: float(item[1]))]
    elif isinstance(ranking, (str, bytes)) or not isinstance(ranking, Sequence):
        raise TypeError(f"Each ranking of {owner} must be a sequence of names (best first) or a mapping "
                        f"{{name: score}}. Got {ranking!r} for case {case}.")
    else:
        names = list(ranking)
    if len(set(names)) != len(names):
        duplicated = sorted({name for name in names if names.count(name) > 1}, key=str)
        raise ValueError(f"The ranking of case {case} of {owner} lists {duplicated} more than once.")
    return [[name] for name in names]


def _cases(rankings: Any, root_causes: Any, owner: str) -> list[tuple[list[list[str]], set[str]]]:
    single = isinstance(rankings, Mapping) or (
        isinstance(rankings, Sequence) and not isinstance(rankings, (str, bytes))
        and (len(rankings) == 0 or isinstance(rankings[0], str)))
    if single:
        rankings, root_causes = [rankings], [root_causes]
    if isinstance(rankings, (str, bytes)) or not isinstance(rankings, Sequence):
        raise TypeError(f"The 'rankings' argument of {owner} must be a ranking or a list of rankings. "
                        f"Got {type(rankings).__name__}.")
    if isinstance(root_causes, (str, bytes)) or not isinstance(root_causes, Sequence):
        raise TypeError(f"The 'root_causes' argument of {owner} must be a list with one root-cause set per "
                        f"ranking. Got {root_causes!r}.")
    if len(rankings) != len(root_causes):
        raise ValueError(f"{owner} got {len(rankings)} rankings but {len(root_causes)} root-cause sets.")
    if not rankings:
        raise ValueError(f"{owner} needs at least one case.")
    cases = []
    for case, (ranking, causes) in enumerate(zip(rankings, root_causes)):
        if not isinstance(causes, str) and not isinstance(causes, (Sequence, set, frozenset)):
            raise TypeError(f"Case {case} of {owner}: the root causes must be a variable name or a set of names. "
                            f"Got {causes!r}.")
        truth = {causes} if isinstance(causes, str) else set(causes)
        if not truth:
            raise ValueError(f"Case {case} of {owner} has no root cause; every case needs at least one.")
        cases.append((_ordered(ranking, owner, case), truth))
    return cases


def _expected_hits(groups: list[list[str]], truth: set[str], k: int) -> float:
    """Expected number of root causes in the top ``k`` when each group of tied names is in random order."""
    hits, position = 0.0, 0
    for group in groups:
        if position >= k:
            break
        slots = min(len(group), k - position)  # a group straddling the cut-off: each member is in with slots/size
        hits += sum(name in truth for name in group) * slots / len(group)
        position += len(group)
    return hits


def _precision_at(cases: list[tuple[list[list[str]], set[str]]], k: int) -> float:
    return sum(_expected_hits(groups, truth, k) / min(k, len(truth)) for groups, truth in cases) / len(cases)


def _expected_reciprocal_rank(groups: list[list[str]], truth: set[str]) -> float:
    """E[1 / rank of the first root cause] when each group of tied names is in random order (0 if none)."""
    position = 0
    for group in groups:
        size, found = len(group), sum(name in truth for name in group)
        if found:
            # the first of `found` root causes among `size` shuffled names is at m with probability
            # C(size - m, found - 1) / C(size, found)
            total = comb(size, found)
            return sum(comb(size - m, found - 1) / total / (position + m) for m in range(1, size - found + 2))
        position += size
    return 0.0


def precision_at_k(rankings: Any, root_causes: Any, k: int) -> float:
    """PR@k: the mean share of each case's root causes found in its top ``k`` (see the module
    docstring). Higher is better; 1 means every root cause is within the top ``min(k, |V_a|)``.

    Parameters
    ----------
    rankings : a ranking (sequence of names, best first, or mapping name -> score) or a list of them.
    root_causes : the true root causes (a name or a set of names), or a list with one per ranking.
    k : cut-off (>= 1).

    Returns
    -------
    float in [0, 1].
    """
    k = int(check_number(k, "k", "precision_at_k", low=1, integer=True))
    return _precision_at(_cases(rankings, root_causes, "precision_at_k"), k)


def map_at_k(rankings: Any, root_causes: Any, k: int) -> float:
    """MAP@k: PR@j averaged over j = 1..k (see the module docstring). Higher is better.

    Parameters
    ----------
    rankings, root_causes : as in :func:`precision_at_k`.
    k : largest cut-off (>= 1).

    Returns
    -------
    float in [0, 1].
    """
    k = int(check_number(k, "k", "map_at_k", low=1, integer=True))
    cases = _cases(rankings, root_causes, "map_at_k")
    return sum(_precision_at(cases, j) for j in range(1, k + 1)) / k


def mrr(rankings: Any, root_causes: Any) -> float:
    """Mean reciprocal rank of the first true root cause in each ranking (0 for a case whose
    ranking contains none of its root causes). Higher is better.

    Parameters
    ----------
    rankings, root_causes : as in :func:`precision_at_k`.

    Returns
    -------
    float in [0, 1].
    """
    return _mrr(_cases(rankings, root_causes, "mrr"))


def _mrr(cases: list[tuple[list[list[str]], set[str]]]) -> float:
    return sum(_expected_reciprocal_rank(groups, truth) for groups, truth in cases) / len(cases)


def ranking_scores(rankings: Any, root_causes: Any, *, ks: Sequence[int] = (1, 3, 5)) -> dict[str, float]:
    """PR@k for every k in ``ks``, MAP@max(ks) and MRR in one dict: ``{"rca.pr@1": ..., "rca.pr@3": ...,
    "rca.map@5": ..., "rca.mrr": ...}``. Higher is better for all.

    Parameters
    ----------
    rankings, root_causes : as in :func:`precision_at_k`.
    ks : cut-offs (each >= 1).

    Returns
    -------
    dict of floats in [0, 1].
    """
    ks = [int(check_number(k, "ks", "ranking_scores", low=1, integer=True))
          for k in check_sequence(ks, "ks", "ranking_scores", "ints")]
    if not ks:
        raise ValueError("The 'ks' parameter of ranking_scores must name at least one cut-off.")
    cases = _cases(rankings, root_causes, "ranking_scores")
    out = {f"rca.pr@{k}": _precision_at(cases, k) for k in ks}
    out[f"rca.map@{max(ks)}"] = sum(_precision_at(cases, j) for j in range(1, max(ks) + 1)) / max(ks)
    out["rca.mrr"] = _mrr(cases)
    return out
