"""The factorised-versus-entangled experiment as two calls, shared by ``latentscm active`` and
``benchmarks/bench_active.py``.

:func:`train_world_models` draws one seeded set of transitions from a :class:`PoseEnvironment`,
fits every requested world model on it, measures each on held-out transitions (free energy and
complexity of ``o_t+1`` against the model's own transition prior) and writes a run directory::

    DIR/config.json        world, environment, data, seeds, model parameters
    DIR/<model>.pt         each fitted model (WorldModel.save, atomic)
    DIR/models.json        held-out free energy / complexity per model

:func:`evaluate_run` rebuilds the environment and models from such a directory and compares an
:class:`EFEAgent` per model with a :class:`RandomAgent` on the same seeded goals
(:func:`~latentscm.active.episodes.compare_agents`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from latentscm._io import atomic_write_json
from latentscm._validation import check_number
from latentscm.active.agents import EFEAgent, RandomAgent
from latentscm.active.environment import PoseEnvironment
from latentscm.active.episodes import compare_agents
from latentscm.active.registry import REGISTRY, load_world_model
from latentscm.active.transitions import Transitions, sample_transitions

__all__ = ["train_world_models", "held_out_free_energy", "open_run", "evaluate_run", "CONFIG_NAME",
           "HELD_OUT_SEED_OFFSET"]

CONFIG_NAME = "config.json"
#: Added to the data seed for the held-out transitions, so they differ from the training ones.
HELD_OUT_SEED_OFFSET = 7919


def held_out_free_energy(model: Any, transitions: Transitions) -> dict[str, float]:
    """Mean free energy, inaccuracy and complexity (nats per image) of the next observations of
    ``transitions`` against the model's prediction from the previous observation and action, and
    of the first observations against the standard normal prior."""
    mean, logvar = model.infer(transitions.images)
    prior = model.predict(mean, logvar, transitions.actions)
    step = model.free_energy(transitions.next_images, prior)
    first = model.free_energy(transitions.images, None)
    return {"free_energy": float(step["free_energy"].mean()), "inaccuracy": float(step["inaccuracy"].mean()),
            "complexity": float(step["complexity"].mean()),
            "free_energy_first": float(first["free_energy"].mean()),
            "complexity_first": float(first["complexity"].mean())}


def train_world_models(out: str | os.PathLike, *, world: str = "shapes3d",
                       world_options: Mapping[str, Any] | None = None,
                       pose_factors: Sequence[str] | None = None, step: int = 1, n_transitions: int = 4000,
                       n_held_out: int = 512, seed: int = 0,
                       models: Mapping[str, Mapping[str, Any]] | None = None, progress: bool = False) -> dict[str, Any]:
    """Fit world models on one seeded transition set and write the run directory ``out``.

    Parameters
    ----------
    out : path
        The run directory (created; an existing config there is refused).
    world : str, default "shapes3d"
        Registered world name.
    world_options : mapping or None, default None
        Options of the world (default ``{"size": 32}``).
    pose_factors : sequence of str or None
        Pose factors of the environment (default: the world's).
    step : int, default 1
        Grid steps per move.
    n_transitions, n_held_out : int
        Training and held-out transitions.
    seed : int, default 0
        Seeds the data (held-out data: ``seed + HELD_OUT_SEED_OFFSET``).
    models : mapping or None
        ``{registered model name: parameters}`` (default: both models with their defaults and
        ``seed``).
    progress : bool, default False
        Print one line per fitted model.

    Returns
    -------
    dict
        The written config with ``"held_out"`` numbers per model.
    """
    from latentscm import worlds

    out = Path(out)
    if (out / CONFIG_NAME).exists():
        raise FileExistsError(f"'{out}' already holds an active-inference run ({CONFIG_NAME}); choose another "
                              f"directory.")
    owner = "train_world_models"
    n_transitions = check_number(n_transitions, "n_transitions", owner, low=1, integer=True)
    n_held_out = check_number(n_held_out, "n_held_out", owner, low=1, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    options = dict(world_options if world_options is not None else {"size": 32})
    world_object = worlds.make(world, **options)
    env = PoseEnvironment(world_object, pose_factors=pose_factors, step=step)
    specs = dict(models) if models is not None else {"factorised": {"seed": seed}, "entangled": {"seed": seed}}
    if not specs:
        raise ValueError(f"{owner} needs at least one model.")
    built = {name: REGISTRY.make(name, **dict(params)) for name, params in specs.items()}
    data = sample_transitions(env, n_transitions, seed=seed)
    held_out = sample_transitions(env, n_held_out, seed=seed + HELD_OUT_SEED_OFFSET)
    config: dict[str, Any] = {
        "world": {"name": world, "options": options},
        "environment": {"pose_factors": list(env.pose_factors), "step": env.step,
                        "actions": list(env.action_names)},
        "data": {"n_transitions": n_transitions, "n_held_out": n_held_out, "seed": seed,
                 "held_out_seed": seed + HELD_OUT_SEED_OFFSET},
        "models": {}, "held_out": {},
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, model in built.items():
        model.fit(data, n_actions=env.n_actions)
        model.save(out / f"{name}.pt")
        config["models"][name] = {k: list(v) if isinstance(v, tuple) else v for k, v in model.get_params().items()}
        config["held_out"][name] = held_out_free_energy(model, held_out)
        if progress:
            numbers = ", ".join(f"{k} {v:.2f}" for k, v in config["held_out"][name].items())
            print(f"fitted {name}: held-out {numbers}", flush=True)
    atomic_write_json(out / "models.json", config["held_out"])
    atomic_write_json(out / CONFIG_NAME, config)
    return config


def open_run(run_dir: str | os.PathLike) -> tuple[PoseEnvironment, dict[str, Any], dict[str, Any]]:
    """The environment, the fitted models ``{name: model}`` and the config of a run directory."""
    from latentscm import worlds

    run_dir = Path(run_dir)
    path = run_dir / CONFIG_NAME
    if not path.exists():
        raise FileNotFoundError(f"'{run_dir}' is not an active-inference run (no {CONFIG_NAME}); make one with "
                                f"`latentscm active train`.")
    try:
        config = json.loads(path.read_text())
        world = worlds.make(config["world"]["name"], **config["world"]["options"])
        env = PoseEnvironment(world, pose_factors=config["environment"]["pose_factors"],
                              step=config["environment"]["step"])
        names = list(config["models"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"'{path}' is not a valid active-inference config: {error!r}") from None
    models = {name: load_world_model(run_dir / f"{name}.pt") for name in names}
    for name, model in models.items():
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in model.get_params().items()}
        if model.name != name or params != config["models"][name]:
            raise ValueError(f"'{run_dir / f'{name}.pt'}' does not hold the model {name!r} that {CONFIG_NAME} records "
                             f"(the file holds {model!r}); the run directory was modified after training.")
        if model.n_actions_ != env.n_actions or model.image_shape_ != env.world.image_shape:
            raise ValueError(f"Model {name!r} in '{run_dir}' does not fit its environment ({model.n_actions_} actions, "
                             f"images {model.image_shape_}; environment: {env.n_actions}, {env.world.image_shape}).")
    return env, models, config


def evaluate_run(run_dir: str | os.PathLike, *, n_goals: int = 50, max_steps: int = 30, horizon: int = 2,
                 ambiguity_weight: float = 1.0, seed: int = 0, random_baseline: bool = True) -> dict[str, Any]:
    """Compare an EFE agent per model of ``run_dir`` (and a random policy) on ``n_goals`` seeded goals.

    Returns
    -------
    dict
        :func:`~latentscm.active.episodes.compare_agents`'s result plus ``"settings"``,
        ``"held_out"`` (from the run) and ``"world"``.
    """
    # before seed + 1 below (and before loading the models): a bad seed is named as given
    seed = check_number(seed, "seed", "evaluate_run", low=0, integer=True)
    env, models, config = open_run(run_dir)
    agents: dict[str, Any] = {name: EFEAgent(model, horizon=horizon, ambiguity_weight=ambiguity_weight)
                              for name, model in models.items()}
    if random_baseline:
        agents["random"] = RandomAgent(env.n_actions, seed=seed + 1)
    result = compare_agents(env, agents, n_goals=n_goals, max_steps=max_steps, seed=seed)
    result["settings"] = {"n_goals": n_goals, "max_steps": max_steps, "horizon": horizon,
                          "ambiguity_weight": ambiguity_weight, "seed": seed, "random_seed": seed + 1}
    result["held_out"] = config.get("held_out", {})
    result["world"] = config["world"]
    result["environment"] = config["environment"]
    return result

