"""Interchange intervention accuracy with capacity control.

Distributed alignment search (DAS; Geiger, Wu, Potts, Icard & Goodman, CLeaR 2024, "Finding
alignments between interpretable causal variables and distributed neural representations")
asks whether a network's layer represents the variables of a high-level causal model. It learns
a bijection ``phi`` of the layer's activations; each high-level variable j owns a block of
``subspace_dim`` coordinates of ``phi(h)``. An **interchange intervention** runs the network on
a base input, replaces block j of ``phi(h_base)`` with block j of ``phi(h_source_j)`` for the
intervened variables, maps back with ``phi^{-1}`` and lets the rest of the network finish. The
**interchange intervention accuracy** (IIA) is the fraction of held-out interventions after
which the network's output equals the high-level model's counterfactual output. ``phi`` is
trained (network frozen) by cross-entropy against the counterfactual labels.

The trap (Sutter, Minder, Hofmann & Pimentel, NeurIPS 2025, "The non-linear representation
dilemma: is causal abstraction enough for mechanistic interpretability?"): with an expressive
enough ``phi`` (a RevNet) DAS reaches high IIA even on a **randomly initialised** network, so
IIA alone cannot say that a network implements an algorithm. Here every IIA comes with the same
search run on a re-initialised copy of the network (same architecture, same data, same map
initialisation and budget) and the **selectivity** ``IIA(trained) - IIA(random init)`` — the
control-task idea of Hewitt & Liang (2019) applied to alignments. The control cannot be turned
off for a nonlinear map. :func:`alignment_curve` runs a ladder of maps of growing capacity.

This module reimplements DAS from the papers (the official code, densutter/
non-linear-representation-dilemma, was read to understand, not copied). Shapes: the layer's
output (N, ...) is flattened to (N, D) for the map and reshaped back.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._seeding import seeded_torch
from latentscm._validation import as_generator, check_choice, check_number
from latentscm.nn.autograd import with_autograd
from latentscm.nn.frozen import frozen
from latentscm.probes.alignment_maps import ALIGNMENTS, make_alignment_map
from latentscm.probes.interchange_tasks import InterchangeData, task_accuracy, train_network

__all__ = ["interchange_accuracy", "alignment_curve", "InterchangeResult", "AlignmentCurve", "reinitialised",
           "control_copy", "DEFAULT_LADDER"]

#: The default capacity ladder of :func:`alignment_curve`, from no parameters to the RevNet of
#: Sutter et al. (10 coupling blocks of width 128).
DEFAULT_LADDER: tuple[dict[str, Any], ...] = (
    {"alignment": "identity"},
    {"alignment": "linear"},
    {"alignment": "revnet", "n_blocks": 1, "width": 8},
    {"alignment": "revnet", "n_blocks": 4, "width": 32},
    {"alignment": "revnet", "n_blocks": 10, "width": 128},
)


@dataclass
class InterchangeResult:
    """Result of :func:`interchange_accuracy`.

    Attributes
    ----------
    alignment : str
        ``"identity"``, ``"linear"`` or ``"revnet"``; ``options`` its settings.
    iia : float
        Held-out interchange intervention accuracy on the given network.
    control_iia : float or None
        The same search on a randomly (re-)initialised network (``None`` only when the caller
        turned the control off for a linear or identity map).
    selectivity : float or None
        ``iia - control_iia``.
    chance : float
        Majority-class frequency of the held-out counterfactual labels.
    task_accuracy, control_task_accuracy : float
        Factual accuracy of the network (and of the control) on the held-out base inputs.
    n_parameters : int
        Trainable parameters of the alignment map.
    invertibility_error : float
        ``max |phi^{-1}(phi(h)) - h|`` over held-out activations, trained map.
    history : list of float
        Training loss per step (trained network; the kept restart's).
    settings : dict
        The search's settings; with a validation split also ``"search"`` and ``"control_search"``:
        each restart's best validation IIA (``restart_scores``), the kept ``restart`` and the
        ``step`` of its kept checkpoint.
    alignment_map : torch.nn.Module or None
        The trained map ``phi`` of the search on the given network (``forward`` and
        ``inverse`` on (N, D) activations), e.g. to read a rotation's matrix; not serialised.
    """

    alignment: str
    options: dict[str, Any]
    layer: str
    subspace_dim: int
    iia: float
    control_iia: float | None
    selectivity: float | None
    chance: float
    task_accuracy: float
    control_task_accuracy: float | None
    n_parameters: int
    invertibility_error: float
    history: list[float] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    alignment_map: nn.Module | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """A short label, e.g. ``"revnet(10x128)"``; a depth other than 1 is added (``"revnet(10x128,d2)"``),
        so maps of a ladder that differ only in depth keep apart."""
        if self.alignment == "revnet":
            depth = int(self.options.get("depth", 1))
            extra = f",d{depth}" if depth != 1 else ""
            return f"revnet({self.options.get('n_blocks', 10)}x{self.options.get('width', 128)}{extra})"
        return self.alignment

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain types (history left out)."""
        return {"alignment": self.alignment, "name": self.name, "options": dict(self.options), "layer": self.layer,
                "subspace_dim": self.subspace_dim, "iia": self.iia, "control_iia": self.control_iia,
                "selectivity": self.selectivity, "chance": self.chance, "task_accuracy": self.task_accuracy,
                "control_task_accuracy": self.control_task_accuracy, "n_parameters": self.n_parameters,
                "invertibility_error": self.invertibility_error, "settings": dict(self.settings)}


@dataclass
class AlignmentCurve:
    """Result of :func:`alignment_curve`: one :class:`InterchangeResult` per map, by capacity."""

    results: list[InterchangeResult]

    def table(self) -> list[dict[str, Any]]:
        """One row per map: name, parameters, IIA, control IIA, selectivity, chance."""
        return [{"map": r.name, "n_parameters": r.n_parameters, "iia": r.iia, "control_iia": r.control_iia,
                 "selectivity": r.selectivity, "chance": r.chance} for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results]}


# ------------------------------------------------------------------------------------ helpers
def reinitialised(network: nn.Module, *, seed: int) -> nn.Module:
    """A deep copy of ``network`` with every submodule's ``reset_parameters()`` (or, as
    ``nn.MultiheadAttention`` names it, ``_reset_parameters()``) called under a seeded torch RNG: same
    architecture, random weights (the control of Sutter et al.), in eval mode and trainable.

    ``ValueError`` naming the parameters no submodule resets (a raw ``nn.Parameter`` of a custom module): a
    control that kept trained weights would make the selectivity meaningless. Re-initialise such a network
    yourself and pass it as ``control``. ``seed`` is a non-negative int.
    """
    seed = int(check_number(seed, "seed", "reinitialised", low=0, integer=True))
    control = copy.deepcopy(network)
    covered: set[int] = set()
    with seeded_torch(seed):
        for module in control.modules():
            reset = getattr(module, "reset_parameters", None)
            reset = reset if callable(reset) else getattr(module, "_reset_parameters", None)
            if callable(reset):
                reset()
                covered.update(id(p) for p in module.parameters(recurse=False))
    missed = [name for name, p in control.named_parameters() if id(p) not in covered]
    if missed:
        raise ValueError(f"reinitialised: no submodule of {type(network).__name__} resets the parameter(s) {missed} "
                         "(they have no reset_parameters()), so the random-init control would keep their trained "
                         "values. Re-initialise a copy yourself and pass it as control=.")
    return control.requires_grad_(True).eval()


def control_copy(network: nn.Module, task: Any, *, seed: int, steps: int = 0) -> nn.Module:
    """The random-init control: :func:`reinitialised` (seeded), then, if ``steps > 0``, trained that many Adam
    steps (batch 1,024, lr 1e-3, data seeded by ``seed``) on ``task``'s factual data (Sutter et al.'s training
    progression; 128 steps is their point 1)."""
    seed = int(check_number(seed, "seed", "control_copy", low=0, integer=True))
    steps = int(check_number(steps, "steps", "control_copy", low=0, integer=True))
    control = reinitialised(network, seed=seed)
    if steps:
        train_network(control, task, steps=steps, batch_size=1024, lr=1e-3, seed=seed)
    return control.eval()


def _layer(network: nn.Module, layer: str, owner: str) -> nn.Module:
    if not isinstance(network, nn.Module):
        raise TypeError(f"The 'network' argument of {owner} must be a torch.nn.Module. Got {type(network).__name__}.")
    modules = dict(network.named_modules())
    if not isinstance(layer, str) or layer not in modules or layer == "":
        names = [name for name in modules if name]
        raise ValueError(f"The 'layer' parameter of {owner} must name a submodule of the network; {layer!r} is "
                         f"not one. Valid: {names}.")
    return modules[layer]


def _activations(network: nn.Module, module: nn.Module, inputs: np.ndarray, batch_size: int) -> torch.Tensor:
    """The module's outputs (N, D) (flattened) on inputs (N, ...), no gradient."""
    captured: list[torch.Tensor] = []
    # a copy, not a view: an in-place op after the layer (ReLU(inplace=True)) would overwrite a view of its output
    handle = module.register_forward_hook(
        lambda _m, _i, out: captured.append(out.detach().reshape(out.shape[0], -1).clone()))
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                network(torch.from_numpy(np.asarray(inputs[start:start + batch_size], dtype=np.float32)))
    finally:
        handle.remove()
    return torch.cat(captured)


def _intervened_logits(network: nn.Module, module: nn.Module, base: torch.Tensor, replacement: torch.Tensor
                       ) -> torch.Tensor:
    """Run ``network`` on ``base`` with ``module``'s output replaced by ``replacement`` (N, D)."""
    def hook(_module, _inputs, output):
        return replacement.reshape(output.shape)

    handle = module.register_forward_hook(hook)
    try:
        return network(base)
    finally:
        handle.remove()


def _mix(phi: nn.Module, h_base: torch.Tensor, h_sources: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """``phi^{-1}`` of ``phi(h_base)`` with block j replaced by ``phi(h_source_j)``'s block j
    where ``mask[:, j]``; h_base (B, D), h_sources (B, V, D), mask (B, V)."""
    z = phi(h_base)
    n_vars = h_sources.shape[1]
    z_sources = phi(h_sources.reshape(-1, h_sources.shape[-1])).reshape(h_sources.shape)
    blocks = []
    for j in range(n_vars):
        blocks.append(torch.where(mask[:, j:j + 1], z_sources[:, j, j * k:(j + 1) * k], z[:, j * k:(j + 1) * k]))
    z = torch.cat([*blocks, z[:, n_vars * k:]], dim=1)
    return phi.inverse(z)


@dataclass
class _Prepared:
    """One network's view of a set of interventions: base inputs x (N, ...), the layer's activations on the
    bases h (N, D) and on the sources s (N, V, D), the intervened mask (N, V) and the labels (N,)."""

    x: torch.Tensor
    h: torch.Tensor
    s: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: slice | torch.Tensor) -> _Prepared:
        return _Prepared(self.x[index], self.h[index], self.s[index], self.mask[index], self.labels[index])


def _prepare(network: nn.Module, module: nn.Module, data: InterchangeData) -> _Prepared:
    h = _activations(network, module, data.base, 1024)
    n_vars = data.sources.shape[1]
    s = _activations(network, module, data.sources.reshape(-1, *data.sources.shape[2:]), 1024)
    return _Prepared(torch.from_numpy(np.asarray(data.base, dtype=np.float32)), h, s.reshape(len(data), n_vars, -1),
                     torch.from_numpy(data.intervened), torch.from_numpy(data.labels))


def _score(network: nn.Module, module: nn.Module, phi: nn.Module, data: _Prepared, k: int) -> tuple[float, float]:
    """(IIA, invertibility error ``max |phi^{-1}(phi(h)) - h|``) of ``phi`` on ``data``, no gradient."""
    hits = 0
    error = 0.0
    with torch.no_grad():
        for start in range(0, len(data), 1024):
            part = data.subset(slice(start, start + 1024))
            logits = _intervened_logits(network, module, part.x, _mix(phi, part.h, part.s, part.mask, k))
            hits += int((logits.argmax(1) == part.labels).sum())
            error = max(error, float((phi.inverse(phi(part.h)) - part.h).abs().max()))
    return hits / len(data), error


@dataclass
class _Fit:
    """One search's outcome: the held-out IIA, the kept map, its loss history and invertibility error and,
    with a validation split, each restart's best validation IIA (``restart_scores``), the kept restart and the
    step of its kept checkpoint."""

    iia: float
    phi: nn.Module
    history: list[float]
    error: float
    restart_scores: list[float] = field(default_factory=list)
    restart: int = 0
    step: int | None = None


def _fit_one(network: nn.Module, module: nn.Module, train: _Prepared, valid: _Prepared | None, *, alignment: str,
             options: dict[str, Any], k: int, steps: int, batch_size: int, lr: float, seed: int, eval_every: int
             ) -> tuple[nn.Module, list[float], float | None, int | None]:
    """Train one map from the initialisation of ``seed``; with ``valid``, keep the checkpoint (every
    ``eval_every`` steps and the last) of best validation IIA. Returns (map, losses, its validation IIA, step)."""
    dim = train.h.shape[1]
    with seeded_torch(seed):
        phi = make_alignment_map(alignment, dim, **options)
    history: list[float] = []
    parameters = [p for p in phi.parameters() if p.requires_grad]
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None

    def checkpoint(step: int) -> None:
        nonlocal best
        if valid is None:
            return
        phi.eval()
        score, _ = _score(network, module, phi, valid, k)
        phi.train()
        if best is None or score > best[0]:
            best = (score, step, copy.deepcopy(phi.state_dict()))

    if parameters:
        optimiser = torch.optim.Adam(parameters, lr=lr)
        generator = torch.Generator().manual_seed(int(seed))
        phi.train()
        for step in range(steps):
            index = torch.randint(0, len(train), (min(batch_size, len(train)),), generator=generator)
            part = train.subset(index)
            with torch.enable_grad():  # the map trains even when the caller runs the probe under torch.no_grad()
                logits = _intervened_logits(network, module, part.x, _mix(phi, part.h, part.s, part.mask, k))
                loss = nn.functional.cross_entropy(logits, part.labels)
                optimiser.zero_grad()
                loss.backward()
            optimiser.step()
            history.append(float(loss.detach()))
            if (step + 1) % eval_every == 0 and step + 1 < steps:
                checkpoint(step + 1)
    checkpoint(steps)
    phi.eval()
    if best is None:
        return phi, history, None, None
    phi.load_state_dict(best[2])
    return phi, history, best[0], best[1]


def _search(network: nn.Module, module: nn.Module, train: InterchangeData, test: InterchangeData, *,
            alignment: str, options: dict[str, Any], subspace_dim: int, steps: int, batch_size: int, lr: float,
            seed: int, restarts: int = 1, validation: float = 0.0, eval_every: int | None = None) -> _Fit:
    """Train alignment maps on ``network`` and score the kept one on ``test``.

    Without a validation split (``validation=0``) one map is trained on all of ``train`` from the
    initialisation of ``seed``. With one, the first ``round(validation * len(train))`` interventions are held
    out; each of ``restarts`` maps (initialisation and minibatch seeds ``seed + r``) keeps its checkpoint of
    best validation IIA (every ``eval_every`` steps, default ``steps // 10``, and the last), and the restart
    with the best of those is kept. The test set never takes part in a choice. ``history`` is the kept
    restart's loss per step.
    """
    with frozen(network):  # eval mode and untrainable for the search, given back as it was
        prepared = _prepare(network, module, train)
        n_vars = prepared.s.shape[1]
        if n_vars * subspace_dim > prepared.h.shape[1]:
            raise ValueError(f"interchange_accuracy: {n_vars} variables x subspace_dim {subspace_dim} exceed the "
                             f"layer's width {prepared.h.shape[1]}.")
        valid = None
        if validation > 0:
            n_valid = int(round(validation * len(prepared)))
            if not 1 <= n_valid < len(prepared):
                raise ValueError(f"interchange_accuracy: validation={validation} of n_train={len(prepared)} "
                                 f"interventions leaves {n_valid} for validation and {len(prepared) - n_valid} for "
                                 "training; both need at least one.")
            valid, prepared = prepared.subset(slice(0, n_valid)), prepared.subset(slice(n_valid, None))
        every = max(steps // 10, 1) if eval_every is None else eval_every
        fits = [_fit_one(network, module, prepared, valid, alignment=alignment, options=options, k=subspace_dim,
                         steps=steps, batch_size=batch_size, lr=lr, seed=seed + r, eval_every=every)
                for r in range(restarts)]
        scores = [float(score) for _, _, score, _ in fits if score is not None]
        chosen = int(np.argmax(scores)) if scores else 0
        phi, history, _, step = fits[chosen]
        iia, error = _score(network, module, phi, _prepare(network, module, test), subspace_dim)
        return _Fit(iia, phi, history, error, scores, chosen, step)


def _check_data(task: Any, n: int, seed: int, owner: str) -> InterchangeData:
    if not callable(getattr(task, "interchange", None)) or not hasattr(task, "variables"):
        raise TypeError(f"The 'task' argument of {owner} must be an interchange task (with variables and "
                        f"interchange(n, seed=...)), e.g. HierarchicalEquality. Got {type(task).__name__}.")
    return task.interchange(n, seed=seed)


# ------------------------------------------------------------------------------------ public
@with_autograd  # the map (and a control network) train even under the caller's no_grad() or inference_mode()
def interchange_accuracy(network: nn.Module, layer: str, task: Any, *, alignment: str = "linear",
                         n_blocks: int = 10, width: int = 128, depth: int = 1, subspace_dim: int | None = None,
                         control: str | nn.Module | None = "reinit", steps: int = 1000, batch_size: int = 256,
                         lr: float = 1e-3, n_train: int = 10000, n_test: int = 2000, restarts: int = 1,
                         validation: float = 0.0, eval_every: int | None = None, control_steps: int = 0,
                         seed: int = 0) -> InterchangeResult:
    """Interchange intervention accuracy of ``network`` at ``layer`` for ``task``'s high-level
    variables, with its random-initialisation control (DAS, Geiger et al. 2024; control and
    RevNet maps after Sutter et al. 2025).

    Parameters
    ----------
    network : torch.nn.Module
        The (trained) network; frozen during the search.
    layer : str
        Name of the submodule (``dict(network.named_modules())``) whose output is intervened on;
        its output (N, ...) is flattened to (N, D).
    task : interchange task
        E.g. :class:`~latentscm.probes.interchange_tasks.HierarchicalEquality` or
        :class:`~latentscm.probes.interchange_tasks.SpritesTwoFactors`.
    alignment : {"identity", "linear", "revnet"}, default "linear"
        The map ``phi``: neurons as they are, an orthogonal rotation, or a RevNet.
    n_blocks, width, depth : int
        RevNet coupling blocks, hidden width and depth of their F and G networks.
    subspace_dim : int or None
        Coordinates of ``phi(h)`` per variable; default ``D // V``.
    control : "reinit", torch.nn.Module or None
        The random-init control: ``"reinit"`` re-initialises a copy of ``network`` (seeded), a
        module is used as given. ``None`` skips it, allowed only for ``"identity"`` and
        ``"linear"``: a nonlinear alignment is never reported without its control.
    steps, batch_size, lr : training of the map (Adam).
    n_train, n_test : interchange examples for training the map and for the held-out IIA.
    control_steps : int, default 0
        With ``control="reinit"``, train the re-initialised copy this many Adam steps (batch 1,024,
        lr 1e-3) on the task before its search: Sutter et al.'s progression point 1 (128 steps) is
        a network still at chance on the task that a RevNet aligns far more reliably than an
        untrained one (``benchmarks/bench_interchange_seeds.py``), so it is the harder control.
        Check ``control_task_accuracy`` stays near chance.
    restarts : int, default 1
        Maps trained from different initialisations (seeds ``seed + r``); the one of best validation
        IIA is kept. DAS is non-convex and a search can stall on a plateau from one starting point and
        not from another. The control gets the same restarts. Needs ``validation > 0`` when above 1.
    validation : float, default 0.0
        Fraction of the ``n_train`` interventions held out to choose among restarts and checkpoints
        (the map's state every ``eval_every`` steps, default ``steps // 10``, and at the end; the
        official code keeps its best epoch the same way). 0 trains on all of them and keeps the last
        state. The held-out test set never takes part in a choice.
    eval_every : int or None
        Steps between scored checkpoints (default ``steps // 10``); needs ``validation > 0``.
    seed : int
        Seeds the data, the map's initialisation, minibatches and the control's weights.

    Returns
    -------
    InterchangeResult
    """
    owner = "interchange_accuracy"
    alignment = check_choice(alignment, "alignment", owner, ALIGNMENTS)
    module = _layer(network, layer, owner)
    steps = int(check_number(steps, "steps", owner, low=0, integer=True))
    batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
    lr = check_number(lr, "lr", owner, low=0.0, low_inclusive=False)
    n_train = int(check_number(n_train, "n_train", owner, low=1, integer=True))
    n_test = int(check_number(n_test, "n_test", owner, low=1, integer=True))
    restarts = int(check_number(restarts, "restarts", owner, low=1, integer=True))
    validation = check_number(validation, "validation", owner, low=0.0, high=1.0, high_inclusive=False)
    if eval_every is not None:
        eval_every = int(check_number(eval_every, "eval_every", owner, low=1, integer=True))
    if restarts > 1 and validation == 0:
        raise ValueError(f"interchange_accuracy: restarts={restarts} needs a validation split to choose among the "
                         "restarts (the test set is never used to choose); pass e.g. validation=0.2.")
    if eval_every is not None and validation == 0:  # no checkpoint is scored without one: it would be ignored
        raise ValueError(f"interchange_accuracy: eval_every={eval_every} sets how often a checkpoint is scored on the "
                         "validation split, and validation=0 has none (the last state is kept); pass e.g. "
                         "validation=0.2, or leave eval_every out.")
    control_steps = int(check_number(control_steps, "control_steps", owner, low=0, integer=True))
    if control_steps and not isinstance(control, str):
        raise ValueError("interchange_accuracy: control_steps trains the re-initialised copy and needs "
                         f"control='reinit'; got control={type(control).__name__} (train a given control yourself).")
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    options: dict[str, Any] = {}
    if alignment == "revnet":
        options = {"n_blocks": int(check_number(n_blocks, "n_blocks", owner, low=1, integer=True)),
                   "width": int(check_number(width, "width", owner, low=1, integer=True)),
                   "depth": int(check_number(depth, "depth", owner, low=1, integer=True))}
    else:  # the RevNet's sizes would be ignored
        given = [f"{name}={value!r}" for name, value, default in (("n_blocks", n_blocks, 10), ("width", width, 128),
                                                                  ("depth", depth, 1)) if value != default]
        if given:
            raise ValueError(f"interchange_accuracy: {', '.join(given)} size a RevNet; alignment={alignment!r} has "
                             f"no such parameter.")
    if control is None and alignment == "revnet":
        raise ValueError("interchange_accuracy: control=None is refused for alignment='revnet'. A nonlinear map "
                         "can align a randomly initialised network (Sutter et al. 2025); its IIA means nothing "
                         "without the random-init control. Use control='reinit' or pass a control network.")
    if isinstance(control, str):
        check_choice(control, "control", owner, ("reinit",))
    elif control is not None and not isinstance(control, nn.Module):
        raise TypeError(f"The 'control' parameter of {owner} must be 'reinit', a torch.nn.Module or None. "
                        f"Got {type(control).__name__}.")
    rng = as_generator(seed)
    train = _check_data(task, n_train, rng, owner)
    test = task.interchange(n_test, seed=rng)
    n_vars = test.sources.shape[1]
    # the network (and a given control) in eval mode and untrainable throughout, restored as the caller had them:
    # a forward pass in train mode would update batch-norm statistics and draw dropout noise
    borrowed = [network] + ([control] if isinstance(control, nn.Module) else [])
    with frozen(*borrowed):
        with torch.no_grad():
            dim = _activations(network, module, test.base[:2], 2).shape[1]
        if subspace_dim is None:
            subspace_dim = max(dim // n_vars, 1)
        subspace_dim = int(check_number(subspace_dim, "subspace_dim", owner, low=1, high=dim // n_vars, integer=True))
        if alignment == "revnet" and dim < 2:
            raise ValueError(f"interchange_accuracy: alignment='revnet' needs a layer of width >= 2. Got {dim}.")
        settings = {"steps": steps, "batch_size": batch_size, "lr": lr, "n_train": n_train, "n_test": n_test,
                    "restarts": restarts, "validation": validation, "eval_every": eval_every,
                    "control_steps": control_steps, "seed": seed,
                    "variables": list(task.variables)}
        common = {"alignment": alignment, "options": options, "subspace_dim": subspace_dim, "steps": steps,
                  "batch_size": batch_size, "lr": lr, "seed": seed, "restarts": restarts, "validation": validation,
                  "eval_every": eval_every}
        fit = _search(network, module, train, test, **common)
        n_parameters = sum(p.numel() for p in fit.phi.parameters() if p.requires_grad)
        accuracy = task_accuracy(network, test.base, test.base_labels)
        control_iia = control_accuracy = selectivity = None
        control_fit = None
        if control is not None:
            control_network = control_copy(network, task, seed=seed + 1, steps=control_steps) \
                if isinstance(control, str) else control
            control_module = _layer(control_network, layer, owner)
            control_fit = _search(control_network, control_module, train, test, **common)
            control_iia = control_fit.iia
            control_accuracy = task_accuracy(control_network, test.base, test.base_labels)
            selectivity = fit.iia - control_iia
        chance = float(np.bincount(test.labels).max() / len(test))
        if validation > 0:
            settings["search"] = {"restart_scores": fit.restart_scores, "restart": fit.restart, "step": fit.step}
            if control_fit is not None:
                settings["control_search"] = {"restart_scores": control_fit.restart_scores,
                                              "restart": control_fit.restart, "step": control_fit.step}
        return InterchangeResult(alignment=alignment, options=options, layer=layer, subspace_dim=subspace_dim,
                                 iia=fit.iia, control_iia=control_iia, selectivity=selectivity, chance=chance,
                                 task_accuracy=accuracy, control_task_accuracy=control_accuracy,
                                 n_parameters=int(n_parameters), invertibility_error=fit.error, history=fit.history,
                                 settings=settings, alignment_map=fit.phi)


@with_autograd  # the control copy and the maps train even under the caller's no_grad() or inference_mode()
def alignment_curve(network: nn.Module, layer: str, task: Any, *, maps: Sequence[str | dict[str, Any]] | None = None,
                    control: str | nn.Module = "reinit", control_steps: int = 0, seed: int = 0,
                    **options: Any) -> AlignmentCurve:
    """IIA and selectivity for a ladder of alignment maps of growing capacity.

    Parameters
    ----------
    network, layer, task :
        As :func:`interchange_accuracy`.
    maps : sequence of str or dict, optional
        Alignment names or dicts ``{"alignment": ..., "n_blocks": ..., "width": ...}`` (a list, even
        of one map: a bare string is refused); default :data:`DEFAULT_LADDER`.
    control : "reinit" or torch.nn.Module
        The random-init control network, shared by every map (``"reinit"``: one seeded copy,
        trained ``control_steps`` steps first, see :func:`interchange_accuracy`).
    control_steps : int, default 0
        As :func:`interchange_accuracy`; needs ``control="reinit"``.
    seed : int
        Shared by every map (same data, same control).
    **options :
        Passed to :func:`interchange_accuracy` (``steps``, ``n_train``, ``subspace_dim``, ...).

    Returns
    -------
    AlignmentCurve
        Results sorted by the maps' parameter counts.
    """
    owner = "alignment_curve"
    if control is None:
        raise ValueError("alignment_curve always runs the random-init control; control=None is refused.")
    _layer(network, layer, owner)
    if isinstance(maps, str):
        raise TypeError(f"The 'maps' parameter of {owner} must be a sequence of alignment names or dicts, not one "
                        f"string. Got {maps!r}; pass [{maps!r}].")
    ladder = list(DEFAULT_LADDER if maps is None else maps)
    if not ladder:
        raise ValueError("The 'maps' parameter of alignment_curve is empty.")
    specs = []  # every entry checked before the control is built (and perhaps trained)
    for spec in ladder:
        spec = {"alignment": spec} if isinstance(spec, str) else dict(spec)
        if "alignment" not in spec:
            raise ValueError(f"alignment_curve: each entry of 'maps' needs an 'alignment'. Got {spec!r}.")
        check_choice(spec["alignment"], "maps", owner, ALIGNMENTS)
        sizes = {"n_blocks", "width", "depth"} if spec["alignment"] == "revnet" else set()
        unknown = sorted(set(spec) - {"alignment", "subspace_dim", *sizes})
        if unknown:
            raise ValueError(f"alignment_curve: the map {spec!r} has keys {unknown} that alignment "
                             f"{spec['alignment']!r} does not take (alignment, subspace_dim"
                             f"{', n_blocks, width, depth' if sizes else ''}).")
        for key in sorted({"subspace_dim", *sizes} & set(spec)):  # sizes too: a bad one would fail after maps ran
            if spec[key] is not None or key != "subspace_dim":
                check_number(spec[key], f"maps[{len(specs)}].{key}", owner, low=1, integer=True)
        specs.append(spec)
    if isinstance(control, str):
        check_choice(control, "control", owner, ("reinit",))
    control_steps = int(check_number(control_steps, "control_steps", owner, low=0, integer=True))
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    if control_steps and not isinstance(control, str):
        raise ValueError("alignment_curve: control_steps trains the re-initialised copy and needs control='reinit'; "
                         f"got control={type(control).__name__} (train a given control yourself).")
    if options.get("eval_every") is not None and not options.get("validation"):  # before the control is built
        raise ValueError(f"alignment_curve: eval_every={options['eval_every']!r} sets how often a checkpoint is scored "
                         "on the validation split, and there is none (validation=0); pass e.g. validation=0.2, or "
                         "leave eval_every out.")
    control_network = control_copy(network, task, seed=seed + 1, steps=control_steps) \
        if isinstance(control, str) else control
    results = []
    for spec in specs:
        results.append(interchange_accuracy(network, layer, task, control=control_network, seed=seed,
                                            **options, **spec))
    for result in results:
        result.settings["control_steps"] = control_steps
    results.sort(key=lambda r: r.n_parameters)
    return AlignmentCurve(results)
