"""Bring your own model: plain callables (or PyTorch modules) as an encoder, decoder and
counterfactual generator for :func:`latentscm.metrics.evaluate`.

:func:`as_model` wraps ``encoder(images (N, C, H, W) float32) -> codes (N, D)`` — and optionally
``decoder(codes) -> images`` and ``counterfactual(images, interventions) -> images`` — into the
small object :func:`~latentscm.metrics.evaluate` reads (``encode``, ``decode``,
``counterfactual``). A ``torch.nn.Module`` is called under ``torch.no_grad()`` in eval mode with
a float32 tensor on the module's device; anything else gets a NumPy array. Outputs may be NumPy
arrays or tensors; their shape and finiteness are checked, and an error names the callable.

:func:`resolve_callable` imports a ``"module:function"`` path for ``latentscm evaluate --encoder``,
under the trust rule of :mod:`latentscm._registry`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["CallableModel", "as_model", "is_model", "resolve_callable"]

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_CALLABLE_PATH = re.compile(rf"^({_DOTTED}):({_DOTTED})$")


def is_model(obj: Any) -> bool:
    """Whether ``obj`` already has ``encode`` (a learner or a model object) rather than being a
    plain encoder callable."""
    return callable(getattr(obj, "encode", None))


def _to_numpy(value: Any, what: str, name: str) -> np.ndarray:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"The {what} {name} must return a real numeric array. Got dtype {array.dtype}.")
    return array


def _call(function: Callable[..., Any], images: np.ndarray, *extra: Any) -> Any:
    """Call ``function`` on ``images``: a tensor on its device for a torch module, else the array."""
    import torch

    if isinstance(function, torch.nn.Module):
        parameter = next(function.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        was_training = function.training
        function.eval()
        try:
            with torch.no_grad():
                return function(torch.as_tensor(images, dtype=torch.float32, device=device), *extra)
        finally:
            function.train(was_training)
    return function(images, *extra)


def _describe(function: Any) -> str:
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    module = getattr(function, "__module__", None)
    return f"'{module}:{name}'" if module else f"'{name}'"


class CallableModel:
    """Plain callables behind the encode / decode / counterfactual interface of a learner.

    Parameters
    ----------
    encoder : callable
        ``encoder(images)`` with images (N, C, H, W) float32 in [0, 1] returns codes (N, D).
    decoder : callable or None, default None
        ``decoder(codes)`` with codes (N, D) float32 returns images (N, C, H, W) in [0, 1].
    counterfactual : callable or None, default None
        ``counterfactual(images, interventions)`` returns counterfactual images (N, C, H, W);
        ``interventions`` maps factor names to :class:`~latentscm.interventions.Do` (and the
        like), as for a causal learner.
    """

    def __init__(self, encoder: Callable[..., Any], *, decoder: Callable[..., Any] | None = None,
                 counterfactual: Callable[..., Any] | None = None):
        for value, name in ((encoder, "encoder"), (decoder, "decoder"), (counterfactual, "counterfactual")):
            if value is not None and not callable(value):
                raise TypeError(f"The '{name}' argument of evaluate must be callable. Got {value!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.counterfactual_fn = counterfactual

    @property
    def can_decode(self) -> bool:
        """Whether a decoder was given."""
        return self.decoder is not None

    @property
    def can_counterfactual(self) -> bool:
        """Whether a counterfactual callable was given."""
        return self.counterfactual_fn is not None

    def encode(self, images: Any) -> np.ndarray:
        """Codes (N, D) float64 of images (N, C, H, W) float32."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        codes = _to_numpy(_call(self.encoder, images), "encoder", _describe(self.encoder))
        if codes.ndim == 1:
            codes = codes[:, None]
        if codes.ndim != 2 or codes.shape[0] != images.shape[0]:
            raise ValueError(f"The encoder {_describe(self.encoder)} must map {images.shape[0]} images "
                             f"{tuple(images.shape)} to codes ({images.shape[0]}, D). Got shape {codes.shape}.")
        if not np.all(np.isfinite(codes)):
            raise ValueError(f"The encoder {_describe(self.encoder)} returned NaN or infinite codes.")
        return codes.astype(np.float64, copy=False)

    def decode(self, codes: Any) -> np.ndarray:
        """Images (N, C, H, W) float32 of codes (N, D)."""
        if self.decoder is None:
            raise AttributeError("No decoder was given (evaluate(..., decoder=...)).")
        codes = np.ascontiguousarray(codes, dtype=np.float32)
        images = _to_numpy(_call(self.decoder, codes), "decoder", _describe(self.decoder))
        if images.ndim != 4 or images.shape[0] != codes.shape[0]:
            raise ValueError(f"The decoder {_describe(self.decoder)} must map {codes.shape[0]} codes to images "
                             f"({codes.shape[0]}, C, H, W). Got shape {images.shape}.")
        if not np.all(np.isfinite(images)):
            raise ValueError(f"The decoder {_describe(self.decoder)} returned NaN or infinite images.")
        return images.astype(np.float32, copy=False)

    def reconstruct(self, images: Any) -> np.ndarray:
        """decode(encode(images)): images (N, C, H, W) float32."""
        return self.decode(self.encode(images))

    def counterfactual(self, images: Any, interventions: Mapping[str, Any]) -> np.ndarray:
        """Counterfactual images (N, C, H, W) float32 of ``images`` under ``interventions``."""
        if self.counterfactual_fn is None:
            raise AttributeError("No counterfactual callable was given (evaluate(..., counterfactual=...)).")
        images = np.ascontiguousarray(images, dtype=np.float32)
        result = _to_numpy(_call(self.counterfactual_fn, images, interventions), "counterfactual",
                           _describe(self.counterfactual_fn))
        if result.shape != images.shape:
            raise ValueError(f"The counterfactual {_describe(self.counterfactual_fn)} must return images of the "
                             f"input's shape {tuple(images.shape)}. Got {result.shape}.")
        if not np.all(np.isfinite(result)):
            raise ValueError(f"The counterfactual {_describe(self.counterfactual_fn)} returned NaN or infinite "
                             "images.")
        return result.astype(np.float32, copy=False)


def as_model(encoder: Any, *, decoder: Callable[..., Any] | None = None,
             counterfactual: Callable[..., Any] | None = None) -> Any:
    """``encoder`` itself when it is already a model (has ``encode``), else a :class:`CallableModel`.

    Parameters
    ----------
    encoder : learner or callable
        A learner (returned unchanged when ``decoder`` and ``counterfactual`` are ``None``) or a
        callable images (N, C, H, W) -> codes (N, D).
    decoder, counterfactual : callable or None
        See :class:`CallableModel`. Given together with a learner, they wrap the learner's
        ``encode`` and replace its own decoder / counterfactual.

    Returns
    -------
    object
        Something with ``encode`` (and ``decode`` / ``counterfactual`` where available).
    """
    if is_model(encoder):
        if decoder is None and counterfactual is None:
            return encoder
        return CallableModel(encoder.encode,
                             decoder=decoder if decoder is not None else getattr(encoder, "decode", None),
                             counterfactual=counterfactual if counterfactual is not None
                             else getattr(encoder, "counterfactual", None))
    if not callable(encoder):
        raise TypeError(f"The 'learner' argument of evaluate must be a learner (with encode) or a callable "
                        f"images (N, C, H, W) -> codes (N, D). Got {type(encoder).__name__}.")
    return CallableModel(encoder, decoder=decoder, counterfactual=counterfactual)


def resolve_callable(path: str, *, option: str = "--encoder") -> Callable[..., Any]:
    """The callable named by ``"module:function"`` (or ``"module:object.attribute"``).

    A path typed on the command line is the user's own choice of code to run, so, as for
    ``--world module:Class``, it counts as trusted (see :mod:`latentscm._registry`): the module
    is imported. Paths read from files (run directories) never come through here.

    Parameters
    ----------
    path : str
        ``"package.module:function"``; the object found must be callable.
    option : str, default "--encoder"
        The option the path came from, for messages.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        The path is malformed, cannot be imported, or does not name a callable.
    """
    if not isinstance(path, str) or not _CALLABLE_PATH.match(path):
        raise ValueError(f"{option} must be 'module:function' (e.g. mypackage.models:encode). Got {path!r}.")
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"Cannot import {option} {path!r}: {error}") from None
    if not callable(target):
        raise ValueError(f"{option} {path!r} is not callable (it is a {type(target).__name__}).")
    return target
