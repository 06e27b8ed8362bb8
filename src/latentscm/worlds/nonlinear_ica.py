"""The nonlinear-ICA world: latent variables seen through an invertible MLP, as vectors.

The synthetic data of the identifiability literature: a few latent variables ``z``, observations ``x = g(z)`` with
``g`` an invertible leaky-ReLU MLP (Hyvärinen & Morioka, NeurIPS 2016 and AISTATS 2017; Khemakhem, Kingma, Monti &
Hyvärinen, AISTATS 2020, iVAE; Yao, Chen & Zhang, NeurIPS 2022, TDRL, whose stationary benchmarks mix 8 latents
this way). Here:

- ``latents`` factors ``z0 ... z{m-1}``, each on ``[-1, 1]``; by default independent and uniform (nonlinear ICA), or
  any causal structure a user gives (``graph`` and ``mechanisms``, as every world allows; values are clipped to the
  range);
- ``x = sigmoid(g(z) / h)`` (:class:`~latentscm.worlds.invertible_mlp.InvertibleMLP`, ``mixing_layers`` square maps,
  ``h`` set on 2,000 draws of the world's own distribution), stored as ``(N, m, 1, 1)`` vectors in (0, 1);
- :meth:`read_factors` inverts the mixing exactly (up to float32 rounding of the observations), so a learner's codes
  can be compared with the true latents and counterfactual renderings with exact read-outs.

Wrapped in a :class:`~latentscm.worlds.temporal.TemporalWorld`, the latents follow a temporal process and the
standardised state is the latent itself (the range is ``[-1, 1]``): the vector analogue of the image worlds, on
which a temporal learner can be checked against the setting its paper's theory and experiments use.
"""

from __future__ import annotations

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.worlds.base import FactorSpec, World
from latentscm.worlds.invertible_mlp import ACTIVATIONS, InvertibleMLP

__all__ = ["NonlinearICA"]


class NonlinearICA(World):
    """Latents on ``[-1, 1]`` through an invertible MLP (see the module docstring).

    Parameters
    ----------
    latents : int, default 4
        Number of latent variables (>= 1), named ``z0 ...``; also the observation dimension.
    mixing_layers : int, default 3
        Linear maps of the mixing MLP (>= 1; 1 is a linear mixing before the sigmoid).
    activation : {"leaky_relu", "leaky_tanh"}, default "leaky_relu"
        Between the linear maps: kinked leaky ReLUs (the nonlinear-ICA literature's) or the smooth
        ``tanh(h) + 0.1 h`` of Liang et al. (2023)'s CauCA code, on each layer's scale
        (:class:`~latentscm.worlds.invertible_mlp.InvertibleMLP`). A density fitted by a smooth flow can match the
        second exactly; the first's density jumps across every kink.
    seed : int, default 0
        Seeds the mixing and the pilot sample that scales it.
    graph, mechanisms
        Optional causal structure over the latents (see :meth:`World._init_structure`); none by default.
    """

    name = "nonlinear-ica"

    def __init__(self, *, latents: int = 4, mixing_layers: int = 3, activation: str = "leaky_relu", seed: int = 0,
                 graph: CausalGraph | str | None = None, mechanisms=None):
        owner = type(self).__name__
        self.latents = check_number(latents, "latents", owner, low=1, integer=True)
        self.mixing_layers = check_number(mixing_layers, "mixing_layers", owner, low=1, integer=True)
        self.seed = check_number(seed, "seed", owner, low=0, integer=True)
        self.factor_specs = tuple(FactorSpec(f"z{j}", low=-1.0, high=1.0, description=f"latent {j}")
                                  for j in range(self.latents))
        self.image_shape = (self.latents, 1, 1)
        self.activation = check_choice(activation, "activation", owner, ACTIVATIONS)
        self._options = {"latents": self.latents, "mixing_layers": self.mixing_layers, "activation": self.activation,
                         "seed": self.seed}
        self._init_structure(graph, mechanisms)
        self._mixing = InvertibleMLP(self.latents, self.mixing_layers, np.random.default_rng([self.seed, 2]),
                                     activation=self.activation)
        values = self.scm.sample(2000, seed=np.random.default_rng([self.seed, 3]))
        self._mixing.calibrate(np.stack([values[name] for name in self.factor_names], axis=1))

    def read_factors(self, images: np.ndarray) -> np.ndarray:
        """Exact latents (N, m) of observations (N, m, 1, 1) or (N, m) (float32 observations: up to their rounding)."""
        images = np.asarray(images)
        if images.ndim not in (2, 4) or int(np.prod(images.shape[1:])) != self.latents:
            raise ValueError(f"NonlinearICA.read_factors: the 'images' argument must have shape (N, {self.latents}, 1, "
                             f"1) or (N, {self.latents}). Got {images.shape}.")
        return self._mixing.unmix(images.reshape(images.shape[0], self.latents))

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        return self._mixing.mix(factors).astype(np.float32).reshape(-1, self.latents, 1, 1)
