"""Solution functions of an implicit latent causal model (Brehmer, de Haan, Lippe & Cohen, NeurIPS 2022).

An implicit latent causal model (ILCM) never builds a graph. It keeps one *noise encoding* ``e_i``
per causal variable and, for each ``i``, a solution function that turns the noise into the causal
variable given the other noise values:

    z_i = s_i(e_i; e_{\\i}) = (e_i - shift_i(e_{\\i})) / scale_i(e_{\\i}),
    scale_i = exp(log_scale_i(e_{\\i})) + min_scale,

an affine map in ``e_i`` whose shift and log-scale come from a small MLP of the other noise values
(``e_i`` masked to 0, the mask appended as in the paper's code). In a solved SCM ``z_i`` depends
on its ancestors' noise only; the learned ``s_i`` may use any ``e_j``, and a trained model's
dependences are read back into a graph by :mod:`latentscm.learners.implicit_graph`.

Under a perfect intervention on ``z_i`` the new value ``z~_i`` is drawn from ``N(0, 1)`` and the other
noise values stay, so ``e~_i = s_i^{-1}(z~_i; e_{\\i})`` and the density of the post-intervention
noise is ``N(s_i(e~_i; e_{\\i}); 0, 1) |ds_i / de~_i|`` (:meth:`SolutionFunctions.intervened_log_prob`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentscm.nn.mlp import MLP

__all__ = ["SolutionFunctions"]

_LOG_2PI = math.log(2.0 * math.pi)


class SolutionFunctions(nn.Module):
    """``D`` conditional affine solution functions ``z_i = s_i(e_i; e_{\\i})``, one MLP each.

    Parameters
    ----------
    dim : int
        Number of causal variables D.
    hidden : int, default 100
        Width of each MLP's hidden layers.
    layers : int, default 2
        Number of hidden layers.
    min_scale : float, default 0.2
        Added to ``exp(log_scale)``: keeps every ``s_i`` well conditioned (the paper's ``min_std``).
    initial_log_scale : float, default 2.3
        Initial ``log_scale`` (the paper's "broad" initialisation: ``scale`` near 10, so that early in
        training the post-intervention noise density is wide).
    """

    def __init__(self, dim: int, *, hidden: int = 100, layers: int = 2, min_scale: float = 0.2,
                 initial_log_scale: float = 2.3):
        super().__init__()
        self.dim = int(dim)
        self.min_scale = float(min_scale)
        self.nets = nn.ModuleList(MLP(2 * self.dim, [int(hidden)] * int(layers), 2, negative_slope=0.0)
                                  for _ in range(self.dim))
        with torch.no_grad():
            for net in self.nets:
                last = net.layers[-1]
                # output 0: log scale, almost independent of the context at first; output 1: shift, weakly dependent
                last.weight[0].normal_(0.0, 1e-3)
                last.bias[0].normal_(initial_log_scale, 1e-6)
                last.weight[1].normal_(0.0, 0.1)
                last.bias[1].normal_(0.0, 1e-3)
        masks = torch.ones(self.dim, self.dim) - torch.eye(self.dim)
        self.register_buffer("context_masks", masks)  # row i: which e_j the i-th function sees

    def _parameters_of(self, i: int, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift), each (N,), of ``s_i`` given ``context`` (N, D) noise values (entry i ignored)."""
        mask = self.context_masks[i].to(context.dtype)
        out = self.nets[i](torch.cat([context * mask, mask.expand_as(context)], dim=1))
        scale = out[:, 0].clamp(max=30.0).exp() + self.min_scale
        return scale, out[:, 1]

    def solve(self, noise: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Causal variables ``z`` (N, D) and ``log |dz_i / de_i|`` (N, D) from ``noise`` (N, D); each ``s_i``
        reads the other noise values from ``context`` (N, D) (default ``noise`` itself)."""
        context = noise if context is None else context
        zs, log_dets = [], []
        for i in range(self.dim):
            scale, shift = self._parameters_of(i, context)
            zs.append((noise[:, i] - shift) / scale)
            log_dets.append(-scale.log())
        return torch.stack(zs, dim=1), torch.stack(log_dets, dim=1)

    def solve_one(self, i: int, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``z_i = s_i(noise; context)`` (N,) for the i-th noise values ``noise`` (N,) and ``context`` (N, D)."""
        scale, shift = self._parameters_of(i, context)
        return (noise - shift) / scale

    def invert_one(self, i: int, value: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``e_i`` (N,) with ``s_i(e_i; context) = value`` for ``value`` (N,) and ``context`` (N, D)."""
        scale, shift = self._parameters_of(i, context)
        return value * scale + shift

    def invert(self, z: torch.Tensor, order: list[int] | None = None, *, sweeps: int | None = None,
               newton_steps: int = 25, tol: float = 1e-5) -> torch.Tensor:
        """Noise ``e`` (N, D) with ``solve(e) = z`` for causal variables ``z`` (N, D).

        Gauss-Seidel sweeps over ``order`` (default 0 ... D-1) starting from ``e = z``: when every
        ``s_i`` depends only on the noise of variables earlier in ``order`` (a topological order of an
        acyclic model) one sweep is exact; otherwise sweeps repeat (``sweeps``, default ``2 D``) until
        the noise stops moving. Rows whose residual ``max |solve(e) - z|`` is still above ``tol`` then
        take up to ``newton_steps`` Newton steps on the full system (per-row Jacobians by autograd), which
        the sweeps need not reach when the model is far from acyclic. :meth:`residual` says how close
        the result is; it is not guaranteed to be below ``tol``.
        """
        order = list(range(self.dim)) if order is None else [int(i) for i in order]
        noise = z.clone()
        for _ in range(int(sweeps) if sweeps is not None else 2 * self.dim):
            previous = noise.clone()
            for i in order:
                noise[:, i] = self.invert_one(i, z[:, i], noise)
            if not torch.isfinite(noise).all():
                noise = z.clone()  # the sweeps diverged: Newton from the start instead
                break
            if torch.allclose(noise, previous, rtol=0.0, atol=1e-6):
                break
        for _ in range(int(newton_steps)):
            gap = self.solve(noise)[0] - z
            open_rows = gap.abs().amax(dim=1) > tol
            if not bool(open_rows.any()):
                break
            rows = noise[open_rows]
            with torch.enable_grad():
                jacobian = torch.func.vmap(torch.func.jacrev(lambda e: self.solve(e[None])[0][0]))(rows)
            step = torch.linalg.lstsq(jacobian, gap[open_rows].unsqueeze(-1)).solution.squeeze(-1)
            noise = noise.clone()
            noise[open_rows] = rows - step
        return noise

    def residual(self, noise: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(N,) ``max_i |solve(noise)_i - z_i|``: how far ``noise`` is from solving to ``z``."""
        return (self.solve(noise)[0] - z).abs().amax(dim=1)

    def intervened_log_prob(self, post: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """``log p(e~_i | e)`` (N, D) of each post-intervention noise ``post[:, i]`` were ``z_i`` intervened on
        (``z~_i ~ N(0, 1)``), given the pre-intervention noise ``pre`` (N, D) as the other variables' noise."""
        z, log_det = self.solve(post, context=pre)
        return -0.5 * (z ** 2 + _LOG_2PI) + log_det
