"""A fitted CausalTime-style generator as a time-series world with an exact oracle.

:meth:`CausalTimeGenerator.generate <latentscm.timeseries.CausalTimeGenerator.generate>` draws series
with their ground-truth graph; :class:`GeneratedWorld` makes the same fitted dynamics a
:class:`~latentscm.worlds.timeseries.base.TimeSeriesWorld`, so series learned from *your* data get
everything a procedural world has: interventions over time windows (``Do`` / ``Shift`` / ``Scale``),
noise abduction, and the exact counterfactual trajectory (with no intervention the factual one is
reproduced bit for bit). The structural form, per step ``t`` and variable ``j``::

    x_{j,t} = mean_j + scale_j * (m_j(x_{t-1..t-tau_max}) + eps_{j,t})

where ``m_j`` is the generator's one-step mean in standardised units (the masked predictor ``g_j``,
plus the residual term ``r_j`` with ``residual="added"``, plus ``x_{j,t-1}`` with
``target="difference"``), ``mean_j, scale_j`` the fitted standardisation, and ``eps_{j,t}`` the
generator's noise (its Gaussian or resampled residuals). With ``residual="child"`` the residual columns
``r_j`` are variables too, deterministic (``eps = 0``) children of every input of ``f_j`` and parents of
nothing; intervening on them changes no other column. The window graph is
:meth:`~latentscm.timeseries.CausalTimeGenerator.ground_truth`: no lag-0 links, so every step is one
contemporaneous layer.

Trajectories start from a window of the fitted series chosen at random (as ``generate`` does) and run
``burn_in`` steps before ``t = 0``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from latentscm.worlds.timeseries.base import TimeSeriesWorld

if TYPE_CHECKING:
    from latentscm.timeseries.causaltime import CausalTimeGenerator

__all__ = ["GeneratedWorld"]


class GeneratedWorld(TimeSeriesWorld):
    """The dynamics of a fitted :class:`~latentscm.timeseries.CausalTimeGenerator` as a world.

    Build it with :meth:`CausalTimeGenerator.to_world`; see the module docstring for the structural
    form. ``sample``, ``counterfactual``, ``abduct`` and ``graph`` are those of
    :class:`~latentscm.worlds.timeseries.base.TimeSeriesWorld`.

    Parameters
    ----------
    generator : a fitted CausalTimeGenerator. The world keeps a snapshot of its fit: refitting the generator
        later changes neither the dynamics nor the graph of this world (they would disagree otherwise).
    burn_in : steps simulated from the start window and dropped before ``t = 0``.
    """

    name = "generated"

    def __init__(self, generator: CausalTimeGenerator, *, burn_in: int = 50) -> None:
        generator._check_fitted("GeneratedWorld")
        # fit() replaces the fitted attributes (new networks, arrays) rather than changing them in place, so a
        # shallow copy keeps this fit's dynamics together with the graph and names taken from it here
        generator = copy.copy(generator)
        names = tuple(generator.var_names_)
        if generator.residual == "child":
            names = (*names, *(f"{name}_residual" for name in names))
        super().__init__(names, generator.ground_truth(), burn_in=burn_in)
        self.generator = generator
        self._d = len(generator.var_names_)

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        gen, d = self.generator, self._d
        standard = (past[:, :d] - gen.mean_) / gen.scale_  # (L, d), past[-tau] = x_{t-tau}
        window = standard[::-1].reshape(1, -1)  # column (tau - 1) * d + i = x_{i,t-tau}
        with torch.no_grad():
            mean, residual = gen._one_step(torch.as_tensor(window.copy(), dtype=torch.float32))
        loc = mean.double().numpy()[0] * gen.scale_ + gen.mean_
        scale = np.array(gen.scale_, dtype=np.float64)
        if self.n_vars > d:  # residual="child": deterministic residual columns
            loc = np.concatenate([loc, residual.double().numpy()[0] * gen.scale_])
            scale = np.concatenate([scale, np.ones(d)])
        return loc[nodes], scale[nodes]

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        gen, d = self.generator, self._d
        if gen.noise == "gaussian":
            noise = rng.standard_normal((n_steps, d)) * gen.noise_scale_
        else:
            centred = gen.residuals_ - gen.residuals_.mean(axis=0)
            noise = centred[rng.integers(0, centred.shape[0], size=(n_steps, d)), np.arange(d)]
        if self.n_vars > d:
            noise = np.concatenate([noise, np.zeros((n_steps, d))], axis=1)
        return noise

    def _initial_state(self, rng: np.random.Generator) -> np.ndarray:
        gen, d, L = self.generator, self._d, self.lag_max
        source = gen._seed_windows  # the fitted series, standardised (T, d)
        start = int(rng.integers(0, source.shape[0] - L + 1))
        state = np.zeros((L, self.n_vars))
        state[:, :d] = source[start: start + L] * gen.scale_ + gen.mean_
        return state

    def __repr__(self) -> str:
        return (f"GeneratedWorld(d={self.n_vars}, lag_max={self.lag_max}, residual={self.generator.residual!r}, "
                f"burn_in={self.burn_in})")
