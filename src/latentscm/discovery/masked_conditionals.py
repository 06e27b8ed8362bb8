"""One small network per variable, each reading a masked set of the other variables: conditional densities for
every candidate parent set at once.

The model of ENCO's distribution fitting (Lippe, Cohen & Gavves 2022, "Efficient neural causal discovery without
acyclicity constraints", ICLR, §3.2): the network of variable ``j`` predicts ``x_j`` from the other variables, with
input ``i`` zeroed where ``mask[..., j, i] = 0``, so one set of weights gives ``p(x_j | x_S)`` for every parent set
``S`` a sampled graph proposes. The ``d`` networks run in parallel as batched matrix products.

- ``likelihood="gaussian"``: the input of network ``j`` is ``(x ⊙ m_j, m_j)`` (2d values: the mask is appended so
  that a masked input differs from a value of 0), and its output is the mean and log-variance of a Gaussian.
- ``likelihood="categorical"``: the input is the one-hot codes of the unmasked variables (a masked variable reads as
  all zeros), and the output is the logits over ``x_j``'s states (states beyond a variable's own number are never
  predicted). A linear map of a one-hot code is an embedding, as in the authors' model.

Both have ``layers`` hidden layers of ``hidden`` units with leaky ReLUs (negative slope 0.1 for categorical, 0.01 for
Gaussian), as the authors' two model types do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MaskedConditionals"]

#: What :class:`MaskedConditionals` models a variable's conditional distribution with.
LIKELIHOODS = ("gaussian", "categorical")

_LOG_2PI = math.log(2.0 * math.pi)
#: Negative slope of the leaky ReLUs, as in the authors' two model types (categorical: 0.1; Gaussian: torch's 0.01).
_SLOPES = {"gaussian": 0.01, "categorical": 0.1}


class MaskedConditionals(nn.Module):
    """``d`` conditional models ``p(x_j | x_{mask_j})`` run in parallel.

    Parameters
    ----------
    n_variables: d.
    hidden: width of each hidden layer.
    layers: number of hidden layers (>= 1).
    likelihood: ``"gaussian"`` or ``"categorical"``.
    categories: for ``"categorical"``, the number of states of each variable (d,); codes are ``0 .. k-1``.
    generator: seeds the initial weights (Kaiming-uniform for ReLUs per network, ``sqrt(6 / fan_in)``; biases start
        at 0).
    """

    def __init__(self, n_variables: int, *, hidden: int, layers: int, likelihood: str,
                 categories: Sequence[int] | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
        d = int(n_variables)
        self.d, self.likelihood = d, likelihood
        self.slope = _SLOPES[likelihood]
        if likelihood == "categorical":
            if categories is None or len(categories) != d:
                raise ValueError("categorical conditionals need the number of states of each of the d variables.")
            self.n_states = max(int(k) for k in categories)
            valid = torch.arange(self.n_states)[None, :] < torch.as_tensor([int(k) for k in categories])[:, None]
            self.register_buffer("valid_states", valid)  # (d, K)
            in_features, out_features = d * self.n_states, self.n_states
        else:
            self.n_states = 0
            in_features, out_features = 2 * d, 2
        sizes = [in_features] + [int(hidden)] * int(layers) + [out_features]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = math.sqrt(6.0 / fan_in)
            weight = (torch.rand(d, fan_in, fan_out, generator=generator) * 2 - 1) * bound
            bias = torch.zeros(d, fan_out)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The networks' inputs (B, d, F) from data ``x`` (B, d) (float values, or integer codes for categorical)
        and ``mask`` (B, d, d): ``mask[b, j, i] = 1`` when network ``j`` reads ``x_i``."""
        if self.likelihood == "gaussian":
            return torch.cat([x[:, None, :] * mask, mask], dim=-1)
        onehot = nn.functional.one_hot(x.long(), self.n_states).to(mask.dtype)  # (B, d, K)
        return (mask[:, :, :, None] * onehot[:, None, :, :]).flatten(2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Outputs (B, d, O): Gaussian (mean, log-variance) or logits over the states."""
        h = self.encode(x, mask)
        last = len(self.weights) - 1
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = torch.einsum("bjf,jfo->bjo", h, weight) + bias
            if k < last:
                h = nn.functional.leaky_relu(h, self.slope)
        return h

    def nll(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood (B, d) of each ``x_j`` under network ``j`` with its masked inputs."""
        out = self.forward(x, mask)
        if self.likelihood == "gaussian":
            mean, log_var = out[..., 0], out[..., 1].clamp(-12.0, 12.0)
            return 0.5 * (_LOG_2PI + log_var + (x - mean) ** 2 * torch.exp(-log_var))
        logits = out.masked_fill(~self.valid_states, float("-inf"))
        return -torch.log_softmax(logits, dim=-1).gather(-1, x.long()[..., None])[..., 0]
