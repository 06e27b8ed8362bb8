"""Learners that train an encoder alone: no decoder, so nothing to decode, reconstruct or sample.

Contrastive learners (:class:`~latentscm.learners.contrastive.ContrastiveCRL`,
:class:`~latentscm.learners.multiview.MultiViewCRL`) identify latents from what several observations
share, with no generative model. ``can_decode`` is False, which :func:`latentscm.metrics.evaluate`, the
report, the probes and the CLI read to score the codes only and to refuse what needs rendering.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

__all__ = ["EncoderOnly"]


class EncoderOnly:
    """Mixin (before :class:`~latentscm.learners.base.Learner`) of a learner with deterministic codes and no
    decoder: ``decode``, ``reconstruct`` and ``sample`` raise ``TypeError``."""

    posterior = "deterministic"
    #: Whether the learner renders images from codes: an encoder-only learner does not.
    can_decode: ClassVar[bool] = False
    #: What the learner is, for the error messages ("a contrastive learner trains an encoder only").
    encoder_only_reason: ClassVar[str] = "this learner trains an encoder only"

    def _no_decoder(self, what: str) -> TypeError:
        return TypeError(f"{type(self).__name__}.{what}: {self.encoder_only_reason} and has no decoder; use "
                         f"encode(x), and score the codes with latentscm.metrics (content_style_r2, ...).")

    def decode(self, z: Any) -> np.ndarray:
        """Not available: the learner has no decoder (raises ``TypeError``)."""
        raise self._no_decoder("decode")

    def reconstruct(self, x: Any) -> np.ndarray:
        """Not available: the learner has no decoder (raises ``TypeError``)."""
        raise self._no_decoder("reconstruct")

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """Not available: the learner has no decoder (raises ``TypeError``)."""
        raise self._no_decoder("sample")
