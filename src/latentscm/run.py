"""Run directories: what a trained learner leaves on disk, and :func:`load` to get it back.

Layout of ``run_dir``::

    config.json                  learner class + constructor arguments, image shape, data source,
                                 loop settings (written before the first step)
    checkpoints/step_XXXXXXXX.pt model, optimisers, step and RNG states (the last few kept)
    train.jsonl                  one JSON record per logged step / evaluation
    model.pt                     the final learned state (written at the end of training)
    metrics.json                 written by ``latentscm evaluate`` (``{"run", "n", "seed", "steps",
                                 "metrics": {name: value}}``) or flat ``{name: value}`` (the
                                 quickstart); :func:`read_metrics` reads both

Every file is written atomically; checkpoint and model files carry a length and a SHA-256 so a
truncated file is reported by name (see :mod:`latentscm.training.checkpoint`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import warnings
from pathlib import Path
from typing import Any

from latentscm._io import read_json_object
from latentscm._registry import TrustCode, class_path, resolve_class

__all__ = ["load", "save_learner", "read_config", "read_metrics", "learner_from_config", "jsonable_params",
           "CONFIG_NAME", "MODEL_NAME", "CHECKPOINT_DIR", "METRICS_NAME"]

CONFIG_NAME = "config.json"
MODEL_NAME = "model.pt"
CHECKPOINT_DIR = "checkpoints"
METRICS_NAME = "metrics.json"


def jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments as JSON values (tuples become lists)."""
    clean = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(f"Hyperparameter {key!r} = {value!r} cannot be recorded in config.json; "
                            f"hyperparameters must be numbers, strings, booleans, None or lists.") from None
        clean[key] = value
    return clean


def _restore_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """Undo :func:`jsonable_params` for a class: lists back to tuples where the default is a tuple; a parameter
    the config was recorded without takes the value the class had then (``defaults_before``), not today's default
    (only where the class takes that parameter: a subclass's constructor may leave out some of its base's)."""
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
    restored = {key: value for key, value in getattr(cls, "defaults_before", {}).items()
                if key not in params and key in defaults}
    for key, value in params.items():
        if isinstance(value, list) and isinstance(defaults.get(key), tuple):
            value = tuple(value)
        restored[key] = value
    return restored


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``config.json`` of a run directory (clear errors when missing or damaged)."""
    path = Path(run_dir) / CONFIG_NAME
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise NotADirectoryError(f"'{run_dir}' is a file, not a run directory.")
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"Run directory '{run_dir}' does not exist.")
    if not path.exists():
        raise FileNotFoundError(f"'{path}' is missing; '{run_dir}' is not a latentscm run directory.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:  # damaged into bytes that are not even UTF-8
        raise ValueError(f"'{path}' is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or "learner" not in config:
        raise ValueError(f"'{path}' does not describe a learner (no 'learner' entry).")
    return config


def read_metrics(run_dir: str | os.PathLike) -> dict[str, float]:
    """The numeric metrics of a run's ``metrics.json``, flat (``{name: value}``); ``{}`` without one.

    Reads both forms: ``{"metrics": {name: value}, ...}`` (``latentscm evaluate``) and a flat
    ``{name: value}`` (the quickstart). Non-numeric entries (notes, settings) and booleans are left out;
    ``null``, which is how strict JSON writes a NaN or infinite metric, is read as NaN.

    Raises
    ------
    ValueError
        The file is not a JSON object (the message names it).
    """
    recorded = read_json_object(Path(run_dir) / METRICS_NAME, remedy=f"re-run `latentscm evaluate {run_dir}`")
    if recorded is None:
        return {}
    if isinstance(recorded.get("metrics"), dict):
        recorded = recorded["metrics"]
    return {k: float("nan") if v is None else v for k, v in recorded.items()
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))}


def learner_from_config(config: dict[str, Any], *, device: str | None = None, trust_code: TrustCode = False,
                        source: str | None = None):
    """An unfitted learner built from the ``learner`` entry of a run config.

    The recorded class must be a registered learner, or a ``Learner`` subclass from a module
    allowed by ``trust_code`` (see :mod:`latentscm._registry`); nothing else is imported.
    """
    from latentscm.learners.registry import REGISTRY

    entry = config["learner"]
    if not isinstance(entry, dict) or "class" not in entry or not isinstance(entry.get("params", {}), dict):
        raise ValueError(f"The 'learner' entry of {source or 'the run config'} must hold 'class' and 'params'. "
                         f"Got {entry!r}.")
    cls = resolve_class(entry["class"], base=REGISTRY.base, registered=REGISTRY.paths(), trust_code=trust_code,
                        what="learner", source=source)
    params = _restore_params(cls, dict(entry.get("params", {})))
    if device is not None:
        params["device"] = device
    elif str(params.get("device", "cpu")).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            warnings.warn(f"The run was trained on {params['device']!r}, which is not available here; loading on "
                          f"the CPU.", stacklevel=3)
            params["device"] = "cpu"
    return cls(**params)


def learner_config(learner) -> dict[str, Any]:
    """The ``learner`` section of ``config.json``."""
    return {"name": type(learner).name, "class": class_path(type(learner)),
            "params": jsonable_params(learner.get_params())}


def save_learner(learner, run_dir: str | os.PathLike) -> Path:
    """Write ``model.pt`` and (create or update) ``config.json``; returns the model path.

    ``model.pt`` also records the ``learner`` entry its weights belong to and a save id, and is written
    first; ``config.json`` then records the same id (``model_save``). A save interrupted between the two
    files leaves a config from an earlier save, with another id: :func:`load` then rebuilds the weights
    with their own learner entry (never another learner's settings). A config edited by hand keeps its id,
    so its learner entry is used, as before.
    """
    from latentscm.training.checkpoint import latest_checkpoint, save_checkpoint, write_json_atomic

    run_dir = Path(run_dir)
    state = learner.state_dict()
    if callable(getattr(learner, "check_saveable", None)):  # before anything is written
        learner.check_saveable(state)
    latest = latest_checkpoint(run_dir / CHECKPOINT_DIR)
    if latest is not None and state.get("n_steps") is not None and latest[0] > int(state["n_steps"]):
        # load() takes the newest checkpoint over an older model.pt (a finished run resumed further): the model
        # saved here would never be loaded
        raise ValueError(f"'{run_dir}' holds a checkpoint at step {latest[0]} ('{latest[1]}'), beyond the "
                         f"{int(state['n_steps'])} steps of this {type(learner).__name__}: load() would return that "
                         f"checkpoint, not the model saved here. Save to another directory, or remove "
                         f"'{run_dir / CHECKPOINT_DIR}' first.")
    config_path = run_dir / CONFIG_NAME
    config = read_config(run_dir) if config_path.exists() else {}
    config["learner"] = learner_config(learner)
    if "data" not in config and isinstance(getattr(learner, "training_data_", None), dict):
        # a model fitted in memory (or loaded from a run) and saved here: commands that compare with its world's
        # ground truth (latentscm counterfactual, report) read the world from this entry; without a "training"
        # entry the directory stays a saved model, which resume() refuses
        config["data"] = learner.training_data_
    config["image_shape"] = list(learner.image_shape_)
    config["latent_dim"] = int(learner.latent_dim_)
    run_dir.mkdir(parents=True, exist_ok=True)
    # the save's id: a digest of what was saved (deterministic; another learner or step gives another id)
    config["model_save"] = hashlib.sha256(json.dumps([config["learner"], state.get("n_steps")], sort_keys=True,
                                                     default=repr).encode()).hexdigest()[:16]
    model_path = save_checkpoint(run_dir / MODEL_NAME, {"learner": state, "learner_entry": config["learner"],
                                                        "save_id": config["model_save"]})
    write_json_atomic(config_path, config)
    return model_path


def _interrupted_save(saved: Any, config: dict[str, Any]) -> bool:
    """Whether ``model.pt`` (``saved``) was written by a save whose ``config.json`` never followed: the config
    records another save's id and a learner entry other than the one the weights were saved with (files
    written before save ids were kept, and configs rewritten by a resume, carry none: not decided here)."""
    if not isinstance(saved, dict) or not isinstance(saved.get("learner_entry"), dict):
        return False
    saved_id, recorded_id = saved.get("save_id"), config.get("model_save")
    if saved_id is None or recorded_id is None or saved_id == recorded_id:
        return False

    def settings(entry: Any) -> str:  # the run length is not a setting of the weights (a resume may extend it)
        params = entry.get("params") if isinstance(entry, dict) else None
        params = {k: v for k, v in params.items() if k != "steps"} if isinstance(params, dict) else params
        return json.dumps({**entry, "params": params} if isinstance(entry, dict) else entry, sort_keys=True,
                          default=repr)

    return settings(saved["learner_entry"]) != settings(config.get("learner"))


def load(run_dir: str | os.PathLike, *, device: str | None = None, trust_code: TrustCode = False):
    """The trained learner saved in ``run_dir``, ready to encode and decode.

    Uses ``model.pt`` (the end of training); a run stopped early (no ``model.pt``, or one older than
    the newest checkpoint: a finished run resumed with more steps) loads its newest checkpoint
    with a warning. ``device`` overrides the recorded one (a CUDA run loads on the CPU when no
    GPU is present). Only registered learner classes are rebuilt unless ``trust_code`` is
    ``True`` or lists the modules to allow: ``config.json`` names a class to call, and a run
    directory from someone else must not run code on load.
    """
    from latentscm.training.checkpoint import latest_checkpoint, load_checkpoint

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    model_path = run_dir / MODEL_NAME
    latest = latest_checkpoint(run_dir / CHECKPOINT_DIR)
    if model_path.exists():
        saved = load_checkpoint(model_path)
        state = saved["learner"]
        saved_step = state.get("n_steps")
        if latest is not None and saved_step is not None and latest[0] > int(saved_step):
            # a finished run resumed with more steps and stopped before its end: model.pt is the older state
            warnings.warn(f"'{model_path}' holds step {int(saved_step)}, but the run went on (resumed "
                          f"with more steps, stopped early); loading the checkpoint at step {latest[0]} from "
                          f"'{latest[1]}'.", stacklevel=2)
            state = load_checkpoint(latest[1])["learner"]
        elif _interrupted_save(saved, config):
            warnings.warn(f"'{model_path}' was saved with other learner settings than '{run_dir / CONFIG_NAME}' "
                          f"records (a save interrupted between the two files); loading it with the settings it "
                          f"was saved with.", stacklevel=2)
            config = {**config, "learner": saved["learner_entry"]}
    else:
        if latest is None:
            raise FileNotFoundError(f"'{run_dir}' has neither {MODEL_NAME} nor checkpoints; nothing to load.")
        warnings.warn(f"'{model_path}' is missing (training did not finish); loading the checkpoint at step "
                      f"{latest[0]} from '{latest[1]}'.", stacklevel=2)
        state = load_checkpoint(latest[1])["learner"]
    learner = learner_from_config(config, device=device, trust_code=trust_code,
                                  source=str(run_dir / CONFIG_NAME))
    learner = learner.load_state_dict(state)
    if isinstance(config.get("data"), dict):
        learner.training_data_ = config["data"]
    return learner
