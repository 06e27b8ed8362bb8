"""Continue a run directory from its newest checkpoint, rebuilding learner and data from
``config.json`` (what ``latentscm resume runs/x`` does)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from latentscm._registry import TrustCode, resolve_class
from latentscm.run import CHECKPOINT_DIR, CONFIG_NAME, learner_from_config, read_config

__all__ = ["resume", "temporal_from_config", "world_from_config"]


def world_from_config(config: dict[str, Any], run_dir: str | os.PathLike, *, trust_code: TrustCode = False):
    """The World a run was trained on, rebuilt from its recorded class and options.

    The recorded class must be a registered world, or a ``World`` subclass from a module allowed
    by ``trust_code`` (see :mod:`latentscm._registry`); nothing else is imported or called.
    """
    from latentscm.worlds import World, make
    from latentscm.worlds.registry import _registered_paths

    data = config.get("data", {})
    if not isinstance(data, dict) or not isinstance(data.get("options", {}), dict):
        raise ValueError(f"The 'data' entry of '{Path(run_dir) / CONFIG_NAME}' must be an object with an 'options' "
                         f"object. Got {data!r}.")
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
        cls = resolve_class(data["class"], base=World, registered=_registered_paths(), trust_code=trust_code,
                            what="world", source=str(Path(run_dir) / CONFIG_NAME))
        world = cls(**options)
    else:
        world = make(data["world"], **options)
    if data.get("domains") is not None:  # a multi-domain world: its recorded DomainShift
        try:
            world = world.with_domains(data["domains"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"The 'data.domains' entry of '{Path(run_dir) / CONFIG_NAME}' is not a domain shift: "
                             f"{error}") from None
    return world


def temporal_from_config(config: dict[str, Any], world: Any, run_dir: str | os.PathLike) -> Any:
    """The TemporalWorld over ``world`` that a run recorded (``data.temporal``), or ``world`` when it recorded none
    (the run trained on the world's images)."""
    recorded = (config.get("data") or {}).get("temporal")
    if recorded is None:
        return world
    from latentscm.worlds.temporal import TemporalWorld

    if not isinstance(recorded, dict):
        raise ValueError(f"The 'data.temporal' entry of '{Path(run_dir) / CONFIG_NAME}' must be an object. "
                         f"Got {recorded!r}.")
    try:
        return TemporalWorld(world, **recorded)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The 'data.temporal' entry of '{Path(run_dir) / CONFIG_NAME}' is not a temporal "
                         f"process: {error}") from None


def _recorded_regimes(config: dict[str, Any], stored_path: Any):
    """The regime mixture a run drew its training images from (``None`` when observational or
    when the images come from a stored dataset, which holds its own)."""
    recorded = config.get("data", {}).get("regimes")
    if recorded is None or stored_path is not None:
        return None
    from latentscm.worlds.regimes import RegimeMixture

    return RegimeMixture.from_description(recorded)


def _warn_if_restarting(run_dir: Path) -> None:
    """Warn when a run that logged training steps has no checkpoint left: it restarts from step 0."""
    from latentscm.training.checkpoint import latest_checkpoint
    from latentscm.training.logs import read_log

    if latest_checkpoint(run_dir / CHECKPOINT_DIR) is not None:
        return
    logged = [int(r.get("step", 0)) for r in read_log(run_dir) if r.get("kind") == "train"]
    if logged and max(logged) > 0:
        warnings.warn(f"'{run_dir}' has no checkpoint in {CHECKPOINT_DIR}/, so it trains again from step 0 (its log "
                      f"reached step {max(logged)}; those records are replaced as the steps are redone).",
                      RuntimeWarning, stacklevel=3)


def resume(run_dir: str | os.PathLike, *, steps: int | None = None, progress: bool | None = None,
           device: str | None = None, eval_hook=None, trust_code: TrustCode = False,
           tensorboard: bool | None = None):
    """Continue training the run in ``run_dir``; returns the trained learner.

    ``steps`` raises the total number of steps (to train longer than first planned).
    ``tensorboard`` (True/False) overrides the TensorBoard setting the run was first trained with;
    ``None`` keeps that recorded setting (runs recorded before it was: use TensorBoard when it imports).
    ``trust_code`` allows unregistered learner and world classes recorded in ``config.json``
    (see :func:`latentscm.run.load`).
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if not isinstance(config.get("data"), dict) or not isinstance(config.get("training"), dict):
        raise ValueError(f"'{run_dir / CONFIG_NAME}' records no training run ('data' and 'training' entries): "
                         f"'{run_dir}' holds a saved model (learner.save), not a resumable run. Load it with "
                         f"latentscm.load('{run_dir}'), or train in a run directory with learner.fit(data, out=...).")
    learner = learner_from_config(config, device=device, trust_code=trust_code, source=str(run_dir / CONFIG_NAME))
    _warn_if_restarting(run_dir)
    if steps is not None:
        learner.set_params(steps=steps)
    stored_path = config["data"].get("dataset")
    if config["data"].get("kind") == "data":
        # your own images: re-imported from the recorded source, refused if it changed
        from latentscm.data.runs import data_from_config

        data = data_from_config(config, run_dir)
        stored_path = None
    else:
        data = temporal_from_config(config, world_from_config(config, run_dir, trust_code=trust_code), run_dir)
    if stored_path is not None:
        # trained on a stored dataset: resume on the very same images (verified by hash)
        from latentscm.worlds.store import load as load_dataset

        data = load_dataset(stored_path)
    settings = config.get("training", {})
    return learner.fit(data, out=str(run_dir), resume=True, n_samples=config["data"].get("n_samples"),
                       checkpoint_every=settings.get("checkpoint_every"),
                       keep_checkpoints=settings.get("keep_checkpoints", 3), log_every=settings.get("log_every"),
                       eval_every=settings.get("eval_every") if eval_hook is not None else None, eval_hook=eval_hook,
                       progress=progress, deterministic=settings.get("deterministic", True),
                       tensorboard=settings.get("tensorboard") if tensorboard is None else tensorboard,
                       regimes=_recorded_regimes(config, stored_path))
