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

The same read-out scores three references: ``factual`` (the learner changing nothing: its decoded factual codes;
on ``unaffected`` this is what decoding costs, on the others what ignoring the intervention costs),
``reconstruction`` (the learner's reconstruction of the true counterfactual frames: what its encoder and decoder
alone cost) and ``floor`` (the true counterfactual frames: the read-out's own error). Even an exact model of the
transition density need not reach ``reconstruction``: where a step reflects at a range's end, the world's mechanism
is not monotone in its noise, and the same abducted innovation can lead elsewhere. Errors are mean absolute
differences in units of each variable's range, over the sequences and the steps after t.

The intervention value is given to the model in its own coordinates: X's units take their codes of the true
counterfactual frame at step t, and the other units keep their factual codes at t. X's units are its learned group
(CITRIS's ``assignment_``) or, for other learners, the units matched to it
(:func:`~latentscm.metrics.causal_variable_r2.matched_assignment`, each unit to the variable it predicts best), or
where none is, the one unit matched to it one-to-one
(:func:`~latentscm.metrics.causal_variable_r2.one_to_one_assignment`).
Learners that read intervention targets (``counterfactual_reads_targets``, CITRIS) are scored by default on the
world's sequences and given their targets (``factual_interventions=False``: without them); for the others (TDRL),
which cannot tell an intervention from an innovation, the sequences are drawn from the same process without
interventions (``intervention_prob=0``).
The intervention values are uniform over each variable's range, drawn from their own stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_number, check_sequence

__all__ = ["temporal_counterfactual_scores", "reachable_variables", "intervention_units", "factual_process",
           "model_counterfactual_codes", "KINDS"]

#: What is scored: the learner's counterfactual, and three references (module docstring).
KINDS = ("model", "factual", "reconstruction", "floor")


def _mean(values: list[float]) -> float:
    """Mean of the finite entries (NaN when none: e.g. no intervened variable has effects)."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def reachable_variables(graph: np.ndarray, source: int, steps: int) -> np.ndarray:
    """(V,) bool: the variables a change of ``source`` at one step reaches within ``steps`` further steps of the
    lag-1 ``graph`` (V, V) (``[i, j]``: ``C_i^t -> C_j^{t+1}``), ``source`` included."""
    graph = np.asarray(graph, dtype=bool)
    reached = np.zeros(graph.shape[0], dtype=bool)
    reached[source] = True
    for _ in range(steps):
        reached = reached | graph[reached].any(axis=0)
    return reached


def intervention_units(learner: Any, temporal_world: Any, variables: Sequence[str], owner: str, *,
                       seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, str]:
    """The latent units that stand for each of ``variables`` (module docstring): ``({variable: units}, groups (M,),
    assigned_by)``; matching frames are drawn with ``seed``. A variable no unit stands for is refused by name."""
    from latentscm.metrics.causal_variable_r2 import learner_groups, one_to_one_assignment

    names = list(temporal_world.variables)
    groups, assigned_by = learner_groups(learner, temporal_world, owner, seed=seed)
    groups = np.asarray(groups)
    units_of: dict[str, np.ndarray] = {}
    single = None
    for name in variables:  # before any scoring: every variable needs a unit
        units = np.flatnonzero(groups == names.index(name))
        if units.size == 0:  # no unit predicts it best: the one matched to it one-to-one
            single = one_to_one_assignment(learner, temporal_world, seed=seed) if single is None else single
            units = np.flatnonzero(single == names.index(name))
        if units.size == 0:
            raise ValueError(f"{owner}: no latent unit of {type(learner).__name__} is matched to {name!r} "
                             f"({learner.latent_dim_} units for {len(names)} variables).")
        units_of[name] = units
    return units_of, groups, assigned_by


def factual_process(learner: Any, temporal_world: Any, owner: str, factual_interventions: bool | None = None
                    ) -> tuple[Any, bool]:
    """The process the factual sequences are drawn from, and whether the learner reads their targets: the world
    itself for learners that read targets (``factual_interventions`` None or True), else the same process without
    interventions (a learner without targets would take each intervention for an innovation; True is refused)."""
    from latentscm.worlds.temporal import TemporalWorld

    reads_targets = bool(getattr(learner, "counterfactual_reads_targets", False))
    if factual_interventions is None:
        factual_interventions = reads_targets
    elif factual_interventions and not reads_targets:
        raise ValueError(f"The 'factual_interventions' argument of {owner} is True, and {type(learner).__name__} does "
                         f"not read intervention targets: it would take each intervention for an innovation.")
    if factual_interventions or temporal_world.intervention_prob == 0:
        return temporal_world, reads_targets
    return TemporalWorld(temporal_world.world, **{**temporal_world.describe(), "intervention_prob": 0.0}), reads_targets


def model_counterfactual_codes(learner: Any, process: Any, batch: Any, codes: np.ndarray,
                               interventions: dict[str, Any], units_of: dict[str, np.ndarray], *, at: int,
                               targets: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
    """The learner's counterfactual codes (N, T, M) of a sequence ``batch`` of ``process`` (its codes (N, T, M)) under
    ``interventions`` ``{variable: value or (N,) values}`` at step ``at``, and the world's exact counterfactual
    (a TemporalBatch). Each variable's units take their codes of the true counterfactual frame at ``at`` (the
    intervention value in the model's own coordinates); the learner abducts and propagates the rest."""
    truth = process.counterfactual(batch, interventions, at=at)
    own = np.asarray(learner.encode(truth.images[:, at]))
    setting = {int(u): own[:, u] for name in interventions for u in units_of[name]}
    return learner.counterfactual_codes(codes, setting, at=at, targets=targets), truth


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
                                   regressor: Any = None, read_variables: bool = True,
                                   factual_interventions: bool | None = None) -> dict[str, Any]:
    """Score a learner's counterfactual sequences against a TemporalWorld's exact ones (module docstring).

    Parameters
    ----------
    learner : a fitted learner with ``counterfactual_codes`` (TDRL, CITRISVAE)
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
    factual_interventions : bool or None, default None
        Whether the factual sequences keep the world's own interventions (``None``: for learners that read targets;
        ``True`` is refused for the others). The world's counterfactual keeps them, so after a factual intervention
        on the intervened variable its true value is the factual one again (with ``intervention_prob`` 0.2, in about
        half the steps 1-6 after it), and changing nothing is exact there.
    read_variables : bool, default True
        False: pixel errors only (no read-out is trained; ``model``/``factual``/``reconstruction``/``floor`` are
        left out).

    Returns
    -------
    dict
        ``"variables"``, ``"groups"`` (each unit's variable; V: none, or CITRIS's ``psi_0``) and
        ``"assigned_by"`` ("learned" or "matched"), ``"at"``, ``"length"``; per intervened
        variable (``"per_variable"``) and averaged over them (``"mean"``): ``"model"``, ``"factual"`` and
        ``"floor"``, each ``{"intervened", "effects", "unaffected"}`` errors; ``"pixel"``: mean absolute pixel error
        of the model's frames (``"model"``), of the factual frames (``"factual"``) and of the learner's
        reconstruction of the true frames (``"reconstruction"``, what decoding alone costs) against the true
        counterfactual frames, and ``"excess"``, ``(model - reconstruction) / (factual - reconstruction)`` of those
        (0: as close as the learner's reconstruction of the truth, 1: no closer than changing nothing);
        ``"effects"``, the variables each intervention reaches, and ``"units"``, those set.
    """
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.worlds.temporal import check_temporal_world

    owner = "temporal_counterfactual_scores"
    check_temporal_world(temporal_world, owner)
    if not callable(getattr(learner, "counterfactual_codes", None)):
        raise TypeError(f"The 'learner' argument of {owner} must model the process's mechanisms (a "
                        f"counterfactual_codes method, e.g. TDRL). Got {type(learner).__name__}.")
    n = int(check_number(n, "n", owner, low=10, integer=True))
    length = int(check_number(length, "length", owner, low=3, integer=True))
    at = int(check_number(at, "at", owner, low=0, high=length - 2, integer=True))
    names = list(temporal_world.variables)
    chosen = names if variables is None else [str(v) for v in check_sequence(variables, "variables", owner,
                                                                             what="variable names")]
    if not chosen or len(set(chosen)) != len(chosen):
        raise ValueError(f"The 'variables' argument of {owner} must name distinct causal variables, at least one. "
                         f"Got {chosen}.")
    for name in chosen:
        if name not in names:
            raise ValueError(f"The 'variables' argument of {owner} names {name!r}, not a causal variable of the "
                             f"TemporalWorld ({', '.join(names)}).")
    learner._check_fitted()
    units_of, groups, assigned_by = intervention_units(learner, temporal_world, chosen, owner, seed=seed + 1)
    if not read_variables:
        regressor = None
    elif regressor is None:
        regressor = FactorRegressor(seed=seed).fit(temporal_world.world)
    elif not isinstance(regressor, FactorRegressor) or list(getattr(regressor, "factor_names_", None) or []) \
            != list(temporal_world.factor_names):
        raise ValueError(f"The 'regressor' argument of {owner} must be a FactorRegressor fitted on "
                         f"temporal_world.world (or None).")
    process, reads_targets = factual_process(learner, temporal_world, owner, factual_interventions)
    columns = [temporal_world.factor_names.index(v) for v in names]
    width = np.array([temporal_world.world.spec(v).high - temporal_world.world.spec(v).low for v in names])
    batch = process.sample(n, length, seed=seed)
    targets = batch.targets if reads_targets else None
    shape = batch.images.shape[2:]
    codes = np.asarray(learner.encode(batch.images.reshape(n * length, *shape))).reshape(n, length, -1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E4]))  # not the sequences' stream
    after = slice(at + 1, length)
    steps = length - at - 1

    def read(frames: np.ndarray) -> np.ndarray:
        return regressor.predict(frames.reshape(-1, *shape))[:, columns].reshape(n, frames.shape[1], -1)

    def decoded(some: np.ndarray) -> np.ndarray:
        return learner.decode(some.reshape(-1, some.shape[2])).reshape(n, some.shape[1], *shape)

    unchanged = decoded(codes[:, after])  # the learner changing nothing
    unchanged_read = read(unchanged) if read_variables else None
    per_variable: dict[str, Any] = {}
    for name in chosen:
        i, units = names.index(name), units_of[name]
        spec = temporal_world.world.spec(name)
        values = rng.uniform(spec.low, spec.high, size=n)
        changed, truth = model_counterfactual_codes(learner, process, batch, codes, {name: values}, {name: units},
                                                    at=at, targets=targets)
        effects = reachable_variables(temporal_world.temporal_graph(), i, steps)
        true = truth.factors[:, after][..., columns]
        frames = decoded(changed[:, after])
        truth_frames = truth.images[:, after]
        reconstruction = learner.reconstruct(truth_frames.reshape(-1, *shape)).reshape(truth_frames.shape)
        pixel = {"model": float(np.abs(frames - truth_frames).mean()),
                 "factual": float(np.abs(unchanged - truth_frames).mean()),
                 "reconstruction": float(np.abs(reconstruction - truth_frames).mean())}
        gap = pixel["factual"] - pixel["reconstruction"]
        pixel["excess"] = (pixel["model"] - pixel["reconstruction"]) / gap if gap > 0 else float("nan")
        per_variable[name] = {"pixel": pixel, "effects": [names[k] for k in np.flatnonzero(effects) if k != i],
                              "units": units.tolist()}
        if read_variables:
            per_variable[name].update({
                "model": _split(_errors(read(frames), true, width), i, effects),
                "factual": _split(_errors(unchanged_read, true, width), i, effects),
                "reconstruction": _split(_errors(read(reconstruction), true, width), i, effects),
                "floor": _split(_errors(read(truth_frames), true, width), i, effects)})
    mean: dict[str, Any] = {kind: {part: _mean([per_variable[v][kind][part] for v in chosen])
                                   for part in ("intervened", "effects", "unaffected")}
                            for kind in (KINDS if read_variables else ())}
    mean["pixel"] = {part: _mean([per_variable[v]["pixel"][part] for v in chosen])
                     for part in ("model", "factual", "reconstruction", "excess")}
    return {"variables": chosen, "groups": groups.tolist(), "assigned_by": assigned_by, "at": at, "length": length,
            "with_interventions": bool(process.intervention_prob > 0), "per_variable": per_variable, "mean": mean}
