"""Continue a run directory from its newest checkpoint, rebuilding learner and data from
``config.json`` (what ``latentscm resume runs/x`` does)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from latentscm.run import learner_from_config, read_config

__all__ = ["resume", "world_from_config"]


def world_from_config(config: dict[str, Any], run_dir: str | os.PathLike):
    """The World a run was trained on, rebuilt with ``latentscm.worlds.make``."""
    from latentscm.learners.base import resolve_class
    from latentscm.worlds import make

    data = config.get("data", {})
    if data.get("kind") != "world":
        raise ValueError(f"'{run_dir}' was trained on in-memory data ({data.get('kind', 'unknown')}), which the run "
                         f"directory cannot rebuild; resume from Python with learner.fit(data, out='{run_dir}', "
                         f"resume=True).")
    options = data.get("options", {})
    opaque = sorted(key for key, value in options.items() if isinstance(value, dict) and "__repr__" in value)
    if opaque:
        raise ValueError(f"'{run_dir}' was trained on world {data['world']!r} with options {opaque} that cannot be "
                         f"rebuilt from config.json; resume from Python with learner.fit(world, out=..., resume=True).")
    if data.get("class"):
        try:
            return resolve_class(data["class"])(**options)
        except (ImportError, AttributeError):
            pass  # moved or renamed: fall back to the registry name
    return make(data["world"], **options)


def resume(run_dir: str | os.PathLike, *, steps: int | None = None, progress: bool | None = None,
           device: str | None = None, eval_hook=None):
    """Continue training the run in ``run_dir``; returns the trained learner.

    ``steps`` raises the total number of steps (to train longer than first planned).
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    learner = learner_from_config(config, device=device)
    if steps is not None:
        learner.set_params(steps=steps)
    world = world_from_config(config, run_dir)
    data = world
    stored_path = config["data"].get("dataset")
    if stored_path is not None:
        # trained on a stored dataset: resume on the very same images (verified by hash)
        from latentscm.worlds.store import load as load_dataset

        data = load_dataset(stored_path)
    settings = config.get("training", {})
    return learner.fit(data, out=str(run_dir), resume=True, n_samples=config["data"].get("n_samples"),
                       checkpoint_every=settings.get("checkpoint_every"),
                       keep_checkpoints=settings.get("keep_checkpoints", 3), log_every=settings.get("log_every"),
                       eval_every=settings.get("eval_every") if eval_hook is not None else None, eval_hook=eval_hook,
                       progress=progress, deterministic=settings.get("deterministic", True))
