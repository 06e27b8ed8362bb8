"""Scoring an axiom model on the evaluation sets, against the exact answers and chance.

:func:`evaluate` takes anything with ``predict(demonstrations) -> bool array`` (an
:class:`~latentscm.axioms.model.AxiomModel`) and the sets of
:func:`~latentscm.axioms.evaluation_sets.evaluation_sets`; the answers it scores against are the
demonstrations' own, computed from their graphs (transitivity from descendants, d-separation from
:meth:`latentscm.graph.CausalGraph.d_separated`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.axioms.demonstrations import Demonstration

__all__ = ["evaluate", "accuracy", "summarise"]


def accuracy(predictions: Any, demonstrations: Sequence[Demonstration]) -> float:
    """Fraction of ``predictions`` (bool, or numbers 0/1, shape (N,)) equal to the exact answers; higher is
    better. Anything else (probabilities, NaN, text) is refused: cast to bool it would all read as "Yes"."""
    predicted = np.asarray(predictions)
    if predicted.shape != (len(demonstrations),):
        raise ValueError(f"accuracy needs one prediction per demonstration: got shape {predicted.shape} for "
                         f"{len(demonstrations)} demonstrations.")
    if len(demonstrations) == 0:
        raise ValueError("accuracy needs at least one demonstration.")
    if predicted.dtype != bool and (predicted.dtype.kind not in "iuf" or not np.isin(predicted, (0, 1)).all()):
        odd = predicted[~np.isin(predicted, (0, 1))][:3] if predicted.dtype.kind in "iuf" else predicted[:3]
        raise ValueError(f"The 'predictions' argument of accuracy must be booleans (or 0/1), the answers of "
                         f"predict(), not probabilities. Got dtype {predicted.dtype} with values such as "
                         f"{odd.tolist()}.")
    truth = np.array([d.answer for d in demonstrations], dtype=bool)
    return float(np.mean(predicted.astype(bool) == truth))


def evaluate(model: Any, sets: Mapping[str, Sequence[Demonstration]]) -> dict[str, float]:
    """Accuracy of ``model`` on every set.

    Parameters
    ----------
    model : object with ``predict(demonstrations) -> ndarray of bool, shape (N,)``
        A trained :class:`~latentscm.axioms.model.AxiomModel`.
    sets : mapping of str to sequence of Demonstration
        Evaluation sets (e.g. :func:`~latentscm.axioms.evaluation_sets.evaluation_sets`).

    Returns
    -------
    dict of str to float
        Set name -> accuracy in [0, 1]; higher is better.
    """
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"evaluate needs a model with predict(demonstrations). Got {type(model).__name__}.")
    if not sets:
        raise ValueError("evaluate needs at least one evaluation set.")
    return {name: accuracy(model.predict(list(demos)), demos) for name, demos in sets.items()}


def summarise(scores: Mapping[str, float], *, long_lengths: tuple[int, int] = (7, 15)) -> dict[str, float]:
    """Averages over groups of sets: ``length_mean_long`` (the ``length_L`` sets with L in
    ``long_lengths``), ``length_mean_short`` (the others) and ``dsep_mean`` (the ``dsep_*`` sets);
    a group with no set is left out. ``long_lengths`` is checked as by
    :func:`~latentscm.axioms.evaluation_sets.evaluation_sets` (a reversed range would leave out the long group)."""
    from latentscm.axioms.evaluation_sets import length_of

    if not (isinstance(long_lengths, (tuple, list)) and len(long_lengths) == 2):
        raise TypeError(f"The 'long_lengths' parameter of summarise must be a (low, high) pair. Got {long_lengths!r}.")
    low = check_number(long_lengths[0], "long_lengths", "summarise", low=2, integer=True)
    high = check_number(long_lengths[1], "long_lengths", "summarise", low=low, integer=True)
    groups: dict[str, list[float]] = {"length_mean_short": [], "length_mean_long": [], "dsep_mean": []}
    for name, value in scores.items():
        length = length_of(name)
        if length is not None:
            groups["length_mean_long" if low <= length <= high else "length_mean_short"].append(float(value))
        elif name.startswith("dsep_"):
            groups["dsep_mean"].append(float(value))
    return {key: float(np.mean(values)) for key, values in groups.items() if values}
