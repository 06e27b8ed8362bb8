"""Axiomatic training of a small transformer from scratch: :class:`AxiomModel`.

The model (:class:`~latentscm.axioms.transformer.AxiomTransformer`) is trained on a stream of
demonstrations from an :class:`~latentscm.axioms.distribution.AxiomDistribution` (Vashishtha et
al. 2024): the minibatch of step ``s`` is ``distribution.sample(batch_size, seed=step_seed(seed,
s))``, so data never has to be stored and a run killed and resumed from any checkpoint ends with
bit-identical weights on the CPU (checkpoints hold the weights, the optimiser state and torch's
RNG state; the learning rate is a function of the step). A finished or interrupted run can be
resumed with more ``steps``: the learning-rate schedule keeps the length of the fit that started the
run (``schedule_steps_``, recorded in the checkpoints and ``config.json``), and the extra steps train
at its final rate, ``lr / 10``, as the learners' training loop does. Run directories reuse the library's
training utilities: atomically written, hash-verified checkpoints
(:mod:`latentscm.training.checkpoint`), ``train.jsonl`` logs (:class:`~latentscm.training.logs.RunLog`)
and the per-step seed :func:`~latentscm.training.loop.step_seed`. The image training loop
(:func:`latentscm.training.train`) is not used: it trains image learners.

Layout of a run directory::

    config.json           hyperparameters (AxiomModel.get_params()) and the schedule's length
    checkpoints/step_XXXXXXXX.pt
    train.jsonl
    model.pt              the final weights with their hyperparameters (AxiomModel.load)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latentscm._devices import check_device
from latentscm._params import params_from_signature, params_repr
from latentscm._seeding import seeded_torch
from latentscm._validation import check_choice, check_number
from latentscm.axioms.demonstrations import Demonstration
from latentscm.axioms.distribution import AxiomDistribution
from latentscm.axioms.transformer import POSITIONAL_ENCODINGS, AxiomTransformer, check_widths
from latentscm.axioms.vocabulary import Vocabulary
from latentscm.training.checkpoint import (
    CheckpointError,
    checkpoint_options,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    remove_temporaries,
    save_checkpoint,
    write_json_atomic,
)
from latentscm.training.logs import RunLog
from latentscm.training.loop import step_seed

__all__ = ["AxiomModel", "CONFIG_NAME", "MODEL_NAME", "CHECKPOINT_DIR"]

CONFIG_NAME = "config.json"
MODEL_NAME = "model.pt"
CHECKPOINT_DIR = "checkpoints"
_FORMAT = "latentscm.axioms.AxiomModel/1"
# Hyperparameters that may differ between a run and its resumption (as in latentscm.training.loop): more
# steps train longer on the schedule the run started with (schedule_steps_, recorded in every checkpoint).
_RESUMABLE_CHANGES = {"steps", "device"}


class AxiomModel:
    """A transformer trained from scratch on axiom demonstrations, answering Yes/No.

    Parameters
    ----------
    d_model, n_layers, n_heads, d_ff : int, default 128, 6, 4, 512
        Transformer sizes (the defaults have about 1.2M parameters).
    positional : {"none", "sinusoidal", "learned", "rope"}, default "rope"
        Positional encoding (see :mod:`latentscm.axioms.transformer`).
    max_positions : int, default 256
        Longest sequence with learned positions.
    causal : bool, default True
        Decoder-style causal attention.
    readout : int, default 3
        Answer read from the last ``readout`` hidden states (see :class:`AxiomTransformer`).
    perturb : bool, default True
        Train on the perturbed distribution (name shuffling, edge reversal, branching); ``False``
        trains the baseline on :meth:`AxiomDistribution.unperturbed`.
    min_length, max_length : int, default 3 and 6
        Training graph sizes.
    n_names : int, default 32
        Node-name pool.
    flip_prob : float, default 0.5
        Edge-reversal probability (when ``perturb``).
    branch_prob : float, default 0.1
        Fraction of branched training graphs (when ``perturb``).
    dsep_fraction : float, default 0.25
        Fraction of d-separation demonstrations.
    steps : int, default 2000
        Optimisation steps. A run resumed with more steps trains longer on the schedule of the fit
        that started it (see ``lr``); fewer steps than its newest checkpoint holds are refused.
    batch_size : int, default 64
        Demonstrations per step.
    lr : float, default 1e-3
        Peak learning rate of AdamW (linear warm-up over ``warmup`` steps, then cosine decay towards
        ``lr / 10`` over the steps of the fit that started the run, ``schedule_steps_``; steps added
        by a resume beyond them train at ``lr / 10``).
    warmup : int, default 100
        Warm-up steps.
    weight_decay : float, default 0.01
        AdamW weight decay.
    grad_clip : float or None, default 1.0
        Gradient-norm clip.
    seed : int, default 0
        Seed of the initial weights and of the data stream.
    device : str, default "cpu"
        Torch device.
    """

    def __init__(self, *, d_model: int = 128, n_layers: int = 6, n_heads: int = 4, d_ff: int = 512,
                 positional: str = "rope", max_positions: int = 256, causal: bool = True, readout: int = 3,
                 perturb: bool = True,
                 min_length: int = 3, max_length: int = 6, n_names: int = 32, flip_prob: float = 0.5,
                 branch_prob: float = 0.1, dsep_fraction: float = 0.25, steps: int = 2000, batch_size: int = 64,
                 lr: float = 1e-3, warmup: int = 100, weight_decay: float = 0.01, grad_clip: float | None = 1.0,
                 seed: int = 0, device: str = "cpu"):
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.d_ff = d_ff
        self.positional = positional
        self.max_positions = max_positions
        self.causal = causal
        self.readout = readout
        self.perturb = perturb
        self.min_length = min_length
        self.max_length = max_length
        self.n_names = n_names
        self.flip_prob = flip_prob
        self.branch_prob = branch_prob
        self.dsep_fraction = dsep_fraction
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.seed = seed
        self.device = device
        self._validate()

    # ------------------------------------------------------------------ configuration
    def _validate(self) -> None:
        owner = "AxiomModel"
        # integers are stored as Python ints: a numpy integer would not survive config.json
        for name in ("d_model", "n_layers", "n_heads", "d_ff", "max_positions", "steps", "batch_size", "readout"):
            setattr(self, name, int(check_number(getattr(self, name), name, owner, low=1, integer=True)))
        self.warmup = int(check_number(self.warmup, "warmup", owner, low=0, integer=True))
        check_number(self.lr, "lr", owner, low=0.0, low_inclusive=False)
        check_number(self.weight_decay, "weight_decay", owner, low=0.0)
        if self.grad_clip is not None:
            check_number(self.grad_clip, "grad_clip", owner, low=0.0, low_inclusive=False)
        check_choice(self.positional, "positional", owner, POSITIONAL_ENCODINGS)
        for name in ("causal", "perturb"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"The {name!r} parameter of {owner} must be a bool. Got {getattr(self, name)!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise TypeError(f"The 'seed' parameter of {owner} must be an int. Got {self.seed!r}.")
        self.seed = int(self.seed)
        if not isinstance(self.device, str):
            raise TypeError(f"The 'device' parameter of {owner} must be a string such as 'cpu'. Got {self.device!r}.")
        check_widths(self.d_model, self.n_heads, self.positional, owner)  # here, not first in fit()
        self.distribution()  # validates the data parameters
        for name in ("min_length", "max_length", "n_names"):
            if isinstance(getattr(self, name), np.integer):
                setattr(self, name, int(getattr(self, name)))

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn's rule)."""
        return params_from_signature(self)

    def set_params(self, **params: Any) -> AxiomModel:
        """Change hyperparameters (validated); returns ``self``. Values that are refused change nothing."""
        before = self.get_params()
        unknown = sorted(set(params) - set(before))
        if unknown:
            raise ValueError(f"AxiomModel has no parameter(s) {', '.join(map(repr, unknown))}. Valid: "
                             f"{', '.join(before)}.")
        for key, value in params.items():
            setattr(self, key, value)
        try:
            self._validate()
        except (TypeError, ValueError):  # the model keeps its earlier, valid hyperparameters
            for key, value in before.items():
                setattr(self, key, value)
            raise
        return self

    def __repr__(self) -> str:
        return params_repr(self, self.get_params())

    def distribution(self) -> AxiomDistribution:
        """The training distribution these hyperparameters describe."""
        if self.perturb:
            return AxiomDistribution(min_length=self.min_length, max_length=self.max_length, n_names=self.n_names,
                                     flip_prob=self.flip_prob, branch_prob=self.branch_prob,
                                     dsep_fraction=self.dsep_fraction)
        return AxiomDistribution.unperturbed(min_length=self.min_length, max_length=self.max_length,
                                             n_names=self.n_names, dsep_fraction=self.dsep_fraction)

    def vocabulary(self) -> Vocabulary:
        """The token vocabulary (specials + ``n_names`` node names)."""
        return self.distribution().vocabulary()

    def _torch_device(self) -> torch.device:
        return check_device(self.device, "AxiomModel")

    def _build(self) -> None:
        self.vocabulary_ = self.vocabulary()
        with seeded_torch(self.seed):  # seeded initial weights, global RNG left as it was
            self.network_ = AxiomTransformer(len(self.vocabulary_), d_model=self.d_model, n_layers=self.n_layers,
                                             n_heads=self.n_heads, d_ff=self.d_ff, positional=self.positional,
                                             max_positions=self.max_positions, causal=self.causal,
                                             readout=self.readout)
        self.network_.to(self._torch_device())

    def _schedule_steps(self) -> int:
        """The run length the learning-rate schedule is laid out over: ``steps`` of the fit that started
        the run. Resuming with more ``steps`` trains longer on the same schedule (``schedule_steps_``,
        saved in checkpoints and ``config.json``) instead of stretching it mid-run."""
        return int(getattr(self, "schedule_steps_", None) or self.steps)

    def _learning_rate(self, step: int) -> float:
        """AdamW's learning rate at optimisation step ``step`` (0-based): linear warm-up, cosine decay to
        ``lr / 10`` over :meth:`_schedule_steps`, then ``lr / 10``."""
        if self.warmup and step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self._schedule_steps() - self.warmup)
        return self.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))

    def _encode(self, demonstrations: Sequence[Demonstration]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, lengths = self.vocabulary_.pad([d.tokens() for d in demonstrations])
        device = self._torch_device()
        return torch.from_numpy(ids).to(device), torch.from_numpy(lengths).to(device)

    # ------------------------------------------------------------------ training
    def fit(self, out: str | os.PathLike | None = None, *, resume: bool = False, checkpoint_every: int | None = None,
            keep_checkpoints: int | None = None, log_every: int | None = None, progress: bool = False) -> AxiomModel:
        """Train from scratch (or resume ``out``) for ``steps`` steps; returns ``self``.

        Parameters
        ----------
        out : str, path or None, default None
            Run directory (config, checkpoints, logs, final model); ``None`` keeps everything in memory.
        resume : bool, default False
            Continue from the newest checkpoint in ``out`` (a fresh start if there is none). The
            hyperparameters must be those recorded in ``out/config.json``, except ``device`` and
            ``steps``: more steps than the run had train longer on its schedule (see ``lr``); fewer
            than the newest checkpoint's step are refused.
        checkpoint_every : int or None, default None
            Steps between checkpoints (default: a tenth of the run, at most 1000).
        keep_checkpoints : int or None, default None
            Newest checkpoints kept (default 3). Either checkpoint option given with ``out=None`` is refused.
        log_every : int or None, default None
            Steps between log records (default: a twentieth of the run, at most 100).
        progress : bool, default False
            Print a line per log record.

        Returns
        -------
        AxiomModel
            ``self``, with ``network_``, ``vocabulary_``, ``history_``, ``n_steps_`` and
            ``schedule_steps_`` set.

        Raises
        ------
        FileExistsError
            ``out`` already holds a run and ``resume`` is False.
        ValueError
            Resuming with other hyperparameters than recorded, with fewer ``steps`` than the newest
            checkpoint's, or bad arguments.
        CheckpointError
            The newest checkpoint is damaged (it is named).
        """
        owner = "AxiomModel.fit"
        self._validate()  # hyperparameters assigned as attributes are checked too (steps=0 would train nothing)
        steps = int(self.steps)
        checkpoint_every, keep_checkpoints = checkpoint_options(out, checkpoint_every, keep_checkpoints, steps, owner)
        log_every = check_number(log_every if log_every is not None else max(1, min(100, steps // 20)), "log_every",
                                 owner, low=1, integer=True)
        if resume and out is None:
            raise ValueError(f"{owner}(resume=True) needs the run directory 'out' to resume from.")
        run_dir = Path(out) if out is not None else None
        checkpoint_dir = run_dir / CHECKPOINT_DIR if run_dir is not None else None
        config = {"format": _FORMAT, "params": self.get_params()}
        previous: dict[str, Any] = {}
        if run_dir is not None:
            if resume and (run_dir / CONFIG_NAME).exists():
                previous = self._check_resume(run_dir, config)
            elif not resume and (latest_checkpoint(checkpoint_dir) is not None or (run_dir / MODEL_NAME).exists()):
                raise FileExistsError(f"Run directory '{run_dir}' already holds a run; resume it (fit(out, resume=True)"
                                      f" or `latentscm axioms train --resume`) or choose another directory.")

        # torch's global stream is the caller's: the training's own (seeded, or restored from the checkpoint
        # resumed) lives in a fork of it, so a resumed fit leaves the caller's stream as a fresh fit does
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(int(self.seed))
            self._build()
            network = self.network_
            optimizer = torch.optim.AdamW(network.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            distribution = self.distribution()
            start = 0
            self.schedule_steps_ = steps  # a fresh start lays the schedule out over its own steps
            if checkpoint_dir is not None and resume:
                remove_temporaries(checkpoint_dir)
                latest = latest_checkpoint(checkpoint_dir)
                if latest is not None:
                    if latest[0] > steps:
                        raise ValueError(f"The newest checkpoint of '{run_dir}' is at step {latest[0]}, beyond steps="
                                         f"{steps}; resume with steps >= {latest[0]}.")
                    state = load_checkpoint(latest[1], map_location=self._torch_device())
                    try:
                        network.load_state_dict(state["network"])
                        optimizer.load_state_dict(state["optimizer"])
                        torch.set_rng_state(state["torch_rng"].cpu())
                        start = int(state["step"])
                    except (KeyError, RuntimeError, TypeError) as error:
                        raise CheckpointError(f"Checkpoint '{latest[1]}' is not an AxiomModel checkpoint of this "
                                              f"configuration: {error}") from None
                    self.schedule_steps_ = _recorded_schedule_steps(state, previous, steps)
            config["schedule_steps"] = self.schedule_steps_
            if run_dir is not None:
                write_json_atomic(run_dir / CONFIG_NAME, config)
            log = RunLog(run_dir, tensorboard=False)
            log.rewind(start)  # records past the checkpoint resumed from (all of them on a fresh start) are lost work

            def save_state(done: int) -> None:
                save_checkpoint(checkpoint_path(checkpoint_dir, done),
                                {"network": network.state_dict(), "optimizer": optimizer.state_dict(),
                                 "torch_rng": torch.get_rng_state(), "step": done,
                                 "schedule_steps": self.schedule_steps_})
                prune_checkpoints(checkpoint_dir, keep_checkpoints)

            network.train()
            window_loss, window_correct, window_seen, window_start = 0.0, 0, 0, time.perf_counter()
            run_start = time.perf_counter()
            try:
                for step in range(start, steps):
                    demonstrations = distribution.sample(self.batch_size, seed=step_seed(int(self.seed), step))
                    ids, lengths = self._encode(demonstrations)
                    labels = torch.tensor([d.answer for d in demonstrations], dtype=torch.long, device=ids.device)
                    for group in optimizer.param_groups:
                        group["lr"] = self._learning_rate(step)
                    logits = network(ids, lengths)
                    loss = F.cross_entropy(logits, labels)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if self.grad_clip is not None:
                        torch.nn.utils.clip_grad_norm_(network.parameters(), self.grad_clip)
                    optimizer.step()
                    window_loss += float(loss.detach()) * len(demonstrations)
                    window_correct += int((logits.detach().argmax(1) == labels).sum())
                    window_seen += len(demonstrations)
                    done = step + 1
                    if done % log_every == 0 or done == steps:
                        now = time.perf_counter()
                        record = log.log({"kind": "train", "step": done, "time": now - run_start,
                                          "steps_per_s": (window_seen / self.batch_size)
                                          / max(now - window_start, 1e-9),
                                          "loss": window_loss / window_seen, "accuracy": window_correct / window_seen,
                                          "lr": self._learning_rate(step)})
                        if not isinstance(record["loss"], float) or not math.isfinite(record["loss"]):
                            raise FloatingPointError(f"AxiomModel: the loss became {record['loss']} by step {done}; "
                                                     "lower 'lr' (the last checkpoint is intact and can be resumed).")
                        if progress:
                            print(f"step {done}/{steps} loss {record['loss']:.4f} accuracy {record['accuracy']:.3f} "
                                  f"({record['steps_per_s']:.2f} steps/s)", flush=True)
                        window_loss, window_correct, window_seen, window_start = 0.0, 0, 0, time.perf_counter()
                    if checkpoint_dir is not None and (done % checkpoint_every == 0 or done == steps):
                        save_state(done)
            finally:
                log.close()
        network.eval()
        self.n_steps_ = steps
        self.history_ = log.records
        if run_dir is not None:
            self.save(run_dir / MODEL_NAME)
        return self

    def _check_resume(self, run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
        """Refuse to resume ``run_dir`` with hyperparameters other than recorded (``steps`` and ``device``
        may differ); returns the recorded configuration."""
        import json

        try:
            previous = json.loads((run_dir / CONFIG_NAME).read_text())
            before = previous["params"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"'{run_dir / CONFIG_NAME}' is not an AxiomModel run configuration.") from None
        now = config["params"]
        changed = sorted(k for k in set(before) | set(now)
                         if k not in _RESUMABLE_CHANGES and before.get(k) != now.get(k))
        if changed:
            details = ", ".join(f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in changed)
            raise ValueError(f"Cannot resume '{run_dir}' with different hyperparameters ({details}).")
        return previous

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if getattr(self, "network_", None) is None:
            raise RuntimeError("This AxiomModel is not trained yet: call fit() or AxiomModel.load(path) first.")

    @torch.no_grad()
    def predict_proba(self, demonstrations: Sequence[Demonstration], *, batch_size: int = 256) -> np.ndarray:
        """Probability of "Yes" for each demonstration.

        Parameters
        ----------
        demonstrations : sequence of Demonstration
            N questions (their answers are not read).
        batch_size : int, default 256
            Demonstrations per forward pass.

        Returns
        -------
        ndarray of float64, shape (N,)
            P(Yes).
        """
        self._check_fitted()
        batch_size = check_number(batch_size, "batch_size", "AxiomModel.predict_proba", low=1, integer=True)
        if len(demonstrations) == 0:
            raise ValueError("AxiomModel.predict_proba needs at least one demonstration.")
        self.network_.eval()
        out = []
        for begin in range(0, len(demonstrations), batch_size):
            ids, lengths = self._encode(demonstrations[begin:begin + batch_size])
            out.append(torch.softmax(self.network_(ids, lengths), dim=1)[:, 1].double().cpu().numpy())
        return np.concatenate(out)

    def predict(self, demonstrations: Sequence[Demonstration], *, batch_size: int = 256) -> np.ndarray:
        """Yes (True) / No (False) per demonstration, shape (N,)."""
        return self.predict_proba(demonstrations, batch_size=batch_size) > 0.5

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the trained weights and hyperparameters to one verified file (atomically)."""
        self._check_fitted()
        return save_checkpoint(path, {"format": _FORMAT, "params": self.get_params(),
                                      "network": self.network_.state_dict(), "n_steps": int(self.n_steps_),
                                      "schedule_steps": self._schedule_steps()})

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None) -> AxiomModel:
        """Rebuild a model saved by :meth:`save` (a run directory or its ``model.pt``).

        Raises
        ------
        CheckpointError
            The file is missing, damaged, or not an AxiomModel.
        """
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_NAME
        state = load_checkpoint(path)
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise CheckpointError(f"'{path}' is not a saved AxiomModel.")
        params = dict(state["params"])
        if device is not None:
            params["device"] = device
        model = cls(**params)
        model._build()
        model.network_.load_state_dict(state["network"])
        model.network_.eval()
        model.n_steps_ = int(state.get("n_steps", 0))
        model.schedule_steps_ = int(state.get("schedule_steps") or model.steps)  # absent from older files
        return model


def _recorded_schedule_steps(state: dict[str, Any], previous: dict[str, Any], steps: int) -> int:
    """The schedule length of the run a checkpoint belongs to: recorded in the checkpoint, else (files of older
    versions, which refused to resume with other ``steps``) in ``config.json`` as ``schedule_steps`` or ``steps``;
    ``steps`` (this fit's) when neither records one."""
    for value in (state.get("schedule_steps"), previous.get("schedule_steps"),
                  (previous.get("params") or {}).get("steps")):
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
            return int(value)
    return int(steps)
