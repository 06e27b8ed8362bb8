"""Causal discovery from many small environments: the world's factors or a learner's codes.

A world's :meth:`~latentscm.worlds.base.World.environments` draws E environments of m exchangeable
samples each, with every mechanism's parameters drawn afresh per environment (independent causal
mechanisms). That is the data model of Causal de Finetti (Guo, Tóth, Schölkopf & Huszár, NeurIPS
2023), and — pooled, with the environment index as a context variable — the data CD-NOD uses
(Huang et al., JMLR 2020). This module feeds either one from an ``Environments`` object, on the true
factors or on the codes of a trained learner (``encode``: images -> codes), and pooled PC as the
i.i.d. baseline:

- ``method="cdf"``: :func:`~latentscm.discovery.causal_de_finetti.causal_de_finetti` on (E, m, D);
- ``method="cdnod"``: :func:`~latentscm.discovery.cdnod.cdnod` on the pooled (E * m, D) rows with the
  environment index as context (when every mechanism varies, every variable is adjacent to the
  index and CD-NOD orients only colliders: its step for edges between two changing variables,
  ``cdnod(orient_changing=True)``, is not used here; with ``environments(..., factors=[roots])`` it
  orients the rest by Meek's rules);
- ``method="pc"``: pooled PC (ignores the environments; orients only colliders).

The module takes any object with ``factors`` (E, m, K), ``images`` (E, m, C, H, W) or ``None`` and
``factor_names``, so discovery does not import the worlds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_choice
from latentscm.discovery.causal_de_finetti import causal_de_finetti
from latentscm.discovery.cdnod import cdnod
from latentscm.discovery.ci_tests.base import CITest
from latentscm.discovery.pc import pc
from latentscm.discovery.result import DiscoveredGraph, _names

__all__ = ["ENVIRONMENT_METHODS", "environment_variables", "discover_environments"]

#: Methods :func:`discover_environments` runs.
ENVIRONMENT_METHODS = ("cdf", "cdnod", "pc")


def environment_variables(environments: Any, *, encode: Callable[[np.ndarray], Any] | None = None,
                          code_names: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """The variables discovery runs on, per environment: factors, or codes of the images.

    Parameters
    ----------
    environments : Environments
        Any object with ``factors`` (E, m, K), ``images`` (E, m, C, H, W) or ``None``, and
        ``factor_names`` (K,) — e.g. the result of ``world.environments(...)``.
    encode : callable, optional
        ``images (E * m, C, H, W) -> codes (E * m, D)``, e.g. ``learner.encode``. ``None``: use the
        true factors.
    code_names : sequence of str, optional
        Names of the D codes (default ``z0 .. z{D-1}``); only with ``encode``.

    Returns
    -------
    values : ndarray, shape (E, m, D)
        Factors (D = K) or codes, float64.
    names : tuple of str
        The D variable names.

    Raises
    ------
    ValueError
        The environments hold no images but ``encode`` is given, the images do not match the factors'
        (E, m), or the codes have the wrong shape or are not finite.
    """
    owner = "environment_variables"
    factors = check_array(getattr(environments, "factors", None), "environments.factors", owner, ndim=3)
    n_envs, per_env, _ = factors.shape
    if encode is None:
        if code_names is not None:
            raise ValueError(f"The 'code_names' argument of {owner} is only used with 'encode'.")
        return factors, tuple(environments.factor_names)
    if not callable(encode):
        raise TypeError(f"The 'encode' argument of {owner} must be callable (images -> codes). Got {encode!r}.")
    images = getattr(environments, "images", None)
    if images is None:
        raise ValueError(f"The environments given to {owner} hold no images (rendered with render=False); "
                         "encode needs images.")
    images = np.asarray(images)
    if images.ndim < 3 or images.shape[:2] != (n_envs, per_env):
        raise ValueError(f"The images of the environments given to {owner} have shape {images.shape}; expected "
                         f"({n_envs}, {per_env}, C, H, W) to match environments.factors {factors.shape}.")
    flat = images.reshape(n_envs * per_env, *images.shape[2:])
    codes = check_array(encode(flat), "encode(images)", owner, ndim=2)
    if codes.shape[0] != flat.shape[0]:
        raise ValueError(f"encode returned {codes.shape[0]} codes for {flat.shape[0]} images.")
    names = _names(code_names, codes.shape[1], owner, "code_names") if code_names is not None else tuple(
        f"z{i}" for i in range(codes.shape[1]))
    return codes.reshape(n_envs, per_env, codes.shape[1]), names


def discover_environments(environments: Any, *, method: str = "cdf",
                          encode: Callable[[np.ndarray], Any] | None = None,
                          code_names: Sequence[str] | None = None, ci_test: str | CITest = "fisherz",
                          alpha: float = 0.05, context_name: str = "environment",
                          max_depth: int | None = None,
                          ci_options: Mapping[str, Any] | None = None) -> DiscoveredGraph:
    """Discover a graph from exchangeable environments (true factors or learned codes).

    Parameters
    ----------
    environments : Environments
        See :func:`environment_variables`.
    method : {"cdf", "cdnod", "pc"}
        Causal de Finetti on the environments, CD-NOD with the environment index as context, or
        pooled PC (the i.i.d. baseline).
    encode, code_names
        See :func:`environment_variables`.
    ci_test, alpha, max_depth, ci_options
        As for :func:`~latentscm.discovery.pc.pc`.
    context_name : str
        Name of the environment-index node CD-NOD adds (last node of its graph).

    Returns
    -------
    DiscoveredGraph
        Over the D variables (CD-NOD: plus the context node); ``info["environments"]`` holds
        ``(E, m)`` and ``info["variables"]`` is ``"factors"`` or ``"codes"``.

    Raises
    ------
    ValueError
        Unknown method, a single environment, or the errors of :func:`environment_variables`
        and of the method.
    """
    owner = "discover_environments"
    check_choice(method, "method", owner, ENVIRONMENT_METHODS)
    values, names = environment_variables(environments, encode=encode, code_names=code_names)
    n_envs, per_env, d = values.shape
    if n_envs < 2 and method != "pc":
        raise ValueError(f"{owner} with method={method!r} needs at least 2 environments. Got {n_envs}.")
    if method == "cdf":
        graph = causal_de_finetti(values, ci_test=ci_test, alpha=alpha, node_names=names, max_depth=max_depth,
                                  ci_options=ci_options)
    elif method == "cdnod":
        index = np.repeat(np.arange(n_envs, dtype=np.float64), per_env)
        graph = cdnod(values.reshape(n_envs * per_env, d), index, ci_test=ci_test, alpha=alpha, node_names=names,
                      context_name=context_name, max_depth=max_depth, ci_options=ci_options)
    else:
        graph = pc(values.reshape(n_envs * per_env, d), ci_test=ci_test, alpha=alpha, node_names=names,
                   max_depth=max_depth, ci_options=ci_options)
    info = {**graph.info, "environments": [int(n_envs), int(per_env)],
            "variables": "factors" if encode is None else "codes"}
    return DiscoveredGraph(graph.nodes, graph.adjacency, graph.separating_sets, info)
