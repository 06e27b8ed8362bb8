"""The convolutional encoder and decoder of disentanglement_lib (Locatello et al. 2019), sized
from the image shape instead of hard-coding 64x64.

Encoder: ``channels`` 4x4 stride-2 convolutions (32-32-64-64 by default) with ReLU, a dense layer
of ``hidden_dim`` (256) units, then a linear head of ``out_features`` units (``2 * latent_dim``
for a Gaussian posterior: means then log-variances). Each convolution halves the spatial size
(``(H + 2 - 4) // 2 + 1``); layers are used while the smaller side is at least 2, so 64x64 images
end at 4x4 (the reference), 32x32 at 2x2, 16x16 at 1x1 and 8x8 use three layers. A sequence
``hidden_dim`` gives several dense layers of those widths with leaky ReLUs (slope 0.2) after each:
on vector observations ``(C, 1, 1)``, where no convolution applies, the MLP of the nonlinear-ICA
literature (e.g. four layers of 128; iVAE, TDRL and their baselines use leaky ReLUs). Measured on
the 8-dimensional vector data of ``benchmarks/bench_tdrl_synthetic.py``, ReLU layers of the same
widths left 2-4 of 8 units collapsed and MCC 0.16-0.20 lower (dead ReLUs, the likely cause); an int keeps
disentanglement_lib's single ReLU layer, parameter for parameter.

Decoder: the mirror image: dense ``hidden_dim`` (a sequence: its widths in reverse order), dense to
the encoder's last feature map, transposed convolutions back through the encoder's intermediate
shapes (exact output sizes, so odd sides such as 28 or 50 work), and ``C`` output channels of logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["ConvEncoder", "ConvDecoder", "conv_shapes", "dense_widths"]

_KERNEL, _STRIDE, _PADDING = 4, 2, 1


def _check_image_shape(image_shape: Sequence[int], owner: str) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{owner} needs an image shape (C, H, W) of positive sizes. Got {tuple(image_shape)!r}.")
    return shape  # type: ignore[return-value]


def dense_widths(hidden_dim: int | Sequence[int], owner: str) -> tuple[int, ...]:
    """The widths of the dense layers that ``hidden_dim`` (an int or a non-empty sequence of ints >= 1) names."""
    message = (f"The 'hidden_dim' parameter of {owner} must be an int >= 1 or a non-empty sequence of them (the "
               f"widths of the dense layers). Got {hidden_dim!r}.")
    items = [hidden_dim] if isinstance(hidden_dim, (int, np.integer)) else hidden_dim
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or len(items) == 0:
        raise TypeError(message)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 1:
            raise ValueError(message)
    return tuple(int(v) for v in items)


#: The slope of the leaky ReLUs between the dense layers of a sequence ``hidden_dim``.
DENSE_SLOPE = 0.2


def _dense(widths: Sequence[int], leaky: bool) -> list[nn.Module]:
    """Linear maps through ``widths`` with a ReLU (``leaky``: a leaky ReLU of slope :data:`DENSE_SLOPE`) after each."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(DENSE_SLOPE) if leaky else nn.ReLU()]
    return layers


def conv_shapes(image_shape: Sequence[int], channels: Sequence[int]) -> list[tuple[int, int, int]]:
    """Feature-map shapes ``[(C, H, W) of the image, after conv 1, after conv 2, ...]``.

    Convolutions are applied while the smaller spatial side is at least 2, so the list may hold
    fewer than ``len(channels) + 1`` entries for small images.
    """
    c, h, w = _check_image_shape(image_shape, "conv_shapes")
    shapes = [(c, h, w)]
    for out_channels in channels:
        if min(h, w) < 2:
            break
        h = (h + 2 * _PADDING - _KERNEL) // _STRIDE + 1
        w = (w + 2 * _PADDING - _KERNEL) // _STRIDE + 1
        shapes.append((int(out_channels), h, w))
    return shapes


class ConvEncoder(nn.Module):
    """Images (N, C, H, W) -> features (N, out_features).

    Parameters
    ----------
    image_shape : sequence of int
        (C, H, W) of the input images.
    out_features : int
        Width of the final linear head (``2 * latent_dim`` for means and log-variances).
    channels : sequence of int, default (32, 32, 64, 64)
        Output channels of the 4x4 stride-2 convolutions.
    hidden_dim : int or sequence of int, default 256
        Width of the dense layer after the convolutions, with a ReLU (a sequence: of each dense layer, in order,
        with leaky ReLUs of slope 0.2).
    norm : {"none", "instance"}, default "none"
        ``"none"``: convolution then ReLU (disentanglement_lib). ``"instance"``: convolution, instance
        normalisation (affine) and leaky ReLU (slope 0.01), the block of Hsu et al.'s QLAE encoder
        (kylehkhsu/latent_quantization); a feature map of one pixel is not normalised (its instance
        statistics are that pixel). Normalised features keep the outputs spread at initialisation
        even for sparse images such as sprites.
    """

    def __init__(self, image_shape: Sequence[int], out_features: int, *,
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int | Sequence[int] = 256,
                 norm: str = "none"):
        super().__init__()
        if norm not in ("none", "instance"):
            raise ValueError(f"The 'norm' parameter of ConvEncoder must be 'none' or 'instance'. Got {norm!r}.")
        self.image_shape = _check_image_shape(image_shape, "ConvEncoder")
        self.shapes = conv_shapes(self.image_shape, channels)
        layers: list[nn.Module] = []
        for (c_in, _, _), (c_out, h, w) in zip(self.shapes[:-1], self.shapes[1:]):
            if norm == "instance" and h * w > 1:
                layers += [nn.Conv2d(c_in, c_out, _KERNEL, _STRIDE, _PADDING), nn.InstanceNorm2d(c_out, affine=True),
                           nn.LeakyReLU(0.01)]
            elif norm == "instance":
                layers += [nn.Conv2d(c_in, c_out, _KERNEL, _STRIDE, _PADDING), nn.LeakyReLU(0.01)]
            else:
                layers += [nn.Conv2d(c_in, c_out, _KERNEL, _STRIDE, _PADDING), nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        c, h, w = self.shapes[-1]
        widths = dense_widths(hidden_dim, "ConvEncoder")
        leaky = not isinstance(hidden_dim, (int, np.integer))
        self.dense = nn.Sequential(nn.Flatten(), *_dense((c * h * w, *widths), leaky))
        self.head = nn.Linear(widths[-1], out_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, out_features)."""
        return self.head(self.dense(self.convs(images)))


class ConvDecoder(nn.Module):
    """Codes (N, latent_dim) -> pixel logits (N, C, H, W), mirroring :class:`ConvEncoder`.

    Parameters
    ----------
    latent_dim : int
        Size of the codes.
    image_shape : sequence of int
        (C, H, W) of the output images.
    channels : sequence of int, default (32, 32, 64, 64)
        The *encoder's* convolution channels; the decoder runs them in reverse.
    hidden_dim : int or sequence of int, default 256
        Width of the first dense layer, with a ReLU (a sequence: the *encoder's* dense widths, run in reverse, with
        leaky ReLUs of slope 0.2).
    """

    def __init__(self, latent_dim: int, image_shape: Sequence[int], *,
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int | Sequence[int] = 256):
        super().__init__()
        self.image_shape = _check_image_shape(image_shape, "ConvDecoder")
        shapes = conv_shapes(self.image_shape, channels)
        self.start = shapes[-1]
        c, h, w = self.start
        widths = dense_widths(hidden_dim, "ConvDecoder")[::-1]
        self.dense = nn.Sequential(*_dense((latent_dim, *widths), not isinstance(hidden_dim, (int, np.integer))),
                                   nn.Linear(widths[-1], c * h * w))
        # Mirror: from the last encoder map back to the image; the output layer has no ReLU.
        reverse = shapes[::-1]
        self.targets = [tuple(s[1:]) for s in reverse[1:]]
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, _KERNEL, _STRIDE, _PADDING)
            for (c_in, _, _), (c_out, _, _) in zip(reverse[:-1], reverse[1:])
        )

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> logits (N, C, H, W)."""
        x = self.dense(codes).view(codes.shape[0], *self.start)
        for layer, size in zip(self.deconvs, self.targets):
            # ReLU between layers; the image logits (last layer's output) stay linear.
            x = layer(torch.relu(x), output_size=size)
        return x
