"""One table of rows and a label per row, split into an observational context and interventional ones.

Methods that learn latents from one observational and several interventional contexts (linear causal
disentanglement, its contrastive version for nonlinear mixing) read a table (n, p) and each row's environment
label; the rows labelled ``observational`` form the observational context and every other label one interventional
context, whose latent is named after the label.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_array, check_sequence

__all__ = ["environment_label", "split_by_environment"]


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a (non-boolean) number, else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    return float(value)


def environment_label(value: Any) -> str:
    """An environment label as text: a whole number without ``.0`` (so 1, 1.0 and "1" agree), any other number as
    its shortest round-trip form, text as it is."""
    number = _number(value)
    if number is None:
        return str(value)
    if number.is_integer():
        return str(int(number))
    return repr(number)


def split_by_environment(data: Any, environments: Any, observational: Any, owner: str, *, min_rows: int,
                         why: str = "") -> tuple[list[np.ndarray], list[str]]:
    """The contexts of a labelled table: ``(contexts, labels)`` with ``contexts[0]`` the observational rows (n_0, p)
    and ``contexts[k]`` (k >= 1) the rows labelled ``labels[k - 1]``. Labels are compared as
    :func:`environment_label` writes them; numeric labels come in numeric order, then text ones in text order.
    ValueError naming ``owner`` for a label count that does not match the rows, an ``observational`` label no row
    has, no interventional label, an empty label, or a context with fewer than ``min_rows`` rows (``why``: why
    they are needed, for the message)."""
    table = check_array(data, "data", owner, ndim=2, min_rows=2)
    values = environments.tolist() if isinstance(environments, np.ndarray) else check_sequence(
        environments, "environments", owner, what="labels")
    if isinstance(environments, np.ndarray) and environments.ndim != 1 or len(values) != table.shape[0]:
        raise ValueError(f"The 'environments' argument of {owner} must hold one label per row of 'data' "
                         f"({table.shape[0]}). Got {len(values)} labels of shape {np.shape(environments)}.")
    text = np.array([environment_label(v) for v in values], dtype=object)
    kinds: dict[str, float | None] = {}
    for value, label in zip(values, text):
        kinds.setdefault(label, _number(value))
    unique = sorted(kinds, key=lambda label: (0, kinds[label], "") if kinds[label] is not None else (1, 0.0, label))
    observed = environment_label(observational)
    if observed not in kinds:
        raise ValueError(f"The 'observational' argument of {owner} is {observational!r}, which labels no row; the "
                         f"environments are {unique}.")
    others = [label for label in unique if label != observed]
    if not others:
        raise ValueError(f"The 'environments' given to {owner} hold only the observational label {observed!r}; one "
                         f"interventional environment per latent is needed.")
    if "" in others:
        raise ValueError(f"The 'environments' given to {owner} include an empty label, which cannot name a latent; "
                         f"label those rows.")
    contexts = [table[text == label] for label in [observed, *others]]
    for label, rows in zip([observed, *others], contexts):
        if rows.shape[0] < min_rows:
            raise ValueError(f"Environment {label!r} given to {owner} has {rows.shape[0]} rows for "
                             f"{table.shape[1]} columns; {why or f'at least {min_rows} are needed'}.")
    return contexts, others
