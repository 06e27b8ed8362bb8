"""Expected free energy of action sequences under a world model, and the policies to score.

For a policy ``pi = (a_1, ..., a_H)`` and the current belief ``q(s_0)``, the world model's
transition predicts beliefs ``q(s_tau | pi)`` and the expected free energy is (Friston et al.
2015, "Active inference and epistemic value"; Friston et al. 2017, "Active inference: a process
theory"; Parr & Friston 2019, "Generalised free energy and active inference")::

    G(pi) = sum_tau  KL(q(s_tau | pi) || p~(s))          risk
                   + E_q(s_tau | pi) H[p(o_tau | s_tau)]  ambiguity

The preferred distribution ``p~(s)`` is the posterior belief of the preferred observation (the
goal view), as in deep active inference agents that are given a goal image (Van de Maele et al.
2021; Ferraro et al. 2022, "Disentangling shape and pose for object-centric deep active inference
models"). Ambiguity is the Bernoulli entropy of the decoder at the predicted mean (a one-point
estimate of the expectation; weighted by ``ambiguity_weight``). Policies are enumerated
exhaustively (``A ** H`` sequences), which is exact for the short horizons (2-3) used here.

Shapes: beliefs (D,) or (1, D); policies (P, H) int64; every score (P,) float64 in nats.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from latentscm._validation import check_number
from latentscm.active.world_model import WorldModel, bernoulli_entropy, gaussian_kl

__all__ = ["enumerate_policies", "expected_free_energy", "ExpectedFreeEnergy"]

#: Refuse to enumerate more policies than this (A ** H grows fast).
MAX_POLICIES = 100_000


def enumerate_policies(n_actions: int, horizon: int) -> np.ndarray:
    """Every action sequence of length ``horizon`` over ``n_actions`` actions: (A ** H, H) int64,
    in lexicographic order (so the first minimiser is the lexicographically smallest)."""
    n_actions = check_number(n_actions, "n_actions", "enumerate_policies", low=1, integer=True)
    horizon = check_number(horizon, "horizon", "enumerate_policies", low=1, integer=True)
    if n_actions ** horizon > MAX_POLICIES:
        raise ValueError(f"enumerate_policies: {n_actions} actions over horizon {horizon} give {n_actions ** horizon} "
                         f"policies, more than {MAX_POLICIES}; use a shorter horizon.")
    return np.array(list(itertools.product(range(n_actions), repeat=horizon)), dtype=np.int64).reshape(-1, horizon)


@dataclass(frozen=True)
class ExpectedFreeEnergy:
    """Scores of P policies (each (P,) float64, nats): ``total = risk + ambiguity_weight * ambiguity``.
    ``ambiguity`` is not computed (all zeros) when ``ambiguity_weight`` is 0."""

    total: np.ndarray
    risk: np.ndarray
    ambiguity: np.ndarray


def _belief(value: np.ndarray, size: int, what: str) -> torch.Tensor:
    array = np.asarray(value, dtype=np.float32).reshape(-1)
    if array.size != size or not np.all(np.isfinite(array)):
        raise ValueError(f"expected_free_energy: {what} must be {size} finite numbers. Got shape "
                         f"{np.shape(value)}.")
    return torch.from_numpy(np.ascontiguousarray(array))[None, :]  # a reversed view has negative strides


def expected_free_energy(model: WorldModel, belief: tuple[np.ndarray, np.ndarray],
                         goal: tuple[np.ndarray, np.ndarray], policies: np.ndarray, *,
                         ambiguity_weight: float = 1.0) -> ExpectedFreeEnergy:
    """Expected free energy of ``policies`` from ``belief`` toward the preferred belief ``goal``.

    Parameters
    ----------
    model : WorldModel
        A fitted world model (its transition predicts the beliefs, its decoder the ambiguity).
    belief : (mean, logvar)
        The current belief, (D,) each.
    goal : (mean, logvar)
        The preferred belief ``p~(s)`` (the posterior of the goal view), (D,) each.
    policies : np.ndarray
        (P, H) int64 action sequences (:func:`enumerate_policies`).
    ambiguity_weight : float, default 1.0
        Weight of the ambiguity term (0 scores risk only).

    Returns
    -------
    ExpectedFreeEnergy
        Risk, ambiguity and their weighted sum, each (P,) float64, summed over the horizon (the
        ambiguity is left at zero, not computed, when ``ambiguity_weight`` is 0: it would not count).
    """
    model._check_fitted()
    ambiguity_weight = check_number(ambiguity_weight, "ambiguity_weight", "expected_free_energy", low=0)
    policies = np.asarray(policies)
    if policies.ndim != 2 or policies.size == 0 or policies.dtype.kind not in "iu":
        raise ValueError(f"expected_free_energy: policies must be a non-empty (P, H) int array. Got "
                         f"{policies.dtype} {policies.shape}.")
    if policies.min() < 0 or policies.max() >= model.n_actions_:
        raise ValueError(f"expected_free_energy: policies hold actions outside 0..{model.n_actions_ - 1}.")
    d = model.latent_size
    mean = _belief(belief[0], d, "belief mean").expand(policies.shape[0], d)
    logvar = _belief(belief[1], d, "belief logvar").expand(policies.shape[0], d)
    goal_mean = _belief(goal[0], d, "goal mean").expand_as(mean)
    goal_logvar = _belief(goal[1], d, "goal logvar").expand_as(mean)
    actions = torch.from_numpy(policies.astype(np.int64))
    risk = torch.zeros(policies.shape[0], dtype=torch.float64)
    ambiguity = torch.zeros(policies.shape[0], dtype=torch.float64)
    with torch.no_grad():
        for tau in range(policies.shape[1]):
            mean, logvar = model._transition(mean, logvar, actions[:, tau])
            # in float64: a sharp preferred belief (logvar below ~-88) underflows exp(logvar) in float32 and would
            # make every policy's risk inf (the argmin then picks policy 0 whatever the beliefs)
            risk += gaussian_kl(mean.double(), logvar.double(), goal_mean.double(), goal_logvar.double())
            if ambiguity_weight > 0:
                ambiguity += bernoulli_entropy(model._decode(mean)).double()
    risk_np, ambiguity_np = risk.numpy(), ambiguity.numpy()
    return ExpectedFreeEnergy(risk_np + ambiguity_weight * ambiguity_np, risk_np, ambiguity_np)
