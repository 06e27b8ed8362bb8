"""Online root-cause analysis in the style of CORAL: detect a trigger point, update the causal graph
incrementally, walk it backwards from the anomalies, mix the scores, stop when the ranking settles.

Wang, Chen, Fu, Liu & Chen (KDD 2023), "Incremental causal graph learning for online root cause
analysis" (CORAL; no public code, reimplemented from the paper's description with the linear graph
model of :mod:`latentscm.rca.incremental_graph`). The stages:

1. **Trigger point** — the stream is fed to an online detector (default
   :class:`~latentscm.rca.ssa_cusum.SSACusumDetector`); before the trigger, the state-0 graph is
   updated with the incoming normal data in chunks.
2. **Incremental graph** — at the trigger the graph keeps its coefficients as the state-invariant
   part and learns a sparse state-dependent change from each new chunk (warm-started).
3. **Propagation** — per-variable anomaly scores of the data since the trigger (NSigma against the
   data before it) weight a random walk with restart that steps from effects to causes on the
   current summary graph (:func:`~latentscm.rca.random_walk.random_walk_with_restart`).
4. **Score mixing** — ``(1 - mix) * walk + mix * individual`` after min-max normalisation, where the
   individual score is the anomaly score (``individual="anomaly"``) or the size of each variable's
   state-dependent intercept change (``"change"``: how far its mechanism moved given its inputs).
5. **Stop** — after each chunk the ranking is recomputed; RCA ends when the top ``top_k`` has not
   changed for ``patience`` chunks, or after ``max_window`` steps.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_choice, check_names, check_number
from latentscm.rca.baselines import nsigma_scores
from latentscm.rca.detection import OnlineDetector, check_stream
from latentscm.rca.incremental_graph import IncrementalGraph
from latentscm.rca.random_walk import random_walk_with_restart
from latentscm.rca.scores import mix_scores, normalise_scores, rank_by_score
from latentscm.rca.ssa_cusum import SSACusumDetector

__all__ = ["CoralRCA", "RCAResult", "walk_and_mix"]

INDIVIDUAL = ("anomaly", "change")


@dataclass(frozen=True)
class RCAResult:
    """The outcome of one online RCA run.

    Attributes
    ----------
    var_names : tuple of str
        Variable names (d,).
    ranking : tuple of str
        Candidates, most likely root cause first (empty when no trigger was found).
    scores : ndarray, shape (d,)
        Final mixed scores in ``var_names`` order (zeros without a trigger).
    trigger : int or None
        The trigger step (index into the stream), or ``None``.
    graph : ndarray, shape (d, d)
        Summary weights of the graph the ranking used (``[i, j]`` for ``i -> j``).
    walk : ndarray, shape (d,)
        Visit probabilities of the random walk.
    individual : ndarray, shape (d,)
        The individual score that was mixed in.
    steps_used : int
        Steps after the trigger consumed before the ranking settled.
    update_seconds : tuple of float
        Wall time of each incremental graph update after the trigger.
    history : tuple of tuple of str
        The ranking after each update.
    """

    var_names: tuple[str, ...]
    ranking: tuple[str, ...]
    scores: np.ndarray
    trigger: int | None
    graph: np.ndarray
    walk: np.ndarray
    individual: np.ndarray
    steps_used: int
    update_seconds: tuple[float, ...]
    history: tuple[tuple[str, ...], ...]

    def as_mapping(self) -> dict[str, float]:
        """``{name: score}`` (what :mod:`latentscm.metrics.ranking` accepts)."""
        return {name: float(score) for name, score in zip(self.var_names, self.scores)}


def walk_and_mix(adjacency: Any, anomaly: Any, individual: Any, *, restart: float = 0.15, self_weight: float = 0.1,
                 mix: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Backward random walk with restart weighted by ``anomaly`` (d,), then mixed with ``individual`` (d,).

    Parameters
    ----------
    adjacency : array-like, shape (d, d)
        Non-negative weights ``[i, j]`` for ``i -> j`` (learned or true).
    anomaly : array-like, shape (d,)
        Anomaly scores; min-max normalised, they weight the walk's steps and form its restart
        distribution (the adjacency is scaled to a largest off-diagonal weight of 1).
    individual : array-like, shape (d,)
        The per-variable score mixed with the walk.
    restart, self_weight : float
        See :func:`~latentscm.rca.random_walk.random_walk_with_restart`.
    mix : float, default 0.5
        Weight of ``individual`` in [0, 1].

    Returns
    -------
    (scores, walk) : two ndarrays of shape (d,)
    """
    mix = check_number(mix, "mix", "walk_and_mix", low=0, high=1)
    # Both inputs on a common scale, so that a learned graph (small coefficients) and a 0/1 true
    # graph, or z-scores of different spread, weigh the same against the stay weight.
    weights = np.abs(check_array(adjacency, "adjacency", "walk_and_mix", ndim=2))
    if weights.shape[0] != weights.shape[1]:
        raise ValueError(f"The 'adjacency' argument of walk_and_mix must be square (d, d). Got {weights.shape}.")
    d = weights.shape[0]
    individual = check_array(individual, "individual", "walk_and_mix", ndim=1)
    if individual.shape[0] != d:  # checked even where mix ignores it: a wrong length is a caller's mistake
        raise ValueError(f"The 'individual' argument of walk_and_mix must have {d} values (one per node). "
                         f"Got {individual.shape[0]}.")
    anomaly = check_array(anomaly, "anomaly", "walk_and_mix", ndim=1)
    if anomaly.shape[0] != d:  # named here, not as the random walk's node_scores further down
        raise ValueError(f"The 'anomaly' argument of walk_and_mix must have {d} values (one per node). "
                         f"Got {anomaly.shape[0]}.")
    off_diagonal = weights[~np.eye(d, dtype=bool)]
    largest = float(off_diagonal.max()) if off_diagonal.size else 0.0
    weights = weights / largest if largest > 0 else weights
    walk = random_walk_with_restart(weights, normalise_scores(anomaly), restart=restart, self_weight=self_weight)
    if mix == 0:
        return mix_scores([walk], [1.0]), walk
    if mix == 1:
        return mix_scores([individual], [1.0]), walk
    return mix_scores([walk, individual], [1.0 - mix, mix]), walk


def _names(var_names: Sequence[str] | None, d: int, owner: str) -> tuple[str, ...]:
    if var_names is None:
        return tuple(f"x{j}" for j in range(d))
    return check_names(var_names, "var_names", owner, size=d)


class CoralRCA:
    """CORAL-style online root-cause analysis (see the module docstring).

    Parameters
    ----------
    lag : int, default 1
        Maximum lag of the graph model.
    sparsity, change_sparsity : float
        L1 weights of the state-0 graph and of the state-dependent change
        (:class:`~latentscm.rca.incremental_graph.IncrementalGraph`).
    restart : float, default 0.15
        Restart probability of the walk.
    self_weight : float, default 0.1
        Stay weight of the walk.
    mix : float, default 0.5
        Weight of the individual score.
    individual : {"anomaly", "change"}, default "anomaly"
        Which individual score is mixed with the walk.
    chunk : int, default 10
        Steps per incremental update.
    max_window : int, default 100
        Most steps after the trigger used for RCA.
    top_k : int, default 3
        Length of the ranking prefix that must settle.
    patience : int, default 3
        Consecutive unchanged updates that end the analysis.
    detector : OnlineDetector or None
        The trigger detector (default ``SSACusumDetector()``); it is refitted by :meth:`fit`.
    """

    def __init__(self, *, lag: int = 1, sparsity: float = 0.02, change_sparsity: float = 0.05, restart: float = 0.15,
                 self_weight: float = 0.1, mix: float = 0.5, individual: str = "anomaly", chunk: int = 10,
                 max_window: int = 100, top_k: int = 3, patience: int = 3,
                 detector: OnlineDetector | None = None) -> None:
        owner = "CoralRCA"
        self.lag = int(check_number(lag, "lag", owner, low=1, integer=True))
        self.sparsity = check_number(sparsity, "sparsity", owner, low=0)
        self.change_sparsity = check_number(change_sparsity, "change_sparsity", owner, low=0)
        self.restart = check_number(restart, "restart", owner, low=0, high=1, low_inclusive=False)
        self.self_weight = check_number(self_weight, "self_weight", owner, low=0)
        self.mix = check_number(mix, "mix", owner, low=0, high=1)
        self.individual = check_choice(individual, "individual", owner, INDIVIDUAL)
        self.chunk = int(check_number(chunk, "chunk", owner, low=1, integer=True))
        self.max_window = int(check_number(max_window, "max_window", owner, low=1, integer=True))
        self.top_k = int(check_number(top_k, "top_k", owner, low=1, integer=True))
        self.patience = int(check_number(patience, "patience", owner, low=1, integer=True))
        if detector is not None and not isinstance(detector, OnlineDetector):
            raise TypeError(f"The 'detector' parameter of {owner} must be an OnlineDetector or None. "
                            f"Got {type(detector).__name__}.")
        self.detector = detector

    def fit(self, normal: Any, *, var_names: Sequence[str] | None = None) -> CoralRCA:
        """Learn the normal state (detector reference and state-0 graph) from ``normal`` (T0, d); returns ``self``.

        Raises
        ------
        ValueError
            NaN values, too few steps for the lag or for the detector's reference, or a constant column.
        """
        owner = "CoralRCA.fit"
        # a copy: fitting (and running) must not change the detector the caller configured
        detector = copy.deepcopy(self.detector) if self.detector is not None else SSACusumDetector()
        # checked here, so that the errors name this call's argument, not the graph's or the detector's own fit
        data = check_stream(normal, "normal", owner, min_rows=max(self.lag + 3, detector._min_reference()))
        constant = np.flatnonzero(np.ptp(data, axis=0) == 0)
        if constant.size:
            raise ValueError(f"The 'normal' argument of {owner} has constant columns {constant.tolist()}; their "
                             "normal variation is zero (no causal links to learn, every change infinitely anomalous).")
        var_names = _names(var_names, data.shape[1], owner)
        graph = IncrementalGraph(lag=self.lag, sparsity=self.sparsity, change_sparsity=self.change_sparsity)
        graph.fit(data)
        detector.fit(data)
        # set only once both parts are fitted: a fit that fails half-way leaves the previous state (or none) whole,
        # never a new graph next to the old normal data and an unfitted detector
        self.var_names_, self.detector_, self.graph_, self.normal_ = var_names, detector, graph, data
        return self

    def run(self, stream: Any, *, trigger: int | None = None) -> RCAResult:
        """Process ``stream`` (T, d), the steps that follow the normal data, online.

        Parameters
        ----------
        stream : array-like, shape (T, d)
        trigger : int or None
            A known trigger step: skip detection and start RCA there (for comparing rankers on the same
            trigger). ``None``: detect it.
        """
        if not hasattr(self, "graph_"):
            raise RuntimeError("CoralRCA is not fitted; call fit(normal) first.")
        owner = "CoralRCA.run"
        data = check_stream(stream, "stream", owner, min_rows=1, d=len(self.var_names_))
        if trigger is not None:
            trigger = int(check_number(trigger, "trigger", owner, low=0, high=data.shape[0] - 1, integer=True))
        # the online state evolves on copies: every run starts from the fitted normal state, so running the same
        # stream twice gives the same result
        graph, detector = copy.deepcopy(self.graph_), copy.deepcopy(self.detector_)
        pending: list[np.ndarray] = []
        found = trigger
        for t, row in enumerate(data):
            if trigger is None and detector.update(row):
                found = t
            if found is not None and t >= found:
                break
            pending.append(row)
            if len(pending) == self.chunk:
                graph.partial_fit(np.stack(pending))
                pending = []
        d = len(self.var_names_)
        if found is None:
            empty = np.zeros(d)
            return RCAResult(self.var_names_, (), empty, None, graph.summary(), empty, empty, 0, (), ())
        if pending:
            graph.partial_fit(np.stack(pending))
        before = np.concatenate([self.normal_, data[:found]])
        graph.new_state()
        history: list[tuple[str, ...]] = []
        seconds: list[float] = []
        stable = 0
        end = min(data.shape[0], found + self.max_window)
        position = found
        scores = walk = individual = np.zeros(d)
        while position < end:
            stop = min(position + self.chunk, end)
            started = time.perf_counter()
            graph.partial_fit(data[position:stop])
            seconds.append(time.perf_counter() - started)
            position = stop
            anomaly = nsigma_scores(before, data[found:position])
            individual = anomaly if self.individual == "anomaly" else np.abs(graph.intercept_change())
            scores, walk = walk_and_mix(graph.summary(), anomaly, individual, restart=self.restart,
                                        self_weight=self.self_weight, mix=self.mix)
            ranking = rank_by_score(scores, self.var_names_)
            stable = stable + 1 if history and history[-1][: self.top_k] == ranking[: self.top_k] else 0
            history.append(ranking)
            if stable >= self.patience:
                break
        return RCAResult(self.var_names_, history[-1], scores, found, graph.summary(), walk, individual,
                         position - found, tuple(seconds), tuple(history))
