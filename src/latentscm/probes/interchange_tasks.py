"""High-level causal models and networks for interchange interventions.

An interchange task pairs a **high-level causal model** (named variables and an output computed
from them) with inputs a network can read. It samples

- factual data ``(inputs, labels)`` to train (or test) the network on the task, and
- interchange data: a base input, one source input per high-level variable, which variables are
  intervened on, and the label the high-level model gives when each intervened variable takes
  the value it has on its source (the counterfactual label).

Two tasks:

- :class:`HierarchicalEquality` — the hierarchical equality task of Geiger et al. (CLeaR 2024,
  DAS) that Sutter et al. (NeurIPS 2025) reuse: four vectors ``a, b, c, d`` of ``embedding_dim``
  uniform(-0.5, 0.5) entries, variables ``left = [a == b]`` and ``right = [c == d]``, output
  ``[left == right]``. Each pair is equal with probability 1/2, so labels are balanced.
- :class:`SpritesTwoFactors` — a latentscm-native task: a ``sprites`` world's images, two of its
  factors binarised at thresholds, output ``[f1 > t1] == [f2 > t2]``. The high-level model is the
  world's own SCM: the counterfactual label applies the output to
  ``world.counterfactual(base, {f_j: source's f_j})`` (descendants recomputed, so a world with an
  edge between the factors gives the right answer), and the exact counterfactual **images** come
  with it, so the network's behaviour on real counterfactual inputs can be checked too.

Networks: :func:`equality_mlp` (the paper's MLP: blocks of Linear + ReLU of equal width and a
linear head) and :func:`sprites_cnn`; :func:`train_network` fits either on a task's factual data.
Layers are named (``block1``, ``block2``, ...), so ``interchange_accuracy(network, "block1", ...)``
names the representation to intervene on.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._seeding import seeded_torch
from latentscm._validation import as_generator, check_choice, check_number
from latentscm.nn.autograd import with_autograd
from latentscm.nn.frozen import frozen

__all__ = ["InterchangeData", "HierarchicalEquality", "SpritesTwoFactors", "equality_mlp", "sprites_cnn",
           "train_network", "task_accuracy"]


@dataclass
class InterchangeData:
    """Interchange interventions with their high-level answers.

    Attributes
    ----------
    base : (N, ...) float32 base inputs.
    sources : (N, V, ...) float32, one source input per high-level variable.
    intervened : (N, V) bool, which variables take their source's value.
    labels : (N,) int64 high-level output under the interchange (counterfactual labels).
    base_labels : (N,) int64 high-level output on the base input itself (factual labels).
    counterfactual_inputs : (N, ...) float32 or None — the exact counterfactual input where the
        task can build it (:class:`SpritesTwoFactors`), else ``None``.
    """

    base: np.ndarray
    sources: np.ndarray
    intervened: np.ndarray
    labels: np.ndarray
    base_labels: np.ndarray
    counterfactual_inputs: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.base.shape[0])


def _intervention_sets(n: int, n_variables: int, rng: np.random.Generator) -> np.ndarray:
    """(n, V) bool: a non-empty subset of the variables per example, uniform over the subsets."""
    subsets = np.array([[(s >> j) & 1 for j in range(n_variables)] for s in range(1, 2 ** n_variables)], dtype=bool)
    return subsets[rng.integers(0, len(subsets), size=n)]


class HierarchicalEquality:
    """The hierarchical equality task (Geiger et al. 2024; Sutter et al. 2025).

    Parameters
    ----------
    embedding_dim : int, default 4
        Entries per vector; inputs are (N, 4 * embedding_dim).
    variables : {"both", "left"}, default "both"
        Align both equality relations (the paper's "Both Equality Relations") or only the left one.
    """

    n_classes = 2

    def __init__(self, embedding_dim: int = 4, variables: str = "both"):
        self.embedding_dim = int(check_number(embedding_dim, "embedding_dim", "HierarchicalEquality", low=1,
                                              integer=True))
        check_choice(variables, "variables", "HierarchicalEquality", ("both", "left"))
        self.variables = ("left", "right") if variables == "both" else ("left",)
        self.input_shape = (4 * self.embedding_dim,)

    def _draw(self, n: int, rng: np.random.Generator, equal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (n, 4e) and the pair equalities (n, 2) bool."""
        if equal is None:
            equal = rng.random((n, 2)) < 0.5
        vectors = rng.uniform(-0.5, 0.5, size=(n, 4, self.embedding_dim))
        vectors[equal[:, 0], 1] = vectors[equal[:, 0], 0]
        vectors[equal[:, 1], 3] = vectors[equal[:, 1], 2]
        return vectors.reshape(n, -1).astype(np.float32), equal

    def sample(self, n: int, *, seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Factual inputs (n, 4e) float32 and labels (n,) int64 = ``[left == right]``."""
        n = int(check_number(n, "n", "HierarchicalEquality.sample", low=1, integer=True))
        inputs, equal = self._draw(n, as_generator(seed))
        return inputs, (equal[:, 0] == equal[:, 1]).astype(np.int64)

    def interchange(self, n: int, *, seed: int | np.random.Generator) -> InterchangeData:
        """n interchange interventions: a random non-empty set of the variables takes its value
        from its own source input; labels are the high-level model's answers."""
        n = int(check_number(n, "n", "HierarchicalEquality.interchange", low=1, integer=True))
        rng = as_generator(seed)
        base, equal = self._draw(n, rng)
        n_vars = len(self.variables)
        mask = _intervention_sets(n, n_vars, rng) if n_vars > 1 else np.ones((n, 1), dtype=bool)
        sources = np.empty((n, n_vars, base.shape[1]), dtype=np.float32)
        values = equal.copy()
        for j in range(n_vars):
            sources[:, j], source_equal = self._draw(n, rng)
            values[mask[:, j], j] = source_equal[mask[:, j], j]
        return InterchangeData(base, sources, mask, (values[:, 0] == values[:, 1]).astype(np.int64),
                               (equal[:, 0] == equal[:, 1]).astype(np.int64))


class SpritesTwoFactors:
    """Output ``[f1 > t1] == [f2 > t2]`` of two factors of a ``sprites``-like world; the world's
    SCM is the high-level model (see the module docstring).

    Parameters
    ----------
    world : World
        Any latentscm world (its images are the inputs).
    factors : pair of str, default ("posX", "scale")
        The two high-level variables.
    thresholds : pair of float or None
        Binarisation thresholds; default the middle of each factor's range.
    """

    n_classes = 2

    def __init__(self, world: Any, factors: tuple[str, str] = ("posX", "scale"),
                 thresholds: tuple[float, float] | None = None):
        if len(factors) != 2:
            raise ValueError(f"The 'factors' parameter of SpritesTwoFactors must name two factors. Got {factors!r}.")
        specs = [world.spec(name) for name in factors]  # UnknownNodeError names a bad factor
        if factors[0] == factors[1]:  # one variable twice: a constant output, and no second variable to align
            raise ValueError(f"The 'factors' parameter of SpritesTwoFactors must name two different factors. "
                             f"Got {tuple(factors)!r}.")
        if thresholds is None:
            thresholds = tuple((s.low + s.high) / 2.0 for s in specs)
        if len(thresholds) != 2:
            raise ValueError(f"The 'thresholds' parameter of SpritesTwoFactors must hold two numbers. "
                             f"Got {thresholds!r}.")
        self.thresholds = tuple(check_number(t, "thresholds", "SpritesTwoFactors", low=s.low, high=s.high)
                                for t, s in zip(thresholds, specs))
        self.world = world
        self.variables = tuple(factors)
        self.input_shape = tuple(world.image_shape)
        self._columns = [world.factor_names.index(name) for name in factors]

    def output(self, factors: np.ndarray) -> np.ndarray:
        """High-level output (N,) int64 of factors (N, K) in the world's order."""
        bits = [factors[:, c] > t for c, t in zip(self._columns, self.thresholds)]
        return (bits[0] == bits[1]).astype(np.int64)

    def sample(self, n: int, *, seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Factual images (n, C, H, W) and labels (n,)."""
        n = int(check_number(n, "n", "SpritesTwoFactors.sample", low=1, integer=True))
        batch = self.world.sample(n, seed=seed)
        return batch.images, self.output(batch.factors)

    def interchange(self, n: int, *, seed: int | np.random.Generator) -> InterchangeData:
        """n interchange interventions; labels from the world's exact counterfactual of the base
        with each intervened factor set to its source's value."""
        n = int(check_number(n, "n", "SpritesTwoFactors.interchange", low=1, integer=True))
        rng = as_generator(seed)
        base = self.world.sample(n, seed=rng)
        mask = _intervention_sets(n, 2, rng)
        sources = [self.world.sample(n, seed=rng) for _ in self.variables]
        labels = np.empty(n, dtype=np.int64)
        images = np.empty_like(base.images)
        # one exact counterfactual per intervention pattern, intervening only on the chosen
        # variables (do(f = its own value) would cut f off from a parent that is intervened on)
        for pattern in np.unique(mask, axis=0):
            rows = np.flatnonzero((mask == pattern).all(axis=1))
            interventions = {name: sources[j].factors[rows, self._columns[j]]
                             for j, name in enumerate(self.variables) if pattern[j]}
            counterfactual = self.world.counterfactual(base[rows], interventions)
            labels[rows] = self.output(counterfactual.factors)
            images[rows] = counterfactual.images
        return InterchangeData(base.images, np.stack([source.images for source in sources], axis=1), mask, labels,
                               self.output(base.factors), images)


def equality_mlp(input_dim: int = 16, width: int = 16, n_blocks: int = 3, *, seed: int = 0) -> nn.Sequential:
    """The MLP of Geiger et al. / Sutter et al.: ``n_blocks`` blocks (Linear + ReLU) of ``width``
    units named ``block1 ..`` and a linear head ``head`` to 2 classes; seeded initialisation."""
    owner = "equality_mlp"
    input_dim = int(check_number(input_dim, "input_dim", owner, low=1, integer=True))
    width = int(check_number(width, "width", owner, low=1, integer=True))
    n_blocks = int(check_number(n_blocks, "n_blocks", owner, low=1, integer=True))
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))

    def build() -> nn.Sequential:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(n_blocks):
            layers[f"block{i + 1}"] = nn.Sequential(nn.Linear(input_dim if i == 0 else width, width), nn.ReLU())
        layers["head"] = nn.Linear(width, 2)
        return nn.Sequential(layers)

    with seeded_torch(seed):
        return build()


def sprites_cnn(image_shape: tuple[int, int, int], width: int = 16, *, channels: tuple[int, ...] = (16, 32),
                seed: int = 0) -> nn.Sequential:
    """A small CNN for :class:`SpritesTwoFactors`: 4x4 stride-2 convolutions (``features``), then
    blocks ``block1``, ``block2`` (Linear + ReLU of ``width`` units) and a linear ``head``."""
    from latentscm.nn.conv import conv_shapes

    owner = "sprites_cnn"
    width = int(check_number(width, "width", owner, low=1, integer=True))
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    shapes = conv_shapes(tuple(image_shape), channels)

    def build() -> nn.Sequential:
        convs: list[nn.Module] = []
        for (c_in, _, _), (c_out, _, _) in zip(shapes[:-1], shapes[1:]):
            convs += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
        c, h, w = shapes[-1]
        return nn.Sequential(OrderedDict([
            ("features", nn.Sequential(*convs, nn.Flatten())),
            ("block1", nn.Sequential(nn.Linear(c * h * w, width), nn.ReLU())),
            ("block2", nn.Sequential(nn.Linear(width, width), nn.ReLU())),
            ("head", nn.Linear(width, 2)),
        ]))

    with seeded_torch(seed):
        return build()


@with_autograd  # trains even under the caller's torch.no_grad() or inference_mode()
def train_network(network: nn.Module, task: Any, *, steps: int = 2000, batch_size: int = 256, lr: float = 1e-3,
                  n_train: int | None = None, seed: int = 0) -> nn.Module:
    """Fit ``network`` on ``task``'s factual data by cross-entropy with Adam; returns it (eval mode).

    ``n_train`` fixes a training set of that size (drawn once: needed for image worlds, where
    rendering per step would dominate); ``None`` draws a fresh batch every step. Inputs are taken
    as float32 and labels as int64 either way.

    ``seed`` (an int, or a numpy Generator from which one int is drawn first) seeds the data and
    torch's CPU generator for the training (dropout masks and any other torch draw of the network),
    which is restored afterwards: the same seed gives the same weights whatever ran before, and the
    caller's torch stream is left where it was. Training runs with autograd on even under
    ``torch.no_grad()``.
    """
    owner = "train_network"
    steps = int(check_number(steps, "steps", owner, low=1, integer=True))
    batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
    lr = check_number(lr, "lr", owner, low=0.0, low_inclusive=False)
    if n_train is not None:
        n_train = int(check_number(n_train, "n_train", owner, low=1, integer=True))
    rng = as_generator(seed)
    # an int seeds torch as it is (no draw from rng, so the data are those of the seed); a Generator gives one int
    torch_seed = int(rng.integers(0, 2 ** 62)) if isinstance(seed, np.random.Generator) else int(seed)

    def tensors(inputs: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.from_numpy(np.asarray(inputs, dtype=np.float32)),
                torch.from_numpy(np.asarray(labels, dtype=np.int64)))

    fixed = None if n_train is None else tensors(*task.sample(n_train, seed=rng))
    optimiser = torch.optim.Adam(network.parameters(), lr=lr)
    network.train()
    with seeded_torch(torch_seed), torch.enable_grad():
        for _ in range(steps):
            if fixed is None:
                x, y = tensors(*task.sample(batch_size, seed=rng))
            else:
                index = torch.from_numpy(rng.integers(0, fixed[0].shape[0], size=batch_size))
                x, y = fixed[0][index], fixed[1][index]
            loss = nn.functional.cross_entropy(network(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return network.eval()


def task_accuracy(network: nn.Module, inputs: np.ndarray, labels: np.ndarray, *, batch_size: int = 2048) -> float:
    """Accuracy of ``network``'s argmax on factual ``inputs`` (N, ...) against ``labels`` (N,).

    The network runs in eval mode (no dropout noise, batch norm on its running statistics) and is
    given back in the mode it had. ``ValueError`` unless there are as many inputs as labels (N >= 1).
    """
    owner = "task_accuracy"
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"The 'labels' argument of {owner} must be a non-empty 1-D array. Got shape {labels.shape}.")
    if len(inputs) != len(labels):
        raise ValueError(f"The 'inputs' and 'labels' arguments of {owner} must have as many rows. Got {len(inputs)} "
                         f"inputs and {len(labels)} labels.")
    batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
    hits = 0
    with frozen(network), torch.no_grad():
        for start in range(0, len(labels), batch_size):
            x = torch.from_numpy(np.asarray(inputs[start:start + batch_size], dtype=np.float32))
            hits += int((network(x).argmax(1).numpy() == labels[start:start + batch_size]).sum())
    return hits / len(labels)
