"""Study specs: which learners (with hyperparameter grids), worlds, seeds, steps and evaluation.

A spec is a YAML or JSON file, or the same structure as a Python dict::

    name: beta-sweep
    preset: cpu-small            # fills in size, steps, batch size, lr, n_samples, intervals
    steps: 2000                  # overrides the preset's
    seeds: [0, 1, 2]
    learners:
      beta_vae:
        params: {latent_dim: 10}           # fixed hyperparameters
        grid: {beta: [1, 4, 16]}           # every combination of the listed values
      factor_vae:
        variants: [{gamma: 10}, {gamma: 40, lr: 1e-4}]   # an explicit list of settings
    worlds:
      sprites: {size: 32}
      pendulum: {size: 32, grid: false}
    training: {n_samples: 10000, checkpoint_every: 500}
    evaluation: {suite: disentanglement, n: 2000, seed: 2024}
    processes: 1                 # DistributedDataParallel processes per trial (torchrun)
    device: cpu                  # "cuda" asks the executor for one GPU per process

``learners`` and ``worlds`` are mappings (name -> entry) or lists of entries with a ``name`` (a
list may hold the same learner twice; give each a ``label``). A key given twice in one mapping of a
file is refused, and YAML numbers follow YAML 1.2 (``1e-4`` is a float, not a string). A
hyperparameter of the ``grid`` may not also be in ``params`` or a variant (a variant's value replaces
the one of ``params``); ``seed`` and ``device`` are the study's, so no learner entry sets them, nor
``steps`` outside a variant. :func:`load_spec` checks the
structure and names the offending key (``learners.beta_vae.grid.beta``) in a
:class:`StudySpecError`; hyperparameter *values* are checked by the learner itself when its
trial starts, so a bad value fails that trial only (see :mod:`latentscm.study.runner`).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentscm.exceptions import LatentSCMError

__all__ = ["StudySpec", "StudySpecError", "LearnerEntry", "WorldEntry", "load_spec", "EVALUATION_DEFAULTS",
           "TRAINING_KEYS"]

#: What ``evaluation`` may set, with its defaults (the arguments of :func:`latentscm.metrics.evaluate`).
EVALUATION_DEFAULTS: dict[str, Any] = {"suite": "disentanglement", "n": 2000, "seed": 2024,
                                       "counterfactuals": "auto", "n_counterfactual": 128, "activity": True,
                                       "reconstruction": True}
#: What ``training`` may set (arguments of ``Learner.fit``).
TRAINING_KEYS = ("n_samples", "checkpoint_every", "log_every", "keep_checkpoints", "interventional_fraction")
_TOP_KEYS = {"name", "learners", "worlds", "seeds", "steps", "preset", "training", "evaluation", "processes",
             "device"}
_LEARNER_KEYS = {"name", "label", "params", "grid", "variants"}
_WORLD_KEYS = {"name", "label", "options"}


class StudySpecError(LatentSCMError, ValueError):
    """A study spec that cannot be run; the message names the offending key."""


@dataclass(frozen=True)
class LearnerEntry:
    """One learner of a study: fixed ``params``, a ``grid`` (every combination of its value
    lists) and ``variants`` (an explicit list of settings), crossed with each other."""

    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    variants: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class WorldEntry:
    """One world of a study: a registered name (or ``module:Class``) and its options."""

    name: str
    label: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudySpec:
    """A validated study spec (see the module docstring); build it with :func:`load_spec`."""

    name: str
    learners: tuple[LearnerEntry, ...]
    worlds: tuple[WorldEntry, ...]
    seeds: tuple[int, ...]
    steps: int | None = None
    preset: str | None = "cpu-small"
    training: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = field(default_factory=lambda: dict(EVALUATION_DEFAULTS))
    processes: int = 1
    device: str = "cpu"

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain JSON values (what ``study.json`` records; :func:`load_spec` reads it back)."""
        return {
            "name": self.name,
            "learners": [{"name": e.name, "label": e.label, "params": e.params, "grid": e.grid,
                          "variants": e.variants} for e in self.learners],
            "worlds": [{"name": w.name, "label": w.label, "options": w.options} for w in self.worlds],
            "seeds": list(self.seeds), "steps": self.steps, "preset": self.preset, "training": self.training,
            # a train-only study writes evaluation: false, which load_spec reads back as None (null means defaults)
            "evaluation": self.evaluation if self.evaluation is not None else False,
            "processes": self.processes, "device": self.device,
        }


def _fail(key: str, message: str) -> StudySpecError:
    return StudySpecError(f"Study spec key {key!r}: {message}")


def _check_json_value(value: Any, key: str) -> Any:
    """Hyperparameters and options must be JSON values (numbers, strings, booleans, null, lists, objects)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(key, f"must be a finite number. Got {value!r}.")
        return value
    if isinstance(value, (list, tuple)):
        return [_check_json_value(item, f"{key}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        return {_check_name(k, key): _check_json_value(v, f"{key}.{k}") for k, v in value.items()}
    raise _fail(key, f"must be a number, string, boolean, null, list or mapping. Got {type(value).__name__} "
                     f"{value!r}.")


def _check_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(key, f"names must be non-empty strings. Got {value!r}.")
    return value


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(key, f"must be a mapping. Got {type(value).__name__} {value!r}.")
    return {_check_name(k, key): v for k, v in value.items()}


def _unknown(entry: Mapping[str, Any], allowed: set[str], key: str) -> None:
    extra = sorted(set(entry) - allowed)
    if extra:
        raise _fail(f"{key}.{extra[0]}", f"unknown key; valid keys: {', '.join(sorted(allowed))}.")


def _int(value: Any, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(key, f"must be an int >= {low}. Got {value!r}.")
    return value


def _entries(value: Any, key: str, allowed: set[str], shorthand: str) -> list[tuple[str, dict[str, Any]]]:
    """(key path, entry) pairs from a mapping name -> entry or a list of entries with a ``name``."""
    if isinstance(value, Mapping):
        pairs = []
        for name, entry in value.items():
            path = f"{key}.{name}"
            entry = {} if entry is None else entry
            if not isinstance(entry, Mapping):
                raise _fail(path, f"must be a mapping of {', '.join(sorted(allowed - {'name'}))}. Got {entry!r}.")
            if shorthand and not set(entry) <= allowed:  # worlds: {sprites: {size: 16}} lists options directly
                entry = {shorthand: dict(entry)}
            if "name" in entry and entry["name"] != name:
                raise _fail(f"{path}.name", f"the mapping key {name!r} is the name; got another name "
                                            f"{entry['name']!r} (use 'label' to rename an entry).")
            pairs.append((path, {**entry, "name": _check_name(name, path)}))
    elif isinstance(value, (list, tuple)):
        pairs = []
        for i, entry in enumerate(value):
            path = f"{key}[{i}]"
            if isinstance(entry, str):
                entry = {"name": entry}
            if not isinstance(entry, Mapping) or "name" not in entry:
                raise _fail(path, f"must be a name or a mapping with a 'name'. Got {entry!r}.")
            pairs.append((path, dict(entry)))
    else:
        raise _fail(key, f"must be a mapping (name -> entry) or a list of entries. Got {value!r}.")
    if not pairs:
        raise _fail(key, "must name at least one entry.")
    for path, entry in pairs:
        _unknown(entry, allowed, path)
    return pairs


def _known_parameters(registry: Any, name: str, extra: tuple[str, ...] = ()) -> set[str] | None:
    """Keyword parameters of the class registered as ``name`` (plus ``extra``); ``None`` when it takes any
    (``**kwargs``) or cannot be imported here (its trial reports that)."""
    from latentscm._params import accepted_parameters

    try:
        names = accepted_parameters(registry.get(name))
    except (ImportError, TypeError, ValueError):
        return None
    return None if names is None else set(names) | set(extra)


def _check_parameter_names(known: set[str] | None, places: Any, path: str, what: str) -> None:
    """Refuse a hyperparameter (or world option) name that the class does not take: every trial would fail."""
    if known is None:
        return
    for where, keys in places:
        unknown = sorted(set(keys) - known)
        if unknown:
            raise _fail(f"{path}.{where}.{unknown[0]}", f"{what} takes no parameter {unknown[0]!r}; its parameters: "
                                                        f"{', '.join(sorted(known))}.")


def _learners(value: Any) -> tuple[LearnerEntry, ...]:
    from latentscm import learners as registry

    found = []
    for path, entry in _entries(value, "learners", _LEARNER_KEYS, ""):
        name = _check_name(entry["name"], f"{path}.name")
        if ":" not in name and name not in registry.names():
            raise _fail(f"{path}.name", f"unknown learner {name!r}; registered: {', '.join(registry.names())} "
                                        f"(or give 'module:Class').")
        params = _mapping(entry.get("params"), f"{path}.params")
        params = {k: _check_json_value(v, f"{path}.params.{k}") for k, v in params.items()}
        grid = _mapping(entry.get("grid"), f"{path}.grid")
        for k, values in grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise _fail(f"{path}.grid.{k}", f"must be a non-empty list of values. Got {values!r}.")
            grid[k] = _check_json_value(list(values), f"{path}.grid.{k}")
        variants = entry.get("variants") or []
        if not isinstance(variants, (list, tuple)):
            raise _fail(f"{path}.variants", f"must be a list of mappings. Got {variants!r}.")
        variants = [_check_json_value(_mapping(v, f"{path}.variants[{i}]"), f"{path}.variants[{i}]")
                    for i, v in enumerate(variants)]
        for i, variant in enumerate(variants):
            clash = sorted(set(variant) & set(grid))
            if clash:
                raise _fail(f"{path}.variants[{i}].{clash[0]}", "is also in the grid; set it in one place.")
        clash = sorted(set(params) & set(grid))
        if clash:  # the grid's values would replace the fixed one in every trial
            raise _fail(f"{path}.params.{clash[0]}", "is also in the grid; set it in one place.")
        # the study's seeds and device replace a learner's own in every trial; steps may vary per variant
        places = (("params", params), ("grid", grid), *((f"variants[{i}]", v) for i, v in enumerate(variants)))
        for reserved, top in (("seed", "seeds"), ("steps", "steps"), ("device", "device")):
            for where, keys in places:
                if reserved in keys and not (reserved == "steps" and where.startswith("variants")):
                    raise _fail(f"{path}.{where}.{reserved}", f"'{reserved}' is set for the whole study (the "
                                                              f"top-level '{top}' key).")
        if ":" not in name:  # a misspelt hyperparameter would fail every trial of the entry
            _check_parameter_names(_known_parameters(registry, name), places, path, f"learner {name!r}")
        label = _check_name(entry.get("label", name), f"{path}.label")
        found.append(LearnerEntry(name, label, params, grid, variants))
    labels = [e.label for e in found]
    duplicated = sorted({label for label in labels if labels.count(label) > 1})
    if duplicated:
        raise _fail("learners", f"two entries share the label {duplicated[0]!r}; give each a distinct 'label'.")
    return tuple(found)


def _worlds(value: Any) -> tuple[WorldEntry, ...]:
    from latentscm import worlds as registry

    found = []
    for path, entry in _entries(value, "worlds", _WORLD_KEYS, "options"):
        name = _check_name(entry["name"], f"{path}.name")
        if ":" not in name and name not in registry.names():
            raise _fail(f"{path}.name", f"unknown world {name!r}; registered: {', '.join(registry.names())} "
                                        f"(or give 'module:Class').")
        options = _mapping(entry.get("options"), f"{path}.options")
        options = {k: _check_json_value(v, f"{path}.options.{k}") for k, v in options.items()}
        if ":" not in name:  # worlds.make takes 'domains' besides the class's own options
            _check_parameter_names(_known_parameters(registry, name, ("domains",)), (("options", options),), path,
                                   f"world {name!r}")
        found.append(WorldEntry(name, _check_name(entry.get("label", name), f"{path}.label"), options))
    labels = [w.label for w in found]
    duplicated = sorted({label for label in labels if labels.count(label) > 1})
    if duplicated:
        raise _fail("worlds", f"two entries share the label {duplicated[0]!r}; give each a distinct 'label'.")
    return tuple(found)


def _evaluation(value: Any) -> dict[str, Any] | None:
    if value is False or value == "none":
        return None
    given = _mapping(value, "evaluation")
    _unknown(given, set(EVALUATION_DEFAULTS), "evaluation")
    evaluation = {**EVALUATION_DEFAULTS, **given}
    suite = evaluation["suite"]
    from latentscm.metrics import METRICS, SUITES

    if isinstance(suite, str):
        if suite not in SUITES:
            raise _fail("evaluation.suite", f"unknown suite {suite!r}; suites: {', '.join(SUITES)} (or a list of "
                                            f"metric names).")
    elif isinstance(suite, (list, tuple)) and suite:
        for i, metric in enumerate(suite):
            if metric not in METRICS:
                raise _fail(f"evaluation.suite[{i}]", f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}.")
        evaluation["suite"] = list(suite)
    else:
        raise _fail("evaluation.suite", f"must be a suite name or a non-empty list of metric names. Got {suite!r}.")
    evaluation["n"] = _int(evaluation["n"], "evaluation.n", 10)
    evaluation["seed"] = _int(evaluation["seed"], "evaluation.seed", 0)
    evaluation["n_counterfactual"] = _int(evaluation["n_counterfactual"], "evaluation.n_counterfactual", 1)
    if evaluation["counterfactuals"] not in ("auto", "traversal", "none"):
        raise _fail("evaluation.counterfactuals", f"must be 'auto', 'traversal' or 'none'. Got "
                                                  f"{evaluation['counterfactuals']!r}.")
    for flag in ("activity", "reconstruction"):
        if not isinstance(evaluation[flag], bool):
            raise _fail(f"evaluation.{flag}", f"must be true or false. Got {evaluation[flag]!r}.")
    return evaluation


def _training(value: Any) -> dict[str, Any]:
    training = _mapping(value, "training")
    _unknown(training, set(TRAINING_KEYS), "training")
    for key in ("n_samples", "checkpoint_every", "log_every", "keep_checkpoints"):
        if key in training:
            training[key] = _int(training[key], f"training.{key}", 1)
    fraction = training.get("interventional_fraction")
    if fraction is not None and (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
                                 or not 0 <= fraction <= 1):
        raise _fail("training.interventional_fraction", f"must be a number in [0, 1]. Got {fraction!r}.")
    return training


def _from_mapping(raw: Mapping[str, Any], default_name: str) -> StudySpec:
    if not isinstance(raw, Mapping):
        raise StudySpecError(f"A study spec must be a mapping at the top level. Got {type(raw).__name__}.")
    _unknown(raw, _TOP_KEYS, "spec")
    for required in ("learners", "worlds"):
        if required not in raw:
            raise _fail(required, "is required.")
    seeds = raw.get("seeds", [0])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise _fail("seeds", f"must be a non-empty list of ints. Got {seeds!r}.")
    seeds = tuple(_int(s, f"seeds[{i}]", 0) for i, s in enumerate(seeds))
    if len(set(seeds)) != len(seeds):
        raise _fail("seeds", f"lists a seed twice: {list(seeds)}.")
    steps = raw.get("steps")
    if steps is not None:
        steps = _int(steps, "steps", 1)
    preset = raw.get("preset", "cpu-small")
    if preset is not None:
        from latentscm.training.presets import REGISTRY as PRESETS

        if preset not in PRESETS.names():
            raise _fail("preset", f"unknown preset {preset!r}; presets: {', '.join(PRESETS.names())} (or null).")
    device = raw.get("device", "cpu")
    if not isinstance(device, str) or not (device == "cpu" or device.startswith("cuda")):
        raise _fail("device", f"must be 'cpu' or a CUDA device ('cuda', 'cuda:1'). Got {device!r}.")
    name = raw.get("name", default_name)
    return StudySpec(name=_check_name(name, "name"), learners=_learners(raw["learners"]),
                     worlds=_worlds(raw["worlds"]), seeds=seeds, steps=steps, preset=preset,
                     training=_training(raw.get("training")), evaluation=_evaluation(raw.get("evaluation")),
                     processes=_int(raw.get("processes", 1), "processes", 1), device=device)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``json`` would silently keep the last)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} is given twice in one object (only the last would be used)")
        found[key] = value
    return found


#: YAML 1.2 floats that YAML 1.1 (PyYAML) reads as strings: an exponent without a dot (1e-4, 3E+2).
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")


def _yaml_loader(yaml: Any) -> type:
    """PyYAML's safe loader that reads ``1e-4`` as a number (YAML 1.2) and refuses a key given twice."""

    class SpecLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) or key is None:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            "while reading a mapping", node.start_mark,
                            f"found the key {key!r} twice (only the last would be used)", key_node.start_mark)
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))
    return SpecLoader


def _read_file(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"Study spec '{path}' does not exist.")
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(f"Reading the YAML spec '{path}' needs PyYAML: pip install pyyaml (or "
                              f"'latentscm[ray]'), or write the spec as JSON.") from None
        try:
            return yaml.load(text, Loader=_yaml_loader(yaml))
        except yaml.YAMLError as error:
            raise StudySpecError(f"'{path}' is not valid YAML: {error}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except ValueError as error:  # JSONDecodeError, or a key given twice
            raise StudySpecError(f"'{path}' is not valid JSON: {error}") from None
    raise StudySpecError(f"Study spec '{path}' must end in .yaml, .yml or .json. Got {path.suffix or 'no suffix'}.")


def _without_numpy(value: Any) -> Any:
    """``value`` with numpy scalars and arrays replaced by the Python values they hold (``list(np.arange(3))``,
    ``np.float32(1e-3)``, ``np.array([1, 2])``), inside mappings, lists and tuples; anything else unchanged,
    for validation to judge."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {_without_numpy(k): _without_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_numpy(item) for item in value)
    return value


def load_spec(source: StudySpec | Mapping[str, Any] | str | os.PathLike) -> StudySpec:
    """A validated :class:`StudySpec` from a dict, a ``.yaml``/``.yml``/``.json`` file or a spec.

    Parameters
    ----------
    source : StudySpec, mapping, str or path-like
        The spec itself, or the path of a YAML (needs PyYAML) or JSON file.

    Returns
    -------
    StudySpec
        Learner and world entries in the order given; ``evaluation`` is ``None`` when the spec
        says ``evaluation: false`` (train only). Numpy scalars and arrays in a dict count as the
        Python values they hold.

    Raises
    ------
    StudySpecError
        A missing, unknown or malformed key; the message names it (``learners.beta_vae.grid.beta``).
    FileNotFoundError, ImportError
        The file does not exist; a YAML file without PyYAML installed.
    """
    if isinstance(source, StudySpec):
        return source
    if isinstance(source, Mapping):
        return _from_mapping(_without_numpy(source), "study")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return _from_mapping(_read_file(path), path.stem)
    raise TypeError(f"load_spec takes a dict, a StudySpec or the path of a YAML/JSON file. Got "
                    f"{type(source).__name__}.")
