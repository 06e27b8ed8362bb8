"""A small transformer that answers axiom questions (Yes/No) from token sequences.

Decoder-style (causal self-attention, pre-norm blocks) as in Vashishtha et al. (2024), who train
a GPT-2-like model from scratch and read the answer as the token after the question; here the
answer is a two-way classification read from the hidden states of the last ``readout`` tokens
(default 3: the two queried names and the final ``=``; ``readout=1``: the ``=`` token alone). The
positional encoding is a choice, since it governs length generalisation: ``"none"`` (NoPE: with
causal attention the model can still infer order; Kazemnejad et al. 2023), ``"sinusoidal"``
(Vaswani et al. 2017: fixed, defined for every position) and ``"learned"`` (one trained vector
per position up to ``max_positions``: positions never seen in training stay untrained) and
``"rope"`` (rotary position embedding, Su et al. 2021, "RoFormer": each head's queries and keys
are rotated by an angle proportional to their position, pairs of channels at frequencies
``10000^(-2i/d_head)``, so attention scores depend on relative offsets only and the encoding is
defined for any length). Vashishtha et al. report NoPE and sinusoidal encodings generalising to
longer chains better than learned ones, and (in the paper's later version) rotary encodings
generalising best. Sizes are hyperparameters; nothing about graphs or lengths is built in.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentscm._validation import check_choice, check_number

__all__ = ["AxiomTransformer", "POSITIONAL_ENCODINGS", "sinusoidal_positions", "rotate", "check_widths"]

POSITIONAL_ENCODINGS = ("none", "sinusoidal", "learned", "rope")


def check_widths(d_model: int, n_heads: int, positional: str, owner: str) -> None:
    """Refuse widths the network cannot have (a ValueError naming ``d_model`` of ``owner``): ``d_model``
    below 2 or not divisible by ``n_heads``, an odd head width with ``"rope"``, an odd ``d_model`` with
    ``"sinusoidal"``. ``d_model`` and ``n_heads`` are ints >= 1 and ``positional`` a valid choice."""
    if d_model < 2:
        raise ValueError(f"The 'd_model' parameter of {owner} must be an int >= 2. Got {d_model}.")
    if d_model % n_heads:
        raise ValueError(f"The 'd_model' parameter of {owner} ({d_model}) must be divisible by n_heads "
                         f"({n_heads}).")
    if positional == "rope" and (d_model // n_heads) % 2:
        raise ValueError(f"The 'd_model' parameter of {owner} must give an even head width with rotary positions "
                         f"(d_model / n_heads = {d_model}/{n_heads}).")
    if positional == "sinusoidal" and d_model % 2:
        raise ValueError(f"The 'd_model' parameter of {owner} must be even with sinusoidal positions. "
                         f"Got {d_model}.")


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The fixed sinusoidal encoding of Vaswani et al. (2017).

    Parameters
    ----------
    length : int
        Number of positions T.
    dim : int
        Model width D.

    Returns
    -------
    Tensor, shape (T, D)
        ``sin(t / 10000^(2i/D))`` in even columns, ``cos`` in odd ones.
    """
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)[:, : dim // 2]
    return table


def rotate(x: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of queries or keys (Su et al. 2021), half-split convention.

    Parameters
    ----------
    x : Tensor, shape (N, H, T, d_head)
        ``d_head`` even.

    Returns
    -------
    Tensor, shape (N, H, T, d_head)
        Channel pairs ``(i, i + d_head / 2)`` at position t rotated by ``t * 10000^(-2i/d_head)``:
        ``rotate(q)_s . rotate(k)_t`` depends on ``s - t`` only.
    """
    half = x.shape[-1] // 2
    rate = torch.exp(torch.arange(half, dtype=torch.float32, device=x.device) * (-math.log(10000.0) / half))
    angle = torch.arange(x.shape[-2], dtype=torch.float32, device=x.device)[:, None] * rate[None, :]  # (T, half)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    first, second = x[..., :half], x[..., half:]
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


class _RotaryAttention(nn.Module):
    """Multi-head self-attention with rotary positions on queries and keys."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.num_heads = heads
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        q, k, v = self.in_proj(x).reshape(n, length, 3, self.num_heads, width // self.num_heads).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(rotate(q), rotate(k), v,
                                                         attn_mask=mask.reshape(n, self.num_heads, length, length))
        return self.out_proj(out.transpose(1, 2).reshape(n, length, width))


class _Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, width: int, heads: int, hidden: int, rotary: bool = False):
        super().__init__()
        self.norm_attention = nn.LayerNorm(width)
        self.rotary = rotary
        self.attention = (_RotaryAttention(width, heads) if rotary
                          else nn.MultiheadAttention(width, heads, dropout=0.0, batch_first=True))
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm_attention(x)
        if self.rotary:
            x = x + self.attention(h, mask)
        else:
            x = x + self.attention(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.norm_mlp(x))


class AxiomTransformer(nn.Module):
    """Token ids (N, T) -> Yes/No logits (N, 2).

    Parameters
    ----------
    vocab_size : int
        Number of token ids (padding is id 0).
    d_model : int, default 128
        Width D (divisible by ``n_heads``).
    n_layers : int, default 6
        Transformer blocks.
    n_heads : int, default 4
        Attention heads.
    d_ff : int, default 512
        Hidden width of the MLPs.
    positional : {"none", "sinusoidal", "learned", "rope"}, default "sinusoidal"
        Positional encoding (see the module docstring); ``"rope"`` needs an even head width.
    max_positions : int, default 256
        Longest sequence with ``positional="learned"`` (unused otherwise).
    causal : bool, default True
        Causal (decoder-style) attention; ``False`` lets every token attend to every token.
    readout : int, default 3
        The answer is read from the hidden states of the last ``readout`` tokens, concatenated
        (3: the two queried names and ``=``; 1: the ``=`` token alone, as a decoder predicting
        the answer token would).
    """

    def __init__(self, vocab_size: int, *, d_model: int = 128, n_layers: int = 6, n_heads: int = 4, d_ff: int = 512,
                 positional: str = "sinusoidal", max_positions: int = 256, causal: bool = True, readout: int = 3):
        super().__init__()
        owner = "AxiomTransformer"
        vocab_size = check_number(vocab_size, "vocab_size", owner, low=2, integer=True)
        d_model = check_number(d_model, "d_model", owner, low=2, integer=True)
        n_layers = check_number(n_layers, "n_layers", owner, low=1, integer=True)
        n_heads = check_number(n_heads, "n_heads", owner, low=1, integer=True)
        d_ff = check_number(d_ff, "d_ff", owner, low=1, integer=True)
        max_positions = check_number(max_positions, "max_positions", owner, low=1, integer=True)
        self.readout = check_number(readout, "readout", owner, low=1, integer=True)
        check_choice(positional, "positional", owner, POSITIONAL_ENCODINGS)
        check_widths(d_model, n_heads, positional, owner)
        self.positional = positional
        self.causal = bool(causal)
        self.max_positions = max_positions
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.position_table = nn.Embedding(max_positions, d_model) if positional == "learned" else None
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff, rotary=positional == "rope")
                                    for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(self.readout * d_model, 2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Linear weights normal(0, 0.02) with zero biases (GPT-2); token and learned position
        embeddings normal(0, 1), the scale of the sinusoidal table, so that neither the token
        identity nor its position drowns the other in the first layer norm."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=1.0)
            elif isinstance(module, nn.MultiheadAttention):
                nn.init.normal_(module.in_proj_weight, std=0.02)
                nn.init.zeros_(module.in_proj_bias)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Yes/No logits.

        Parameters
        ----------
        ids : LongTensor, shape (N, T)
            Right-padded token ids.
        lengths : LongTensor, shape (N,)
            Sequence lengths (>= ``readout``); the answer is read from positions
            ``lengths - readout .. lengths - 1``.

        Returns
        -------
        Tensor, shape (N, 2)
            Logits of (No, Yes).
        """
        n, length = ids.shape
        if int(lengths.min()) < self.readout:
            raise ValueError(f"Every sequence needs at least readout={self.readout} tokens; the shortest has "
                             f"{int(lengths.min())}.")
        if self.position_table is not None and length > self.max_positions:
            raise ValueError(f"A sequence of {length} tokens is longer than max_positions={self.max_positions} of "
                             f"this AxiomTransformer (learned positions).")
        x = self.embedding(ids)
        if self.positional == "sinusoidal":
            x = x + sinusoidal_positions(length, x.shape[-1]).to(x.device, x.dtype)
        elif self.position_table is not None:
            x = x + self.position_table.weight[:length]
        positions = torch.arange(length, device=ids.device)
        padding = positions[None, :] >= lengths[:, None]  # (N, T)
        # a float mask -inf where query i may not see key j; padded keys are hidden from every query
        blocked = padding[:, None, :].expand(n, length, length)
        if self.causal:
            blocked = blocked | (positions[None, :] > positions[:, None])[None]
        mask = torch.zeros(blocked.shape, dtype=x.dtype, device=x.device).masked_fill(blocked, float("-inf"))
        heads = self.blocks[0].attention.num_heads if len(self.blocks) else 1
        mask = mask.repeat_interleave(heads, dim=0)  # (N * heads, T, T)
        for block in self.blocks:
            x = block(x, mask)
        rows = torch.arange(n, device=ids.device)[:, None]
        columns = lengths[:, None] - torch.arange(self.readout, 0, -1, device=ids.device)[None, :]  # (N, readout)
        return self.head(self.norm(x[rows, columns]).reshape(n, -1))
