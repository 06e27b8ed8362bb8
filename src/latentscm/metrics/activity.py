"""Active and passive latent units, and metrics on mean versus sampled representations.

Bonheme & Grzes (2023), "Be More Active! Understanding the Differences between Mean and
Sampled Representations of Variational Autoencoders", JMLR 24(324). A VAE unit is *passive*
when its posterior q(z_d | x) stays at the prior N(0, 1) for every input: its mean is ~0 and
its sampled value is prior noise. Passive units make *mean* representations look highly
correlated (their near-constant means co-vary) while the *sampled* ones are not, so a metric can
tell different stories on the two representations; the paper recommends reporting both, with
and without passive units.

Two activity criteria:

* ``"kl"`` — unit d is active when its average KL(q(z_d | x) || N(0, 1)) over the data
  exceeds ``threshold`` nats (needs the posterior log-variances);
* ``"variance"`` — the activity statistic of Burda, Grosse & Salakhutdinov (2016),
  "Importance Weighted Autoencoders": Var_x(E_q[z_d | x]) > ``threshold`` (means only).

Both default to a threshold of 0.01, Burda et al.'s value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentscm._validation import as_generator, check_array, check_choice, check_number

__all__ = ["CRITERIA", "unit_kl", "active_units", "sample_codes", "mean_vs_sampled"]

CRITERIA = ("kl", "variance")


def _check_posterior(means, log_variances, owner: str) -> tuple[np.ndarray, np.ndarray]:
    means = check_array(means, "means", owner, ndim=2)
    log_variances = check_array(log_variances, "log_variances", owner, ndim=2)
    if log_variances.shape != means.shape:
        raise ValueError(f"The 'log_variances' argument of {owner} must have the shape of 'means' "
                         f"{means.shape}. Got {log_variances.shape}.")
    return means, log_variances


def unit_kl(means: np.ndarray, log_variances: np.ndarray) -> np.ndarray:
    """Average over rows of KL(N(mean, exp(log_variance)) || N(0, 1)) per unit, in nats.

    means, log_variances : arrays (N, D). Returns (D,), >= 0; ~0 for passive units.
    """
    means, log_variances = _check_posterior(means, log_variances, "unit_kl")
    kl = 0.5 * (np.exp(log_variances) + means ** 2 - 1.0 - log_variances)
    return kl.mean(axis=0)


def active_units(means: np.ndarray, log_variances: np.ndarray | None = None, *,
                 criterion: str = "kl", threshold: float = 0.01) -> np.ndarray:
    """Boolean mask (D,) of active units (see the module docstring for the criteria).

    means : array (N, D) of posterior means. log_variances : array (N, D), required by
    ``criterion="kl"``. threshold : nats (``"kl"``) or squared code units (``"variance"``).
    """
    owner = "active_units"
    criterion = check_choice(criterion, "criterion", owner, CRITERIA)
    threshold = check_number(threshold, "threshold", owner, low=0.0)
    if criterion == "kl":
        if log_variances is None:
            raise ValueError(f"{owner} with criterion='kl' needs 'log_variances'; pass them or use "
                             f"criterion='variance'.")
        return unit_kl(means, log_variances) > threshold
    means = check_array(means, "means", owner, ndim=2, min_rows=2)
    return means.var(axis=0) > threshold


def sample_codes(means: np.ndarray, log_variances: np.ndarray, *, seed: int | np.random.Generator
                 ) -> np.ndarray:
    """One draw z = mean + exp(log_variance / 2) * ε, ε ~ N(0, I): the sampled representation.

    means, log_variances : arrays (N, D). Returns (N, D).
    """
    means, log_variances = _check_posterior(means, log_variances, "sample_codes")
    noise = as_generator(seed).standard_normal(means.shape)
    return means + np.exp(0.5 * log_variances) * noise


def _flatten(value: float | dict[str, float], prefix: str) -> dict[str, float]:
    if isinstance(value, dict):
        return {f"{prefix}.{key}": float(item) for key, item in value.items()}
    return {f"{prefix}.value": float(value)}


def mean_vs_sampled(metric: Callable[[np.ndarray, np.ndarray], float | dict[str, float]],
                    means: np.ndarray, log_variances: np.ndarray, factors: np.ndarray, *,
                    criterion: str = "kl", threshold: float = 0.01, seed: int = 0
                    ) -> dict[str, float]:
    """Compute ``metric(codes, factors)`` on the mean and on the sampled representation, each
    with all units and with active units only (Bonheme & Grzes 2023).

    Parameters
    ----------
    metric : any metric of this package taking (codes, factors) — bind options with
        ``functools.partial`` (e.g. ``partial(dci, estimator="gbt")``).
    means, log_variances : arrays (N, D) of the encoder's posterior.
    factors : array (N, K).
    criterion, threshold : the activity rule (see :func:`active_units`).
    seed : the sampled representation's noise.

    Returns
    -------
    dict: ``"activity.n_active"``, ``"activity.n_passive"``, and for representation in
    {mean, sampled} and units in {all, active}: ``"activity.<representation>.<units>.<key>"``
    where <key> is the metric's own key (``"value"`` for a scalar metric), e.g.
    ``"activity.sampled.active.dci.disentanglement"``. Raises if no unit is active.
    """
    owner = "mean_vs_sampled"
    if not callable(metric):
        raise TypeError(f"The 'metric' argument of {owner} must be callable. Got {metric!r}.")
    means, log_variances = _check_posterior(means, log_variances, owner)
    active = active_units(means, log_variances if criterion == "kl" else None,
                          criterion=criterion, threshold=threshold)
    if not np.any(active):
        raise ValueError(f"{owner} found no active unit (criterion={criterion!r}, "
                         f"threshold={threshold}); the active-only comparison is empty.")
    sampled = sample_codes(means, log_variances, seed=seed)
    result = {"activity.n_active": float(active.sum()), "activity.n_passive": float((~active).sum())}
    for name, codes in (("mean", means), ("sampled", sampled)):
        result.update(_flatten(metric(codes, factors), f"activity.{name}.all"))
        result.update(_flatten(metric(codes[:, active], factors), f"activity.{name}.active"))
    return result
