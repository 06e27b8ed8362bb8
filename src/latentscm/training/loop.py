"""The one training loop of latentscm.

:func:`train` runs any :class:`~latentscm.learners.base.Learner`: it pre-renders the data once,
builds the learner's modules and optimisers, then for each step takes the minibatch of that step,
reseeds the learner's noise generator from (seed, step, rank), asks the learner for its losses
(:meth:`Learner.loss`), and itself zeroes gradients, runs one backward pass per optimiser,
clips and steps. Around that it keeps a progress bar (loss, steps/s), JSONL/TensorBoard logs, an
evaluation hook, atomic checkpoints every N steps, and exact resumption.

Determinism: on the CPU, a run and the same run killed and resumed from any checkpoint end with
bit-identical weights — batches and noise are functions of (seed, step), checkpoints hold the
weights, optimiser states and global RNG states, and ``deterministic=True`` asks torch for
deterministic kernels. Under ``torchrun`` each process trains on its own shard with
DistributedDataParallel and rank 0 alone writes files.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._io import check_output_dir
from latentscm._validation import check_number
from latentscm.run import CHECKPOINT_DIR, CONFIG_NAME, MODEL_NAME, jsonable_params, learner_config, read_config
from latentscm.training import distributed
from latentscm.training.checkpoint import (
    checkpoint_options,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    remove_temporaries,
    save_checkpoint,
    write_json_atomic,
)
from latentscm.training.data import ShardedBatches, TrainingSet, as_training_set, float_images, spread_rows
from latentscm.training.logs import RunLog
from latentscm.training.protocol import TrainableLearner, check_built, check_training_protocol

__all__ = ["train", "step_seed", "EvalHook"]

EvalHook = Callable[[Any, int], "Mapping[str, float] | None"]

_MASK64 = (1 << 64) - 1
# Hyperparameters that may differ between a run and its resumption. More steps train longer on the
# schedules the run started with: step-based schedules read Learner._schedule_steps(), the steps of
# the first fit, recorded in every checkpoint.
_RESUMABLE_CHANGES = {"steps", "device"}


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """A 63-bit seed for (seed, step, rank), mixed with splitmix64 (cheap enough for every step)."""
    x = (int(seed) * 0x9E3779B97F4A7C15 + int(step) * 0xBF58476D1CE4E5B9 + int(rank) * 0x94D049BB133111EB) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) >> 1


@contextlib.contextmanager
def _deterministic_algorithms(enabled: bool, device: torch.device) -> Iterator[None]:
    """Deterministic kernels while training. On CUDA, cuBLAS is deterministic only with
    ``CUBLAS_WORKSPACE_CONFIG`` set before start-up; without it, cuDNN alone is made deterministic
    (torch would otherwise warn on every matrix product)."""
    import os

    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_benchmark = torch.backends.cudnn.benchmark
    previous_cudnn = torch.backends.cudnn.deterministic
    if enabled:
        if device.type != "cuda" or os.environ.get("CUBLAS_WORKSPACE_CONFIG"):
            torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        # both flags: a caller's strict mode (warn_only=False) must not come back as warn_only=True
        if (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()) \
                != (previous, previous_warn):
            torch.use_deterministic_algorithms(previous, warn_only=previous_warn)
        torch.backends.cudnn.benchmark = previous_benchmark
        torch.backends.cudnn.deterministic = previous_cudnn


def _rng_state() -> dict[str, Any]:
    kind, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (the global state is what user code may draw from)
    python_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(position),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": python_state[0], "state": list(python_state[1]), "gauss": python_state[2]},
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    numpy = state["numpy"]
    legacy = (numpy["kind"], numpy["keys"].cpu().numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
              numpy["cached"])
    np.random.set_state(legacy)  # noqa: NPY002
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))


def _group_parameters(learner, group: str, modules: tuple[str, ...]) -> list[nn.Parameter]:
    parameters = []
    for name in modules:
        parameters += [p for p in getattr(learner, f"{name}_").parameters() if p.requires_grad]
    if not parameters:
        raise ValueError(f"Optimiser group {group!r} of {type(learner).__name__} has no trainable parameters.")
    return parameters


def _check_resume_config(run_dir: Path, config: dict[str, Any], learner: Any = None) -> None:
    previous = read_config(run_dir)
    before, now = previous["learner"], config["learner"]
    if before["class"] != now["class"]:
        raise ValueError(f"'{run_dir}' holds a run of {before['class']}; cannot resume it with {now['class']}.")
    # a parameter the recorded config lacks was added to the class since: the run had the behaviour of its default,
    # or of the value the class records for the time before it existed (defaults_before)
    defaults = jsonable_params({**{name: p.default for name, p in inspect.signature(type(learner).__init__).parameters
                                   .items() if p.default is not inspect.Parameter.empty},
                                **getattr(type(learner), "defaults_before", {})}) if learner is not None else {}
    recorded = {**{k: v for k, v in defaults.items() if k in now["params"]}, **before["params"]}
    changed = sorted(key for key in set(recorded) | set(now["params"])
                     if key not in _RESUMABLE_CHANGES and recorded.get(key) != now["params"].get(key))
    if changed:
        details = ", ".join(f"{k}: {recorded.get(k)!r} -> {now['params'].get(k)!r}" for k in changed)
        raise ValueError(f"Cannot resume '{run_dir}' with different hyperparameters ({details}).")
    before, now = previous.get("data"), dict(config.get("data") or {})
    if isinstance(before, dict) and "sha256" not in before:
        now.pop("sha256", None)  # a run config written before content hashes were recorded
    if isinstance(before, dict) and before.get("kind") == "data" and "array_key" not in before \
            and before.get("key") == now.get("key"):
        now.pop("array_key", None)  # recorded before .npz array names were; the content key names the array too
    if isinstance(before, dict) and {**before, "sha256": None} == {**now, "sha256": None} \
            and before.get("sha256") != now.get("sha256"):
        raise ValueError(f"Cannot resume '{run_dir}' on different data: the {now.get('kind')} given has the same size "
                         f"but other contents (SHA-256 {now.get('sha256')}) than the one the run was trained on "
                         f"(SHA-256 {before.get('sha256')}, recorded in '{run_dir / CONFIG_NAME}').")
    if isinstance(before, dict) and before.get("kind") == "world" and isinstance(before.get("options"), dict) \
            and isinstance(now.get("options"), dict):
        # an option the recorded config lacks was added to the world since: the run had its default's behaviour
        added = _world_defaults(now.get("class"), set(now["options"]) - set(before["options"]))
        if added and all(now["options"][key] == value for key, value in added.items()):
            now["options"] = {k: v for k, v in now["options"].items() if k not in added}
    if before != now:
        raise ValueError(f"Cannot resume '{run_dir}' on different data: it was trained on {before}, now given {now}.")
    # each process trains on its own shard with its own batch_size: other processes, other minibatches
    trained_on = int((previous.get("training") or {}).get("world_size", 1))
    processes = int(config["training"]["world_size"])
    if trained_on != processes:
        raise ValueError(f"Cannot resume '{run_dir}' on {processes} process(es): it was trained on {trained_on} "
                         f"(recorded in '{run_dir / CONFIG_NAME}'), and the number of processes sets the minibatches "
                         f"(batch_size images per process and step); resume it under torchrun --nproc-per-node "
                         f"with {trained_on} process(es) in all.")


def _world_defaults(path: Any, names: set[str]) -> dict[str, Any]:
    """The constructor defaults of ``names`` for the World class at ``path`` ("module:Class"), a latentscm world
    only (nothing else is imported from a run config here); {} when any is unknown (then the data must match as
    recorded)."""
    if not names or not isinstance(path, str) or not path.startswith("latentscm.") or ":" not in path:
        return {}
    import importlib

    module, _, qualname = path.partition(":")
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        parameters = inspect.signature(cls.__init__).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return {}
    if not all(name in parameters and parameters[name].default is not inspect.Parameter.empty for name in names):
        return {}
    return {name: parameters[name].default for name in names}


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", dynamic_ncols=True, leave=False)


def train(learner: TrainableLearner, data: Any, *, out: str | Path | None = None, resume: bool = False,
          n_samples: int | None = None, checkpoint_every: int | None = None, keep_checkpoints: int | None = None,
          log_every: int | None = None,
          eval_every: int | None = None, eval_hook: EvalHook | None = None, progress: bool | None = None,
          deterministic: bool = True, tensorboard: bool | None = None, regimes: Any = None,
          interventional_fraction: float | None = None):
    """Train ``learner`` on ``data`` for ``learner.steps`` steps; returns the learner.

    Parameters
    ----------
    learner : TrainableLearner
        A :class:`~latentscm.learners.base.Learner`, or any object following
        :class:`~latentscm.training.protocol.TrainableLearner` (checked first; its
        hyperparameters set the model, batch size, steps, seed and device).
    data : World, Batch or array
        A World (``n_samples`` images are rendered once), a Batch, or images (N, C, H, W)
        float32 in [0, 1].
    out : str, Path or None, default None
        Run directory (config, checkpoints, logs, final model); ``None`` keeps everything in
        memory.
    resume : bool, default False
        Continue from the newest checkpoint in ``out`` (a fresh start if there is none).
    n_samples : int or None, default None
        Images rendered from a World (default 10,000; see
        :func:`latentscm.training.data.as_training_set`).
    checkpoint_every : int or None, default None
        Steps between checkpoints (default: a tenth of the run, at most 1000). Checkpoints are files of
        the run directory, so giving it with ``out=None`` is refused (a ValueError).
    keep_checkpoints : int or None, default None
        How many recent checkpoints to keep (default 3); refused with ``out=None``, as ``checkpoint_every``.
    log_every : int or None, default None
        Steps between log records (default: a twentieth of the run, at most 100).
    eval_every, eval_hook : int and callable, or None
        Call ``eval_hook(learner, step)`` every ``eval_every`` steps (default ``log_every``) on rank
        0; the numbers it returns are logged as ``{"kind": "eval", ...}``. ``eval_every`` without
        ``eval_hook`` is refused (it would do nothing).
    progress : bool or None, default None
        Show a progress bar (default: when stderr is a terminal).
    deterministic : bool, default True
        Ask torch for deterministic algorithms during training.
    tensorboard : bool or None, default None
        Also log to TensorBoard (default: when it is installed).
    regimes, interventional_fraction : optional
        Draw the training images of a World from regimes (interventional data with known
        targets; see :func:`latentscm.training.data.training_mixture`). Recorded in the run
        config.

    Returns
    -------
    TrainableLearner
        ``learner`` itself, trained.
    """
    check_training_protocol(learner)
    owner = f"{type(learner).__name__}.fit"
    steps = learner.steps
    checkpoint_every, keep_checkpoints = checkpoint_options(out, checkpoint_every, keep_checkpoints, steps, owner)
    if log_every is None:
        log_every = max(1, min(100, steps // 20))
    log_every = check_number(log_every, "log_every", owner, low=1, integer=True)
    if eval_every is not None:
        eval_every = check_number(eval_every, "eval_every", owner, low=1, integer=True)
    if eval_hook is not None and not callable(eval_hook):
        raise TypeError(f"The 'eval_hook' argument of {owner} must be callable(learner, step). Got {eval_hook!r}.")
    if eval_every is not None and eval_hook is None:
        raise ValueError(f"The 'eval_every' argument of {owner} ({eval_every}) would be ignored: it sets how often "
                         f"eval_hook(learner, step) is called, and no eval_hook was given.")
    if eval_hook is not None and eval_every is None:
        eval_every = log_every
    if resume and out is None:
        raise ValueError(f"{owner}(resume=True) needs the run directory 'out' to resume from.")
    if out is not None:  # before any data are rendered or modules rebuilt
        check_output_dir(out, f"The 'out' argument of {owner}")

    device = learner._torch_device()
    context = distributed.setup(device)
    if context.active and device.type == "cuda":
        device = torch.device("cuda", context.local_rank)
        torch.cuda.set_device(device)
    settings = {"checkpoint_every": checkpoint_every, "keep_checkpoints": keep_checkpoints, "log_every": log_every,
                "eval_every": eval_every, "deterministic": bool(deterministic), "world_size": context.world_size,
                "tensorboard": None if tensorboard is None else bool(tensorboard)}
    try:
        with _deterministic_algorithms(deterministic, device):
            return _run(learner, data, run_dir=Path(out) if out is not None else None, resume=resume,
                        n_samples=n_samples, settings=settings, eval_hook=eval_hook, progress=progress,
                        tensorboard=tensorboard, device=device, context=context, owner=owner,
                        regimes=regimes, interventional_fraction=interventional_fraction)
    finally:
        context.teardown()


def _run(learner, data: Any, *, run_dir: Path | None, resume: bool, n_samples: int | None,
         settings: dict[str, Any], eval_hook: EvalHook | None, progress: bool | None, tensorboard: bool | None,
         device: torch.device, context: distributed.DistContext, owner: str, regimes: Any = None,
         interventional_fraction: float | None = None):
    if run_dir is not None and not resume:
        if latest_checkpoint(run_dir / CHECKPOINT_DIR) is not None or (run_dir / MODEL_NAME).exists():
            raise FileExistsError(f"Run directory '{run_dir}' already holds a run; resume it (fit(..., resume=True) "
                                  f"or `latentscm resume {run_dir}`) or choose another directory.")

    # optional, like uses_domain: a learner that trains on pairs says how a World draws them (pair_changes)
    paired = bool(getattr(learner, "uses_pairs", False))
    style = getattr(learner, "style_factors", None) if paired else None  # the factors a pair may change
    viewed = bool(getattr(learner, "uses_views", False))  # a multi-view learner: several views of each sample
    if viewed and getattr(learner, "views", None) is None:
        raise ValueError(f"The 'views' parameter of {type(learner).__name__} is None; give the latents each view "
                         f"shows (factor names of a World, or labels for your own MultiViews).")
    training_set: TrainingSet = as_training_set(data, n_samples=n_samples, seed=learner.seed, owner=owner,
                                                regimes=regimes, interventional_fraction=interventional_fraction,
                                                pairs=getattr(learner, "pair_changes", None) if paired else None,
                                                paired=paired,
                                                pairs_share=bool(getattr(learner, "pairs_share_a_factor", True)),
                                                pair_factors=style,
                                                pair_nudge=getattr(learner, "pair_nudge", None) if paired else None,
                                                # a multi-view learner: the factors each view shows, and how
                                                views=getattr(learner, "views", None) if viewed else None,
                                                views_hidden=getattr(learner, "hidden", "fixed") if viewed else "fixed",
                                                # a temporal learner: transitions of a temporal process
                                                transitions=bool(getattr(learner, "uses_transitions", False)))
    factor_names = list(training_set.factor_names)
    main = context.is_main
    checkpoint_dir = run_dir / CHECKPOINT_DIR if run_dir is not None else None
    # Building replaces the learner's modules and learned attributes, yet the checks after it (batch
    # size, resume config, optimiser groups, checkpoint step) can still reject the call: a call rejected
    # before training starts puts the learner back as it was (a fitted learner stays fitted).
    attributes = vars(learner)
    before = dict(attributes)
    try:
        config, images, batches, row_labels, parameters, optimizers, start, restored_window = _set_up(
            learner, training_set, factor_names, device, context, run_dir, checkpoint_dir, resume, settings)
    except BaseException:
        attributes.clear()
        attributes.update(before)
        raise
    del before
    clips = {group: learner._group_grad_clip(group) for group in optimizers}
    log = RunLog(run_dir if main else None, tensorboard=tensorboard if main else False)
    kept = log.rewind(start)
    if main and run_dir is not None:
        write_json_atomic(run_dir / CONFIG_NAME, config)

    def save_state(step: int, window: dict[str, torch.Tensor | float], window_steps: int) -> None:
        save_checkpoint(checkpoint_path(checkpoint_dir, step), {
            "step": step,
            "learner": {**learner.state_dict(), "n_steps": step},
            "optimizers": {group: optimizer.state_dict() for group, optimizer in optimizers.items()},
            "rng": _rng_state(),
            # the sums of the logging window still open at this step, so that a resumed run logs the
            # same averages as an uninterrupted one; and the training time so far, so that its log's
            # "time" goes on from there rather than from 0
            "log_window": {"steps": window_steps, "sums": dict(window),
                           "time": time.perf_counter() - run_start},
        })
        prune_checkpoints(checkpoint_dir, settings["keep_checkpoints"])

    names = learner._module_names()
    learner._set_train_nets({name: distributed.wrap(getattr(learner, f"{name}_"), context, device) for name in names})
    for module in learner._modules().values():
        module.train()
    show = progress if progress is not None else _stderr_is_terminal()
    bar = _progress_bar(learner.steps, start, bool(show) and main)
    order = list(optimizers)
    last = len(order) - 1
    window: dict[str, torch.Tensor | float] = dict(restored_window["sums"])
    window_steps = int(restored_window["steps"])  # steps summed in the window (some before a resume)
    # the non-finite values of every group's optimised loss since the last log step, summed (finite ones count as
    # 0, so no sum of finite losses can overflow): checked at log steps without a device sync per step, since the
    # logged "loss" may be absent or leave out a group (a discriminator's)
    nonfinite: dict[str, torch.Tensor] = {}
    timed_steps, window_start = 0, time.perf_counter()  # steps timed in this process, for steps_per_s
    # training time before this process (a resumed run): recorded in the checkpoint; checkpoints of
    # older versions lack it, and then the last kept log record's time is the best known
    earlier = restored_window.get("time")
    if earlier is None:
        earlier = max((float(r["time"]) for r in kept if r.get("kind") == "train" and "time" in r), default=0.0)
    run_start = time.perf_counter() - float(earlier)
    try:
        for step in range(start, learner.steps):
            batch = batches.batch(step)
            learner._generator.manual_seed(step_seed(learner.seed, step, context.rank))
            labels: dict[str, torch.Tensor] = {}
            if row_labels:
                rows = batches.indices(step)
                labels = {key: value[rows] for key, value in row_labels.items()}
                for key in ("pair", "next_images"):
                    if key in labels:
                        labels[key] = float_images(labels[key])
            output = learner.loss(batch, step, **labels)
            if set(output.losses) != set(order):
                raise RuntimeError(f"{type(learner).__name__}.loss returned losses for {sorted(output.losses)} but its "
                                   f"optimiser groups are {order}.")
            for optimizer in optimizers.values():
                optimizer.zero_grad(set_to_none=True)
            if len(order) == 1:
                output.losses[order[0]].backward()
            else:
                # One backward per optimiser, restricted to its parameters (a discriminator's loss
                # must not leak gradients into the encoder, nor the VAE's into the discriminator).
                for i, group in enumerate(order):
                    output.losses[group].backward(inputs=parameters[group], retain_graph=i < last)
            for group in order:
                value = output.losses[group].detach()
                value = torch.where(torch.isfinite(value), torch.zeros_like(value), value)
                nonfinite[group] = nonfinite[group] + value if group in nonfinite else value
            for group, optimizer in optimizers.items():
                if clips[group] is not None:
                    nn.utils.clip_grad_norm_(parameters[group], clips[group])
                scale = learner._lr_scale(group, step)
                if scale is not None:  # a learning-rate schedule: a function of the step alone, so resumes follow it
                    for param_group in optimizer.param_groups:
                        param_group["lr"] = param_group.setdefault("initial_lr", param_group["lr"]) * scale
                optimizer.step()

            for key, value in output.logs.items():
                value = value.detach() if isinstance(value, torch.Tensor) else float(value)
                window[key] = window[key] + value if key in window else value
            window_steps += 1
            timed_steps += 1
            done = step + 1
            bar.update(1)
            if done % settings["log_every"] == 0 or done == learner.steps:
                now = time.perf_counter()
                record = {"kind": "train", "step": done, "time": now - run_start,
                          "steps_per_s": timed_steps / max(now - window_start, 1e-9)}
                record.update({key: float(value) / window_steps for key, value in window.items()})
                _check_finite(record, done, learner, nonfinite, checkpoint_dir)
                log.log(record)
                bar.set_postfix(loss=f"{record.get('loss', float('nan')):.4g}",
                                steps_per_s=f"{record['steps_per_s']:.2f}", refresh=False)
                window, window_steps, timed_steps, window_start = {}, 0, 0, time.perf_counter()
                nonfinite = {}
            if main and eval_hook is not None and done % settings["eval_every"] == 0:
                result = eval_hook(learner, done)
                if result:
                    log.log({"kind": "eval", "step": done, **{k: float(v) for k, v in result.items()}})
            if checkpoint_dir is not None and (done % settings["checkpoint_every"] == 0 or done == learner.steps):
                # a checkpoint must never hold diverged weights; every rank checks (DDP keeps their weights equal),
                # so under torchrun each stops with this error rather than rank 0 alone
                _check_finite_weights(learner, done, checkpoint_dir)
                if main:
                    save_state(done, window, window_steps)
        if checkpoint_dir is None and start < learner.steps:
            # without a run directory no checkpoint checks the weights: a last step with a finite loss
            # and a NaN gradient would otherwise return diverged weights without a word
            _check_finite_weights(learner, learner.steps, None)
    finally:
        bar.close()
        learner._clear_train_nets()
        log.close()

    learner.n_steps_ = learner.steps
    learner.history_ = log.records
    learner.training_data_ = dict(config["data"])  # what it was trained on, for a later save() elsewhere
    # statistics fitted after training (aggregate prior, code scales) see rows from the whole set, every domain
    learner._after_fit(float_images(images[torch.from_numpy(spread_rows(images.shape[0])).to(images.device)]))
    if main and run_dir is not None:
        learner.save(run_dir)
    context.barrier()
    return learner


def _set_up(learner, training_set: TrainingSet, factor_names: list[str], device: torch.device,
            context: distributed.DistContext, run_dir: Path | None, checkpoint_dir: Path | None, resume: bool,
            settings: dict[str, Any]):
    """Build the learner, check the run config, make the batches and optimisers and restore the newest
    checkpoint. Returns (config, images, batches, the per-row labels the learner's ``loss`` takes (name ->
    tensor with a row per training image: ``factors``, ``targets``, ``domain``, ``pair``, ``changed``, ``views``,
    ``next_images``, ``next_targets``),
    parameters, optimizers, start step, logging window restored from the checkpoint); the caller puts the
    learner back if this raises.
    """
    learner._on_training_set(training_set)  # e.g. a causal learner reads factor names and the graph
    learner._build(training_set.image_shape, n_factors=len(factor_names) or None, device=device)
    check_built(learner)
    learner._on_data(training_set.images.shape[0])
    config = {
        "learner": learner_config(learner),
        "image_shape": list(learner.image_shape_),
        "latent_dim": int(learner.latent_dim_),
        "data": {**training_set.source, "factor_names": factor_names},
        "training": settings,
    }
    if run_dir is not None and resume and (run_dir / CONFIG_NAME).exists():
        _check_resume_config(run_dir, config, learner)

    images = torch.from_numpy(training_set.images).to(device)  # float32, or uint8 store values (4x smaller)
    # learners that read labels (causal latents) get the labels of each minibatch as well
    factors = learner._training_factors(training_set, device) if learner.uses_factors else None
    # ... and, for interventional data, which factors were intervened on (known targets)
    targets = None
    # (with the labels for causal learners; alone for one that reads targets but no labels, as CauCA)
    if getattr(learner, "uses_targets", False) and training_set.targets is not None:
        targets = torch.from_numpy(training_set.targets).to(device)
    # ... and, for multi-domain data, the domain index of each image (e.g. GCRL's per-domain priors);
    # data without one is a single domain 0, as Batch.domain defaults to
    domains = None
    if getattr(learner, "uses_domain", False):
        domain = training_set.domain
        if domain is None:
            domain = np.zeros(training_set.images.shape[0], dtype=np.int64)
        domains = torch.from_numpy(np.ascontiguousarray(domain)).to(device)
    # ... and, for weak supervision, each image's partner (the same sample with a few factors changed)
    row_labels = {"factors": factors, "targets": targets, "domain": domains}
    if getattr(learner, "uses_pairs", False):
        row_labels["pair"] = torch.from_numpy(training_set.pairs).to(device)
        if training_set.pair_changed is not None:
            row_labels["changed"] = torch.from_numpy(training_set.pair_changed).to(device)
    # ... and, for multi-view data, the other views of each sample (the images are view 0)
    if getattr(learner, "uses_views", False):
        row_labels["views"] = torch.from_numpy(training_set.views).to(device)
    # ... and, for temporal transitions, the next frame and the variables intervened on in between
    if getattr(learner, "uses_transitions", False):
        row_labels["next_images"] = torch.from_numpy(training_set.next_images).to(device)
        row_labels["next_targets"] = torch.from_numpy(training_set.next_targets).to(device)
    row_labels = {key: value for key, value in row_labels.items() if value is not None}
    batches = ShardedBatches(images, learner.batch_size, learner.seed, rank=context.rank,
                             world_size=context.world_size)
    groups = learner._optimizer_groups()
    parameters = {group: _group_parameters(learner, group, modules) for group, modules in groups.items()}
    optimizers = {group: learner._make_optimizer(group, params) for group, params in parameters.items()}

    start = 0
    window: dict[str, Any] = {"steps": 0, "sums": {}}
    if checkpoint_dir is not None and resume:
        if context.is_main:
            remove_temporaries(checkpoint_dir)
            remove_temporaries(run_dir)
        latest = latest_checkpoint(checkpoint_dir)
        if latest is not None:
            if latest[0] > learner.steps:
                raise ValueError(f"The newest checkpoint of '{run_dir}' is at step {latest[0]}, beyond steps="
                                 f"{learner.steps}; resume with steps >= {latest[0]}.")
            state = load_checkpoint(latest[1], map_location=device)
            _restore_modules(learner, state["learner"])
            for group, optimizer in optimizers.items():
                optimizer.load_state_dict(state["optimizers"][group])
            _set_rng_state(state["rng"])
            start = int(state["step"])
            window = state.get("log_window") or window  # absent from checkpoints of older versions
    return config, images, batches, row_labels, parameters, optimizers, start, window


def _restore_modules(learner, state: Mapping[str, Any]) -> None:
    """Load module weights and extra state from a checkpoint into the already built learner."""
    for name, module in learner._modules().items():
        module.load_state_dict(state["modules"][name])
    learner._load_extra_state(state.get("extra", {}))
    learner.n_steps_ = int(state.get("n_steps", 0))


def _kept(checkpoint_dir: Path | None) -> str:
    """What a diverged run leaves to resume from, for the error message."""
    if checkpoint_dir is None:
        return "out=None keeps no checkpoints"
    latest = latest_checkpoint(checkpoint_dir)
    return (f"the last checkpoint, step {latest[0]}, is intact and can be resumed" if latest is not None
            else "no checkpoint was written")


def _check_finite(record: dict[str, Any], step: int, learner, nonfinite: Mapping[str, torch.Tensor] | None = None,
                  checkpoint_dir: Path | None = None) -> None:
    """Raise ``FloatingPointError`` if the logged ``loss`` or the optimised loss of any optimiser group
    (``nonfinite``: group -> scalar sum of its non-finite losses since the last log step, 0 when all
    were finite) is NaN or infinite."""
    loss = record.get("loss")
    if loss is not None and not np.isfinite(loss):
        raise FloatingPointError(f"{type(learner).__name__}: the loss became {loss} by step {step}; lower 'lr' or set "
                                 f"'grad_clip' ({_kept(checkpoint_dir)}).")
    for group, total in (nonfinite or {}).items():
        value = float(total)
        if not np.isfinite(value):
            raise FloatingPointError(f"{type(learner).__name__}: the loss of optimiser group {group!r} became {value} "
                                     f"by step {step}; lower 'lr' or set 'grad_clip' ({_kept(checkpoint_dir)}).")


def _check_finite_weights(learner, step: int, checkpoint_dir: Path | None) -> None:
    """Raise ``FloatingPointError`` if a module of ``learner`` holds NaN or infinite values (checked
    before every checkpoint, and after the last step of a run without checkpoints: the loss is
    checked only at log steps)."""
    bad = [name for name, module in learner._modules().items()
           if not all(bool(torch.isfinite(t).all()) for t in module.state_dict().values() if t.is_floating_point())]
    if bad:
        saved = " and were not saved" if checkpoint_dir is not None else ""
        raise FloatingPointError(f"{type(learner).__name__}: the weights of {', '.join(bad)} became NaN or infinite by "
                                 f"step {step}{saved}; lower 'lr' or set 'grad_clip' ({_kept(checkpoint_dir)}).")


def _stderr_is_terminal() -> bool:
    import sys

    return bool(getattr(sys.stderr, "isatty", lambda: False)())
