"""The one training loop (:func:`train`), its checkpoints, logs, data, presets and multi-process
support. ``Learner.fit`` calls :func:`train`; :func:`resume` continues a run directory."""

from latentscm.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from latentscm.training.loop import step_seed, train
from latentscm.training.presets import PRESETS, Preset, get_preset
from latentscm.training.resume import resume

__all__ = [
    "CheckpointError",
    "PRESETS",
    "Preset",
    "get_preset",
    "load_checkpoint",
    "resume",
    "save_checkpoint",
    "step_seed",
    "train",
]
