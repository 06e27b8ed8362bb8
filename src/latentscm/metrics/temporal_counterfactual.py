"""Counterfactual sequences of a learned temporal process, against a TemporalWorld's exact ones.

A model of a temporal causal process (:class:`~latentscm.learners.tdrl.TDRL`: one mechanism per latent unit,
``z_j^{t+1} = f_j(z^t, eps_j)``) answers "this sequence, had variable X been set to v at step t": abduct every
step's innovations from the encoded factual sequence, set X's unit at step t, push the same innovations through
the learned mechanisms, decode. The world answers the same question exactly
(:meth:`~latentscm.worlds.temporal.TemporalWorld.counterfactual`: same noise, same draws), so the frames after
step t can be compared, and the variables read off them (a :class:`~latentscm.metrics.factor_regressor.FactorRegressor`
trained on the world's renders) split by what the intervention does in the true process:

- ``intervened``: X itself after step t (it moves on from v under its own mechanism);
- ``effects``: the variables X reaches through the lag-1 graph within the remaining steps (they must follow);
- ``unaffected``: every other variable (its true trajectory is the factual one; any change is a leak).

The same read-out scores two references: ``factual`` (a model that changes nothing after the intervention step:
its error on ``unaffected`` is the read-out's own, on the others what ignoring the intervention costs) and
``floor`` (the read-out of the true counterfactual frames: the best any model can be scored). Errors are mean
absolute differences in units of each variable's range, over the sequences and the steps after t.

The intervention value is given to the model in its own coordinates: X's unit (matched one-to-one on independent
frames, :func:`~latentscm.metrics.causal_variable_r2.one_to_one_assignment`) takes its code of the true
counterfactual frame at step t; the other units keep their factual codes at t.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["temporal_counterfactual_scores", "reachable_variables"]


def reachable_variables(graph: np.ndarray, source: int, steps: int) -> np.ndarray:
    """(V,) bool: the variables a change of ``source`` at one step reaches within ``steps`` further steps of the
    lag-1 ``graph`` (V, V) (``[i, j]``: ``C_i^t -> C_j^{t+1}``), ``source`` included."""
    graph = np.asarray(graph, dtype=bool)
    reached = np.zeros(graph.shape[0], dtype=bool)
    reached[source] = True
    for _ in range(steps):
        reached = reached | graph[reached].any(axis=0)
    return reached


def _errors(read: np.ndarray, true: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Mean absolute error per variable (V,) in units of the range, over sequences and steps (N, S, V)."""
    return (np.abs(read - true) / width).mean(axis=(0, 1))


def _split(errors: np.ndarray, intervened: int, effects: np.ndarray) -> dict[str, float]:
    others = effects.copy()
    others[intervened] = False
    unaffected = ~effects
    return {"intervened": float(errors[intervened]),
            "effects": float(errors[others].mean()) if others.any() else float("nan"),
            "unaffected": float(errors[unaffected].mean()) if unaffected.any() else float("nan")}


def temporal_counterfactual_scores(learner: Any, temporal_world: Any, *, variables: Sequence[str] | None = None,
                                   n: int = 200, length: int = 10, at: int = 3, seed: int = 0,
                                   regressor: Any = None) -> dict[str, Any]:
    """Score a learner's counterfactual sequences against a TemporalWorld's exact ones (module docstring).

    Parameters
    ----------
    learner : a fitted learner with ``counterfactual_codes`` (e.g. TDRL)
    temporal_world : TemporalWorld
    variables : sequence of str or None
        The variables intervened on, one at a time (default: all).
    n, length : int, default 200, 10
        Sequences (>= 10) of ``length`` frames (>= 3), drawn with ``seed``.
    at : int, default 3
        The intervention step (0 ... length - 2).
    seed : int, default 0
        Seeds the sequences, the intervention values (uniform over each variable's range), the matching frames
        (``seed + 1``) and the read-out (when none is given).
    regressor : FactorRegressor or None
        A read-out fitted on ``temporal_world.world``.

    Returns
    -------
    dict
        ``"variables"``, ``"groups"`` (each unit's variable, -1 unmatched), ``"at"``, ``"length"``; per intervened
        variable (``"per_variable"``) and averaged over them (``"mean"``): ``"model"``, ``"factual"`` and
        ``"floor"``, each ``{"intervened", "effects", "unaffected"}`` errors; ``"pixel"``: mean absolute pixel error
        of the model's frames (``"model"``), of the factual frames (``"factual"``) and of the learner's
        reconstruction of the true frames (``"reconstruction"``, what decoding alone costs) against the true
        counterfactual frames; and ``"effects"``, the variables each intervention reaches.
    """
    from latentscm.metrics.causal_variable_r2 import one_to_one_assignment
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.worlds.temporal import TemporalWorld

    owner = "temporal_counterfactual_scores"
    if not isinstance(temporal_world, TemporalWorld):
        raise TypeError(f"The 'temporal_world' argument of {owner} must be a TemporalWorld. "
                        f"Got {type(temporal_world).__name__}.")
    if not callable(getattr(learner, "counterfactual_codes", None)):
        raise TypeError(f"The 'learner' argument of {owner} must model the process's mechanisms (a "
                        f"counterfactual_codes method, e.g. TDRL). Got {type(learner).__name__}.")
    n = int(check_number(n, "n", owner, low=10, integer=True))
    length = int(check_number(length, "length", owner, low=3, integer=True))
    at = int(check_number(at, "at", owner, low=0, high=length - 2, integer=True))
    names = list(temporal_world.variables)
    chosen = names if variables is None else [str(v) for v in variables]
    for name in chosen:
        if name not in names:
            raise ValueError(f"The 'variables' argument of {owner} names {name!r}, not a causal variable of the "
                             f"TemporalWorld ({', '.join(names)}).")
    learner._check_fitted()
    if regressor is None:
        regressor = FactorRegressor(seed=seed).fit(temporal_world.world)
    elif not isinstance(regressor, FactorRegressor) or list(getattr(regressor, "factor_names_", None) or []) \
            != list(temporal_world.factor_names):
        raise ValueError(f"The 'regressor' argument of {owner} must be a FactorRegressor fitted on "
                         f"temporal_world.world (or None).")
    groups = one_to_one_assignment(learner, temporal_world, seed=seed + 1)
    columns = [temporal_world.factor_names.index(v) for v in names]
    width = np.array([temporal_world.world.spec(v).high - temporal_world.world.spec(v).low for v in names])
    batch = temporal_world.sample(n, length, seed=seed)
    shape = batch.images.shape[2:]
    codes = np.asarray(learner.encode(batch.images.reshape(n * length, *shape))).reshape(n, length, -1)
    rng = np.random.default_rng(seed)
    after = slice(at + 1, length)

    def read(frames: np.ndarray) -> np.ndarray:
        return regressor.predict(frames.reshape(-1, *shape))[:, columns].reshape(n, frames.shape[1], -1)

    factual_read = read(batch.images[:, after])
    per_variable: dict[str, Any] = {}
    for name in chosen:
        i = names.index(name)
        spec = temporal_world.world.spec(name)
        values = rng.uniform(spec.low, spec.high, size=n)
        truth = temporal_world.counterfactual(batch, {name: values}, at=at)
        effects = reachable_variables(temporal_world.temporal_graph(), i, length - 1 - at)
        true = truth.factors[:, after][..., columns]
        units = np.flatnonzero(groups == i)
        if units.size == 0:
            raise ValueError(f"{owner}: no latent unit of {type(learner).__name__} is matched to {name!r} "
                             f"({learner.latent_dim_} units for {len(names)} variables).")
        own = np.asarray(learner.encode(truth.images[:, at]))[:, units[0]]
        changed = learner.counterfactual_codes(codes, {int(units[0]): own}, at=at)
        frames = learner.decode(changed[:, after].reshape(-1, changed.shape[2])).reshape(n, length - at - 1, *shape)
        truth_frames = truth.images[:, after]
        reconstruction = learner.reconstruct(truth_frames.reshape(-1, *shape)).reshape(truth_frames.shape)
        per_variable[name] = {
            "model": _split(_errors(read(frames), true, width), i, effects),
            "factual": _split(_errors(factual_read, true, width), i, effects),
            "floor": _split(_errors(read(truth_frames), true, width), i, effects),
            "pixel": {"model": float(np.abs(frames - truth_frames).mean()),
                      "factual": float(np.abs(batch.images[:, after] - truth_frames).mean()),
                      "reconstruction": float(np.abs(reconstruction - truth_frames).mean())},
            "effects": [names[k] for k in np.flatnonzero(effects) if k != i]}
    mean = {kind: {part: float(np.nanmean([per_variable[v][kind][part] for v in chosen]))
                   for part in ("intervened", "effects", "unaffected")} for kind in ("model", "factual", "floor")}
    mean["pixel"] = {part: float(np.mean([per_variable[v]["pixel"][part] for v in chosen]))
                     for part in ("model", "factual", "reconstruction")}
    return {"variables": chosen, "groups": groups.tolist(), "at": at, "length": length,
            "per_variable": per_variable, "mean": mean}
