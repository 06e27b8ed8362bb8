"""A small conditional UNet that predicts the noise eps(x_t, t, cond) of a diffusion model.

The layout follows the DDPM network of Ho et al. (2020), itself a PixelCNN++-style UNet: a
sinusoidal timestep embedding (Vaswani et al. 2017) through a two-layer MLP; residual blocks
(GroupNorm, SiLU, 3x3 convolutions, the embedding added per channel); stride-2 convolutions down
and nearest-neighbour upsampling back, with skip connections; optional self-attention at the
lowest resolution. The condition vector (N, cond_dim) is projected by its own MLP and reaches
every residual block in one of two ways:

- ``cond_mode="film"`` (default): feature-wise linear modulation (FiLM, Perez et al. 2018) of
  the normalised features, ``h <- GroupNorm(h) * (1 + gamma(c)) + beta(c)`` per channel, i.e.
  adaptive group normalisation as in Dhariwal & Nichol (2021), driven by the condition;
- ``cond_mode="add"``: *added* to the time embedding, as in CausalDiffAE (Komanduri et al. 2024),
  which a network can learn to ignore.

With ``cond_maps=True`` the condition is also broadcast over the image plane and concatenated to
the input as ``cond_dim`` extra channels (label maps), so the first convolution sees it at every
pixel. ``image_cond_channels > 0`` adds spatial conditioning channels given per call (e.g. a
coarse image to refine, as in DiffuseVAE, Pandey et al. 2022). The network knows nothing of
graphs or of a "null" condition: for classifier-free guidance the caller passes zeros (or its own
null vector) as the unconditional input.

All sizes come from the constructor; any image whose height and width are divisible by
``2 ** (len(channel_multipliers) - 1)`` works. The defaults (base 32, multipliers (1, 2, 2), one
residual block per level, ~1M parameters) train on a CPU at 32x32.

References
----------
Ho, Jain & Abbeel (2020), Denoising Diffusion Probabilistic Models (appendix B).

Preechakul et al. (2022), Diffusion Autoencoders (the semantic code conditions the UNet).

Komanduri, Zhao, Chen & Wu (2024), Causal Diffusion Autoencoders.

Perez, Strub, de Vries, Dumoulin & Courville (2018), FiLM: Visual Reasoning with a General
Conditioning Layer.

Dhariwal & Nichol (2021), Diffusion Models Beat GANs on Image Synthesis (adaptive GroupNorm).

Pandey, Mukherjee, Rai & Kumar (2022), DiffuseVAE (image-conditioned refinement).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from latentscm._validation import check_choice, check_number

__all__ = ["COND_MODES", "UNet", "timestep_embedding", "group_count"]

#: How the condition vector enters the residual blocks (see the module docstring).
COND_MODES = ("film", "add")

_OWNER = "UNet"


def timestep_embedding(t: torch.Tensor, dim: int, *, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps (Vaswani et al. 2017, sec. 3.5).

    Parameters
    ----------
    t : torch.Tensor of shape (N,)
        Timesteps, integer or float.
    dim : int
        Embedding width; the first half holds cosines, the second sines (a zero column is
        appended when ``dim`` is odd).
    max_period : float, default 10000.0
        The longest wavelength.

    Returns
    -------
    torch.Tensor of shape (N, dim)
        float32, on ``t``'s device.
    """
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.to(torch.float32)[:, None] * frequencies[None, :]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    if dim % 2:
        embedding = F.pad(embedding, (0, 1))
    return embedding


def group_count(channels: int, max_groups: int = 32, min_group_size: int = 4) -> int:
    """The number of GroupNorm groups for ``channels``: the largest divisor of ``channels`` that is
    at most ``max_groups`` and leaves at least ``min_group_size`` channels per group (1 when the
    channels are fewer than ``min_group_size``). 32 channels -> 8 groups, 64 -> 16, 96 -> 24."""
    limit = max(1, min(max_groups, channels // min_group_size))
    return max(g for g in range(1, limit + 1) if channels % g == 0)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(group_count(channels), channels)


class ResidualBlock(nn.Module):
    """(N, C_in, H, W), a time embedding (N, E) and optionally a condition embedding (N, E_c) ->
    (N, C_out, H, W) (Ho et al. 2020, appendix B; FiLM of the second normalisation by the
    condition when ``cond_embed_dim > 0``, Perez et al. 2018)."""

    def __init__(self, in_channels: int, out_channels: int, embed_dim: int, dropout: float, cond_embed_dim: int = 0):
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.embed = nn.Linear(embed_dim, out_channels)
        self.norm2 = _norm(out_channels)
        self.film = nn.Linear(cond_embed_dim, 2 * out_channels) if cond_embed_dim else None
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor,
                cond_embedding: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h + self.embed(F.silu(embedding))[:, :, None, None])
        if self.film is not None and cond_embedding is not None:
            gamma, beta = self.film(F.silu(cond_embedding))[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + gamma) + beta
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions, with a residual connection."""

    def __init__(self, channels: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.num_heads, c // self.num_heads, h * w).unbind(1)
        # (N, heads, positions, head_dim) for scaled_dot_product_attention.
        attended = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(attended.transpose(-1, -2).reshape(n, c, h, w))


class Downsample(nn.Module):
    """Halve H and W with a stride-2 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Double H and W: nearest-neighbour upsampling, then a 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """Noise prediction ``eps = UNet(x_t, t, cond)``: (N, C, H, W), (N,), (N, cond_dim) -> (N, C_out, H, W).

    Parameters
    ----------
    in_channels : int >= 1, default 3
        Image channels C.
    out_channels : int >= 1 or None, default None
        Predicted channels (None: ``in_channels``, so that epsilon has the image's shape).
    base_channels : int >= 1, default 32
        Channels of the first level.
    channel_multipliers : sequence of int >= 1, default (1, 2, 2)
        One entry per resolution level; level i has ``base_channels * channel_multipliers[i]``
        channels and every level but the last is followed by a 2x downsampling.
    num_res_blocks : int >= 1, default 1
        Residual blocks per level on the way down (one more on the way up, which also takes the
        skip connections).
    cond_dim : int >= 0, default 0
        Width of the condition vector; 0 makes an unconditional network whose ``cond`` must be
        None.
    time_embed_dim : int >= 1 or None, default None
        Width of the time (and condition) embedding; None means ``4 * base_channels``.
    attention : bool, default True
        Self-attention in the middle block, at the lowest resolution.
    num_heads : int >= 1, default 1
        Attention heads; must divide the lowest-resolution channels.
    dropout : float in [0, 1), default 0.0
        Dropout rate inside the residual blocks.
    cond_mode : {"film", "add"}, default "film"
        ``"film"`` (FiLM in every residual block) or ``"add"`` (added to the time embedding);
        see the module docstring.
    cond_maps : bool, default False
        Also feed the condition as ``cond_dim`` constant input channels (needs ``cond_dim > 0``).
    image_cond_channels : int >= 0, default 0
        Extra spatial input channels passed per call as ``image_cond``
        (N, image_cond_channels, H, W); 0 for none.

    Raises
    ------
    ValueError
        On invalid sizes or combinations, naming the parameter and the value.
    TypeError
        On arguments of the wrong type, naming the parameter and the value.

    Examples
    --------
    >>> net = UNet(in_channels=3, cond_dim=4)
    >>> eps = net(torch.zeros(2, 3, 32, 32), torch.tensor([0, 999]), torch.zeros(2, 4))
    >>> tuple(eps.shape)
    (2, 3, 32, 32)
    """

    def __init__(self, in_channels: int = 3, *, out_channels: int | None = None, base_channels: int = 32,
                 channel_multipliers: Sequence[int] = (1, 2, 2), num_res_blocks: int = 1, cond_dim: int = 0,
                 time_embed_dim: int | None = None, attention: bool = True, num_heads: int = 1,
                 dropout: float = 0.0, cond_mode: str = "film", cond_maps: bool = False,
                 image_cond_channels: int = 0):
        super().__init__()
        self.in_channels = int(check_number(in_channels, "in_channels", _OWNER, low=1, integer=True))
        self.out_channels = self.in_channels if out_channels is None else int(
            check_number(out_channels, "out_channels", _OWNER, low=1, integer=True))
        self.base_channels = int(check_number(base_channels, "base_channels", _OWNER, low=1, integer=True))
        if isinstance(channel_multipliers, (str, bytes)) or not isinstance(channel_multipliers, Sequence) \
                or len(channel_multipliers) == 0:
            raise TypeError(f"The 'channel_multipliers' parameter of {_OWNER} must be a non-empty sequence of "
                            f"positive ints. Got {channel_multipliers!r} instead.")
        self.channel_multipliers = tuple(int(check_number(m, "channel_multipliers", _OWNER, low=1, integer=True))
                                         for m in channel_multipliers)
        self.num_res_blocks = int(check_number(num_res_blocks, "num_res_blocks", _OWNER, low=1, integer=True))
        self.cond_dim = int(check_number(cond_dim, "cond_dim", _OWNER, low=0, integer=True))
        self.time_embed_dim = 4 * self.base_channels if time_embed_dim is None else int(
            check_number(time_embed_dim, "time_embed_dim", _OWNER, low=1, integer=True))
        if not isinstance(attention, bool):
            raise TypeError(f"The 'attention' parameter of {_OWNER} must be a bool. Got {attention!r} instead.")
        self.attention = attention
        self.num_heads = int(check_number(num_heads, "num_heads", _OWNER, low=1, integer=True))
        self.dropout = float(check_number(dropout, "dropout", _OWNER, low=0.0, high=1.0, high_inclusive=False))
        self.cond_mode = check_choice(cond_mode, "cond_mode", _OWNER, COND_MODES)
        if not isinstance(cond_maps, bool):
            raise TypeError(f"The 'cond_maps' parameter of {_OWNER} must be a bool. Got {cond_maps!r} instead.")
        if cond_maps and not self.cond_dim:
            raise ValueError(f"The 'cond_maps' parameter of {_OWNER} needs cond_dim > 0 (there is no condition to "
                             f"broadcast).")
        self.cond_maps = cond_maps
        self.image_cond_channels = int(check_number(image_cond_channels, "image_cond_channels", _OWNER, low=0,
                                                    integer=True))

        widths = [self.base_channels * m for m in self.channel_multipliers]
        if attention and widths[-1] % self.num_heads:
            raise ValueError(f"The 'num_heads' parameter of {_OWNER} must divide the lowest-resolution channels "
                             f"({widths[-1]} = base_channels * channel_multipliers[-1]). Got {self.num_heads}.")
        embed = self.time_embed_dim
        self.time_mlp = nn.Sequential(nn.Linear(self.base_channels, embed), nn.SiLU(), nn.Linear(embed, embed))
        self.cond_mlp = (nn.Sequential(nn.Linear(self.cond_dim, embed), nn.SiLU(), nn.Linear(embed, embed))
                         if self.cond_dim else None)

        film = embed if self.cond_dim and self.cond_mode == "film" else 0
        extra_inputs = (self.cond_dim if self.cond_maps else 0) + self.image_cond_channels
        self.conv_in = nn.Conv2d(self.in_channels + extra_inputs, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        skip_widths = [widths[0]]
        channels = widths[0]
        for level, width in enumerate(widths):
            for _ in range(self.num_res_blocks):
                self.down.append(ResidualBlock(channels, width, embed, self.dropout, film))
                channels = width
                skip_widths.append(channels)
            if level < len(widths) - 1:
                self.down.append(Downsample(channels))
                skip_widths.append(channels)

        self.mid_block1 = ResidualBlock(channels, channels, embed, self.dropout, film)
        self.mid_attention = SelfAttention(channels, self.num_heads) if attention else nn.Identity()
        self.mid_block2 = ResidualBlock(channels, channels, embed, self.dropout, film)

        self.up = nn.ModuleList()
        for level in reversed(range(len(widths))):
            for _ in range(self.num_res_blocks + 1):
                self.up.append(ResidualBlock(channels + skip_widths.pop(), widths[level], embed, self.dropout,
                                               film))
                channels = widths[level]
            if level > 0:
                self.up.append(Upsample(channels))
        self.norm_out = _norm(channels)
        self.conv_out = nn.Conv2d(channels, self.out_channels, 3, padding=1)

    @property
    def size_multiple(self) -> int:
        """Image heights and widths must be multiples of this (``2 ** (levels - 1)``)."""
        return 2 ** (len(self.channel_multipliers) - 1)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments: ``UNet(**net.config)`` rebuilds the architecture."""
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "base_channels": self.base_channels, "channel_multipliers": self.channel_multipliers,
                "num_res_blocks": self.num_res_blocks, "cond_dim": self.cond_dim,
                "time_embed_dim": self.time_embed_dim, "attention": self.attention, "num_heads": self.num_heads,
                "dropout": self.dropout, "cond_mode": self.cond_mode, "cond_maps": self.cond_maps,
                "image_cond_channels": self.image_cond_channels}

    def forward(self, x: torch.Tensor, t: torch.Tensor | int, cond: torch.Tensor | None = None,
                image_cond: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the noise (or whatever target the network is trained on).

        Parameters
        ----------
        x : floating-point torch.Tensor of shape (N, in_channels, H, W)
            Noisy images; H and W multiples of :attr:`size_multiple`.
        t : torch.LongTensor of shape (N,) or int
            Timesteps, or one int for the whole batch.
        cond : torch.Tensor of shape (N, cond_dim) or None, default None
            Condition, required iff ``cond_dim > 0`` (zeros, or the caller's null vector, for
            the unconditional branch of classifier-free guidance).
        image_cond : torch.Tensor of shape (N, image_cond_channels, H, W) or None, default None
            Spatial condition, required iff ``image_cond_channels > 0``.

        Returns
        -------
        torch.Tensor of shape (N, out_channels, H, W)
            The prediction.
        """
        steps = self._check_inputs(x, t, cond, image_cond)
        embedding = self.time_mlp(timestep_embedding(steps, self.base_channels).to(x.dtype))
        cond_embedding = None
        if self.cond_mlp is not None:
            cond_embedding = self.cond_mlp(cond.to(x.dtype))
            if self.cond_mode == "add":
                embedding = embedding + cond_embedding
                cond_embedding = None
        inputs = [x]
        if self.cond_maps:
            inputs.append(cond.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:]))
        if self.image_cond_channels:
            inputs.append(image_cond.to(x.dtype))

        h = self.conv_in(torch.cat(inputs, dim=1) if len(inputs) > 1 else x)
        skips = [h]
        for block in self.down:
            h = block(h, embedding, cond_embedding) if isinstance(block, ResidualBlock) else block(h)
            skips.append(h)
        h = self.mid_block1(h, embedding, cond_embedding)
        h = self.mid_block2(self.mid_attention(h), embedding, cond_embedding)
        for block in self.up:
            if isinstance(block, ResidualBlock):
                h = block(torch.cat([h, skips.pop()], dim=1), embedding, cond_embedding)
            else:
                h = block(h)
        return self.conv_out(F.silu(self.norm_out(h)))

    def _check_inputs(self, x: torch.Tensor, t: torch.Tensor | int, cond: torch.Tensor | None,
                      image_cond: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
            kind = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"The 'x' argument of {_OWNER}.forward must be a floating-point tensor. Got {kind}.")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"The 'x' argument of {_OWNER}.forward must have shape (N, {self.in_channels}, H, W). "
                             f"Got {tuple(x.shape)}.")
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"{_OWNER} with channel_multipliers={self.channel_multipliers} downsamples "
                f"{len(self.channel_multipliers) - 1} times, so image height and width must be multiples of "
                f"{self.size_multiple}. Got {height}x{width}; pad or resize the images, or use fewer levels.")
        n = x.shape[0]
        if isinstance(t, bool) or not isinstance(t, (int, torch.Tensor)):
            raise TypeError(f"The 't' argument of {_OWNER}.forward must be an int or a tensor (N,). Got {t!r}.")
        steps = torch.as_tensor(t, device=x.device)
        if steps.ndim == 0:
            steps = steps.expand(n)
        if steps.shape != (n,):
            raise ValueError(f"The 't' argument of {_OWNER}.forward must have shape ({n},). "
                             f"Got {tuple(steps.shape)}.")
        if self.cond_dim == 0:
            if cond is not None:
                raise ValueError(f"This {_OWNER} is unconditional (cond_dim=0) but received a 'cond' tensor of "
                                 f"shape {tuple(cond.shape)}; build it with cond_dim > 0.")
        elif cond is None:
            raise ValueError(f"This {_OWNER} is conditional (cond_dim={self.cond_dim}) and needs 'cond' (N, "
                             f"{self.cond_dim}); pass zeros for the unconditional branch.")
        elif not isinstance(cond, torch.Tensor) or cond.shape != (n, self.cond_dim):
            got = tuple(cond.shape) if isinstance(cond, torch.Tensor) else type(cond).__name__
            raise ValueError(f"The 'cond' argument of {_OWNER}.forward must have shape ({n}, {self.cond_dim}). "
                             f"Got {got}.")
        expected = (n, self.image_cond_channels, height, width)
        if self.image_cond_channels == 0:
            if image_cond is not None:
                raise ValueError(f"This {_OWNER} has no image condition (image_cond_channels=0) but received an "
                                 f"'image_cond' tensor; build it with image_cond_channels > 0.")
        elif not isinstance(image_cond, torch.Tensor) or tuple(image_cond.shape) != expected:
            got = tuple(image_cond.shape) if isinstance(image_cond, torch.Tensor) else type(image_cond).__name__
            raise ValueError(f"The 'image_cond' argument of {_OWNER}.forward must have shape {expected}. Got {got}.")
        return steps
