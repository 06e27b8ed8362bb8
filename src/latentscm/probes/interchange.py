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
from latentscm.probes.alignment_maps import ALIGNMENTS, make_alignment_map
from latentscm.probes.interchange_tasks import InterchangeData, task_accuracy

__all__ = ["interchange_accuracy", "alignment_curve", "InterchangeResult", "AlignmentCurve", "reinitialised",
           "DEFAULT_LADDER"]

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
        Training loss per step (trained network).
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
        """A short label, e.g. ``"revnet(10x128)"``."""
        if self.alignment == "revnet":
            return f"revnet({self.options.get('n_blocks', 10)}x{self.options.get('width', 128)})"
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
    """A deep copy of ``network`` with every submodule's ``reset_parameters()`` called under a
    seeded torch RNG: same architecture, random weights (the control of Sutter et al.)."""
    control = copy.deepcopy(network)
    with seeded_torch(seed):
        for module in control.modules():
            if callable(getattr(module, "reset_parameters", None)):
                module.reset_parameters()
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
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.detach().reshape(out.shape[0], -1)))
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


def _search(network: nn.Module, module: nn.Module, train: InterchangeData, test: InterchangeData, *,
            alignment: str, options: dict[str, Any], subspace_dim: int, steps: int, batch_size: int, lr: float,
            seed: int) -> tuple[float, nn.Module, list[float], float]:
    """Train one alignment map on ``network`` and return (held-out IIA, map, loss history,
    invertibility error)."""
    network.eval()
    frozen = [p for p in network.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        h_train = _activations(network, module, train.base, 1024)
        dim = h_train.shape[1]
        n_vars = train.sources.shape[1]
        if n_vars * subspace_dim > dim:
            raise ValueError(f"interchange_accuracy: {n_vars} variables x subspace_dim {subspace_dim} exceed the "
                             f"layer's width {dim}.")
        s_train = _activations(network, module, train.sources.reshape(-1, *train.sources.shape[2:]), 1024)
        s_train = s_train.reshape(len(train), n_vars, dim)
        with seeded_torch(seed):
            phi = make_alignment_map(alignment, dim, **options)
        history: list[float] = []
        parameters = [p for p in phi.parameters() if p.requires_grad]
        x_train = torch.from_numpy(np.asarray(train.base, dtype=np.float32))
        m_train = torch.from_numpy(train.intervened)
        y_train = torch.from_numpy(train.labels)
        if parameters:
            optimiser = torch.optim.Adam(parameters, lr=lr)
            generator = torch.Generator().manual_seed(int(seed))
            phi.train()
            for _ in range(steps):
                index = torch.randint(0, len(train), (min(batch_size, len(train)),), generator=generator)
                mixed = _mix(phi, h_train[index], s_train[index], m_train[index], subspace_dim)
                logits = _intervened_logits(network, module, x_train[index], mixed)
                loss = nn.functional.cross_entropy(logits, y_train[index])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                history.append(float(loss.detach()))
        phi.eval()
        h_test = _activations(network, module, test.base, 1024)
        s_test = _activations(network, module, test.sources.reshape(-1, *test.sources.shape[2:]), 1024)
        s_test = s_test.reshape(len(test), n_vars, dim)
        x_test = torch.from_numpy(np.asarray(test.base, dtype=np.float32))
        m_test = torch.from_numpy(test.intervened)
        hits = 0
        error = 0.0
        with torch.no_grad():
            for start in range(0, len(test), 1024):
                part = slice(start, start + 1024)
                mixed = _mix(phi, h_test[part], s_test[part], m_test[part], subspace_dim)
                logits = _intervened_logits(network, module, x_test[part], mixed)
                hits += int((logits.argmax(1).numpy() == test.labels[part]).sum())
                error = max(error, float((phi.inverse(phi(h_test[part])) - h_test[part]).abs().max()))
        return hits / len(test), phi, history, error
    finally:
        for p in frozen:
            p.requires_grad_(True)


def _check_data(task: Any, n: int, seed: int, owner: str) -> InterchangeData:
    if not callable(getattr(task, "interchange", None)) or not hasattr(task, "variables"):
        raise TypeError(f"The 'task' argument of {owner} must be an interchange task (with variables and "
                        f"interchange(n, seed=...)), e.g. HierarchicalEquality. Got {type(task).__name__}.")
    return task.interchange(n, seed=seed)


# ------------------------------------------------------------------------------------ public
def interchange_accuracy(network: nn.Module, layer: str, task: Any, *, alignment: str = "linear",
                         n_blocks: int = 10, width: int = 128, depth: int = 1, subspace_dim: int | None = None,
                         control: str | nn.Module | None = "reinit", steps: int = 1000, batch_size: int = 256,
                         lr: float = 1e-3, n_train: int = 10000, n_test: int = 2000, seed: int = 0
                         ) -> InterchangeResult:
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
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    options: dict[str, Any] = {}
    if alignment == "revnet":
        options = {"n_blocks": int(check_number(n_blocks, "n_blocks", owner, low=1, integer=True)),
                   "width": int(check_number(width, "width", owner, low=1, integer=True)),
                   "depth": int(check_number(depth, "depth", owner, low=1, integer=True))}
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
    with torch.no_grad():
        dim = _activations(network, module, test.base[:2], 2).shape[1]
    if subspace_dim is None:
        subspace_dim = max(dim // n_vars, 1)
    subspace_dim = int(check_number(subspace_dim, "subspace_dim", owner, low=1, high=dim // n_vars, integer=True))
    if alignment == "revnet" and dim < 2:
        raise ValueError(f"interchange_accuracy: alignment='revnet' needs a layer of width >= 2. Got {dim}.")
    settings = {"steps": steps, "batch_size": batch_size, "lr": lr, "n_train": n_train, "n_test": n_test,
                "seed": seed, "variables": list(task.variables)}
    common = {"alignment": alignment, "options": options, "subspace_dim": subspace_dim, "steps": steps,
              "batch_size": batch_size, "lr": lr, "seed": seed}
    iia, phi, history, error = _search(network, module, train, test, **common)
    n_parameters = sum(p.numel() for p in phi.parameters() if p.requires_grad)
    accuracy = task_accuracy(network, test.base, test.base_labels)
    control_iia = control_accuracy = selectivity = None
    if control is not None:
        control_network = reinitialised(network, seed=seed + 1) if isinstance(control, str) else control
        control_module = _layer(control_network, layer, owner)
        control_iia, _, _, _ = _search(control_network, control_module, train, test, **common)
        control_accuracy = task_accuracy(control_network, test.base, test.base_labels)
        selectivity = iia - control_iia
    chance = float(np.bincount(test.labels).max() / len(test))
    return InterchangeResult(alignment=alignment, options=options, layer=layer, subspace_dim=subspace_dim, iia=iia,
                             control_iia=control_iia, selectivity=selectivity, chance=chance, task_accuracy=accuracy,
                             control_task_accuracy=control_accuracy, n_parameters=int(n_parameters),
                             invertibility_error=error, history=history, settings=settings,
                             alignment_map=phi)


def alignment_curve(network: nn.Module, layer: str, task: Any, *, maps: Sequence[str | dict[str, Any]] | None = None,
                    control: str | nn.Module = "reinit", seed: int = 0, **options: Any) -> AlignmentCurve:
    """IIA and selectivity for a ladder of alignment maps of growing capacity.

    Parameters
    ----------
    network, layer, task :
        As :func:`interchange_accuracy`.
    maps : sequence of str or dict, optional
        Alignment names or dicts ``{"alignment": ..., "n_blocks": ..., "width": ...}``; default
        :data:`DEFAULT_LADDER`.
    control : "reinit" or torch.nn.Module
        The random-init control network, shared by every map (``"reinit"``: one seeded copy).
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
    ladder = list(DEFAULT_LADDER if maps is None else maps)
    if not ladder:
        raise ValueError("The 'maps' parameter of alignment_curve is empty.")
    control_network = reinitialised(network, seed=int(seed) + 1) if isinstance(control, str) else control
    if isinstance(control, str):
        check_choice(control, "control", owner, ("reinit",))
    results = []
    for spec in ladder:
        spec = {"alignment": spec} if isinstance(spec, str) else dict(spec)
        if "alignment" not in spec:
            raise ValueError(f"alignment_curve: each entry of 'maps' needs an 'alignment'. Got {spec!r}.")
        results.append(interchange_accuracy(network, layer, task, control=control_network, seed=seed,
                                            **options, **spec))
    results.sort(key=lambda r: r.n_parameters)
    return AlignmentCurve(results)
