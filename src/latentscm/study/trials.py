"""A study spec expanded into trials, each with a stable id (a hash of what it trains).

Expansion is deterministic: worlds in spec order, then learners in spec order, then each
learner's settings (variants × grid, in the order given), then seeds. A trial's id is
``<learner>-<12 hex digits>``: the SHA-256 of the canonical JSON (sorted keys) of everything
that decides the trained weights — learner class, all hyperparameters (preset values, fixed
params, grid/variant values, steps and seed), world and options, training settings and the
number of processes. The device is left out (a run may move between CPU and GPU; see
:mod:`latentscm.training.loop`) and so is the evaluation (changing it re-evaluates a finished
trial without retraining it). The same trial in another study, or in the same study after
adding seeds, keeps its id, so its run directory is reused.

Numbers are hashed by value, not by spelling: a whole float is hashed as the int it equals
(``1.0``, ``1e3`` and ``-0.0`` as ``1``, ``1000`` and ``0``), in lists and options too, so that
``lr: 1`` and ``lr: 1.0`` are one trial; other floats are hashed as their shortest repr, which
already makes ``1e-3`` and ``0.001`` one. Booleans stay booleans (``True`` is not ``1``), and
strings stay strings (``"1"`` is not ``1``). Rule: equal numbers are one trial — every registered
learner and world reads a whole float like the int it equals (``check_number`` converts both
ways) or refuses it naming the parameter (e.g. ``channels: [4.0, 8]``); a refused spelling shares
the id of the accepted one, so in a study where the accepted spelling trained it is found done. A
``module:Class`` learner that trains differently on ``1`` and ``1.0`` must not be given both.

Ids before this rule hashed numbers as written (:func:`legacy_trial_id`); they differ from the
new ids only for trials with a whole float. A study directory keeps such a trial under its old
id: :func:`latentscm.study.status.locate_trials` finds it there, so it is not trained again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from latentscm.study.spec import StudySpecError, load_spec

__all__ = ["Trial", "expand", "legacy_trial_id", "trial_id"]


@dataclass(frozen=True)
class Trial:
    """One training run of a study (plus its evaluation).

    Attributes
    ----------
    id : str
        ``<learner>-<sha256 prefix>``; the name of its run directory under ``trials/`` (the old id of a
        trial that a study directory holds under it, once :func:`~latentscm.study.status.locate_trials` found it).
    learner, learner_label : str
        Registered learner name (or ``module:Class``) and the spec's label for it.
    params : dict
        Every hyperparameter passed to the learner (including ``steps``, ``seed``, ``device``).
    varied : tuple of str
        The hyperparameters that come from the learner's grid or variants (report axes).
    world, world_label : str
        World name (or ``module:Class``) and the spec's label.
    world_options : dict
        Options the world is built with (the image ``size`` included).
    seed : int
    training : dict
        Keyword arguments of ``fit`` (``n_samples``, ``checkpoint_every``, ...).
    processes : int
        DistributedDataParallel processes (``torchrun``) for this trial.
    evaluation : dict or None
        Keyword arguments of :func:`latentscm.metrics.evaluate` (``None``: train only).
    """

    id: str
    learner: str
    learner_label: str
    params: dict[str, Any]
    varied: tuple[str, ...]
    world: str
    world_label: str
    world_options: dict[str, Any]
    seed: int
    training: dict[str, Any]
    processes: int = 1
    evaluation: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def device(self) -> str:
        return str(self.params.get("device", "cpu"))

    def identity(self) -> dict[str, Any]:
        """What the id hashes (everything that decides the trained weights)."""
        return {"learner": self.learner, "params": {k: v for k, v in self.params.items() if k != "device"},
                "world": self.world, "world_options": self.world_options, "training": self.training,
                "processes": self.processes}

    def as_dict(self) -> dict[str, Any]:
        """JSON values (what ``trial.json`` holds); :meth:`from_dict` reads them back."""
        return {"id": self.id, "learner": self.learner, "learner_label": self.learner_label, "params": self.params,
                "varied": list(self.varied), "world": self.world, "world_label": self.world_label,
                "world_options": self.world_options, "seed": self.seed, "training": self.training,
                "processes": self.processes, "evaluation": self.evaluation}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        return cls(id=data["id"], learner=data["learner"], learner_label=data["learner_label"],
                   params=dict(data["params"]), varied=tuple(data["varied"]), world=data["world"],
                   world_label=data["world_label"], world_options=dict(data["world_options"]),
                   seed=int(data["seed"]), training=dict(data["training"]), processes=int(data["processes"]),
                   evaluation=data.get("evaluation"))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _numbers_by_value(value: Any) -> Any:
    """``value`` with every whole float written as an int (``1.0`` -> ``1``; booleans stay booleans), so that
    two spellings of one number compare equal (and hash alike)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_numbers_by_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers_by_value(item) for key, item in value.items()}
    return value


def _hashed_id(learner: str, identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(_canonical(identity).encode("utf-8")).hexdigest()[:12]
    readable = learner.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    return f"{readable}-{digest}"


def trial_id(learner: str, identity: dict[str, Any]) -> str:
    """``<learner>-<first 12 hex digits of SHA-256 of the canonical JSON of identity>``, numbers by value
    (``1`` and ``1.0`` give one id; an identity without whole floats has the id it always had)."""
    return _hashed_id(learner, _numbers_by_value(identity))


def legacy_trial_id(learner: str, identity: dict[str, Any]) -> str:
    """The id the trial had before numbers were hashed by value (numbers as written: ``1`` and ``1.0``
    differ); study directories made then keep their trials under it."""
    return _hashed_id(learner, identity)


def _changed_defaults(learner: str) -> dict[str, Any]:
    """Today's defaults of the registered ``learner``'s parameters whose default changed (its class's
    ``defaults_before``), written into each trial's params: a trial trained under the earlier default (its
    id hashed without them) is then not taken for one of today's, and each trial records what it trained."""
    import inspect

    from latentscm.learners.registry import REGISTRY

    if ":" in learner or learner not in REGISTRY:
        return {}
    cls = REGISTRY.get(learner)
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
    return {name: defaults[name] for name in getattr(cls, "defaults_before", {}) if name in defaults}


def _settings(grid: dict[str, list[Any]], variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """variants × grid combinations, in the order given (one empty setting when neither is set)."""
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] if grid else [{}]
    return [{**variant, **combo} for variant in (variants or [{}]) for combo in combos]


def expand(spec: Any) -> list[Trial]:
    """The trials of a study spec, in a deterministic order.

    Parameters
    ----------
    spec : StudySpec, mapping or path
        Anything :func:`~latentscm.study.spec.load_spec` accepts.

    Returns
    -------
    list of Trial
        One per (world, learner setting, seed).

    Raises
    ------
    StudySpecError
        Two entries of the spec give the same trial.
    """
    spec = load_spec(spec)
    preset = None
    if spec.preset is not None:
        from latentscm.training.presets import get_preset

        preset = get_preset(spec.preset)
    base_training: dict[str, Any] = {}
    if preset is not None:
        base_training = {"n_samples": preset.n_samples, "checkpoint_every": preset.checkpoint_every,
                         "log_every": preset.log_every}
    training = {**base_training, **spec.training}
    trials: list[Trial] = []
    seen: dict[str, tuple[str, str]] = {}  # trial id -> (where, identity as written)
    for world in spec.worlds:
        options = dict(world.options)
        if preset is not None:
            options.setdefault("size", preset.size)
        for entry in spec.learners:
            base: dict[str, Any] = {}
            if preset is not None:
                base = {"steps": preset.steps, "batch_size": preset.batch_size}
                if preset.lr is not None:
                    base["lr"] = preset.lr
            steps = {} if spec.steps is None else {"steps": spec.steps}
            for setting in _settings(entry.grid, entry.variants):
                varied = tuple(sorted(setting))
                chosen = {**entry.params, **setting}
                # the preset's per-learner params, less those the chosen settings leave unused
                preset_params = preset.params_for(entry.name, {**steps, **chosen}) if preset is not None else {}
                for seed in spec.seeds:
                    params = {**_changed_defaults(entry.name), **base, **preset_params, **steps, **chosen, "seed": seed,
                              "device": spec.device}
                    params = json.loads(_canonical(params))  # tuples -> lists, as config.json records them
                    trial = Trial(id="", learner=entry.name, learner_label=entry.label, params=params, varied=varied,
                                  world=world.name, world_label=world.label, world_options=options, seed=seed,
                                  training=dict(training), processes=spec.processes,
                                  evaluation=None if spec.evaluation is None else dict(spec.evaluation))
                    identity = trial.identity()
                    trial = Trial(**{**trial.__dict__, "id": trial_id(entry.name, identity)})
                    where = f"learner {entry.label!r} on world {world.label!r}, seed {seed}, {setting or 'defaults'}"
                    if trial.id in seen:  # the id hashes numbers by value: 1 and 1.0 are one trial
                        first, first_identity = seen[trial.id]
                        spelling = "" if first_identity == _canonical(identity) else "; 1 and 1.0 are one value"
                        raise StudySpecError(f"Study spec gives the same trial twice: {first} and {where} "
                                             f"train identical models (trial {trial.id}{spelling}).")
                    seen[trial.id] = (where, _canonical(identity))
                    trials.append(trial)
    return trials
