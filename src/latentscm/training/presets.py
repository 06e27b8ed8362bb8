"""Training presets: settings sized for a 2-core CPU, and the papers' settings for a GPU.

A preset fills in what the user did not give (``latentscm train --preset cpu-small``); explicit
options always win. ``lr=None`` keeps the learner's own default (e.g. QLAE's 1e-3).

Presets live in a :class:`~latentscm._registry.Registry` like learners and worlds:
``REGISTRY.names()``, ``REGISTRY.make("cpu-small", steps=100)`` (a copy with fields replaced),
``REGISTRY.register(name, preset)``. :data:`PRESETS` is a live read-only view of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from latentscm._registry import Registry, RegistryView

__all__ = ["Preset", "PRESETS", "REGISTRY", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """Image size, optimisation budget and bookkeeping intervals of a training run."""

    name: str
    size: int
    steps: int
    batch_size: int
    lr: float | None
    n_samples: int
    checkpoint_every: int
    log_every: int
    description: str
    #: per-learner hyperparameters of this preset (e.g. the UNet size of ``causal_diffae``)
    learner_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def params_for(self, learner: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The preset's extra hyperparameters for the learner registered as ``learner``.

        ``given`` are the settings the user chose, which win over the preset's: the preset's values
        that those settings make unused (the learner's ``unused_parameters``, e.g. CausalDiffAE's
        encoder sizes with ``condition="concepts"``) are left out, since the learner refuses them.
        """
        params = dict(self.learner_params.get(learner, {}))
        if given:
            from latentscm.learners.registry import REGISTRY as LEARNERS

            if learner in LEARNERS:
                unused = set(LEARNERS.get(learner).unused_parameters({**params, **given})) - set(given)
                params = {key: value for key, value in params.items() if key not in unused}
        return params

    def as_dict(self) -> dict:
        return asdict(self)


def _replace_fields(preset: Preset, params: dict[str, Any]) -> Preset:
    return replace(preset, **params)


#: The preset registry; ``make(name, **fields)`` returns a copy of the preset with fields replaced.
REGISTRY = Registry("preset", None, build=_replace_fields)

for _preset in (
        Preset("cpu-small", size=32, steps=3000, batch_size=64, lr=5e-4, n_samples=10_000, checkpoint_every=500,
               log_every=50, description="32x32 images, 3k steps: minutes on a 2-core CPU.",
               learner_params={"causal_diffae": {"unet_channels": 16, "unet_multipliers": (1, 2, 2),
                                                 "batch_size": 32, "ddim_steps": 20, "lr": 1e-3, "timesteps": 300,
                                                 "condition": "labels", "cond_mode": "film", "label_maps": True,
                                                 "prediction_type": "v_prediction", "min_snr_gamma": 5.0,
                                                 "ema_decay": 0.999, "cond_dropout": 0.15,
                                                 "factor_dropout": 0.1, "channels": (32, 32, 64),
                                                 "hidden_dim": 128}}),
        Preset("cpu-64", size=64, steps=3000, batch_size=64, lr=5e-4, n_samples=10_000, checkpoint_every=500,
               log_every=50, description="64x64 images (the reference size), 3k steps on a CPU (~10 min)."),
        Preset("paper", size=64, steps=300_000, batch_size=64, lr=None, n_samples=100_000, checkpoint_every=10_000,
               log_every=500, description="the papers' settings: 64x64, batch 64, 300k steps, each learner's "
                                          "paper learning rate (Adam 1e-4; QLAE AdamW 1e-3); use --device cuda.",
               learner_params={"causal_diffae": {"unet_channels": 128, "unet_multipliers": (1, 2, 2, 2),
                                                 "unet_res_blocks": 2, "ddim_steps": 100, "cond_dropout": 0.1,
                                                 "factor_dropout": 0.1, "lr": 1e-4, "kl_warmup": 10_000,
                                                 "timesteps": 1000, "condition": "labels", "cond_mode": "film",
                                                 "label_maps": True, "prediction_type": "v_prediction",
                                                 "min_snr_gamma": 5.0, "ema_decay": 0.9999}}),
):
    REGISTRY.register(_preset.name, _preset)

#: Preset name -> :class:`Preset`, a live read-only view of :data:`REGISTRY`.
PRESETS: RegistryView = REGISTRY.view()


def get_preset(name: str) -> Preset:
    """The preset registered as ``name``.

    Raises
    ------
    UnknownNameError
        No preset has that name (the message lists the valid ones).
    """
    return REGISTRY.get(name)
