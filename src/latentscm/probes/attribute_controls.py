"""Gradient multi-directional attribute controls in a latent space, scored against a world's
exact counterfactuals.

GradCtrl (Chen, Jiang, Duke, Zhao & Aarabi, ECCV 2022, "Exploring gradient-based
multi-directional controls in GANs") edits a code ``z`` towards an attribute by gradient steps
of a small classifier trained on codes, ``z <- z + eps * g / |g|`` with ``g = d logit_t / dz``,
and keeps other attributes fixed by zeroing, in ``g``, the channels most salient for each
excluded attribute (largest ``|d logit_e / dz|``). This module reimplements that design (the
official code, zikuncshelly/GradCtrl, was read to understand, not copied) for any latentscm
learner's codes, with three methods:

- ``"masked"``: GradCtrl (per-sample gradient, excluded attributes' top channels zeroed);
- ``"gradient"``: the same normalised gradient steps without the mask;
- ``"linear"``: a fixed direction, the normal of a logistic regression of the binarised factor
  on the codes (the classic "InterfaceGAN"-style baseline).

:func:`edit_fidelity` scores edits against ground truth: it decodes each edit, reads the factors
of the images, takes the value the target factor **reached**, and compares the change of every
other factor with the world's exact counterfactual ``world.counterfactual(batch, {target:
reached})``. In a world where the target and another factor share a hidden confounder (not a
causal edge) the true counterfactual leaves the other factor where it was, so any change of it
is drift; a classifier trained on observational codes, where the two are correlated, is exactly
what pushes a plain gradient edit to drift.

Shapes: N codes of D units; K factors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._seeding import seeded_torch
from latentscm._validation import as_generator, check_array, check_choice, check_names, check_number, check_sequence
from latentscm.nn.autograd import with_autograd
from latentscm.probes.readouts import as_readout

__all__ = ["AttributeControls", "edit_fidelity", "EditFidelity", "EDIT_METHODS"]

EDIT_METHODS = ("masked", "gradient", "linear")


class AttributeControls:
    """One small classifier per binarised factor on the codes, and edits along their gradients
    (GradCtrl, Chen et al. 2022).

    Parameters
    ----------
    hidden_dim : int, default 32
        Width of each classifier's two hidden layers.
    steps, lr, batch_size : classifier training (Adam, binary cross-entropy).
    mask_fraction : float, default 0.25
        For ``method="masked"``, the fraction of the D channels (at least one) zeroed per
        excluded attribute: those with the largest salience ``|d logit_e / dz| * sd(z)`` for that
        sample (the logit change per standard deviation of each unit, so that the ranking does
        not depend on the units' scales; GradCtrl's StyleGAN W has channels on one scale, where
        it is the plain gradient's).
    step_size : float, default 0.1
        Length of one edit step in code units (edits follow the normalised code-space gradient,
        as GradCtrl's; an autoencoder's codes spread ~10x a VAE's, so scale it to the codes).
    seed : int
        Seeds the classifiers' initialisation, the minibatches and the held-out split.

    Attributes
    ----------
    factor_names_ : list[str]
        Factors with a classifier.
    thresholds_ : dict[str, float]
        Each factor is binarised as ``value > threshold`` (its median; the next grid value down
        when the median is the largest value).
    classifiers_ : dict[str, torch.nn.Module]
        Codes (N, D) -> logit (N, 1); each standardises its input with ``code_mean_`` and
        ``code_scale_`` first, so gradients are ``d logit / dz`` in code units.
    code_mean_, code_scale_ : np.ndarray
        (D,) mean and standard deviation (1 for a constant unit) of the training codes.
    linear_directions_ : dict[str, np.ndarray]
        (D,) unit normals, in code space, of per-factor logistic regressions (fitted on the
        standardised codes).
    accuracy_, linear_accuracy_ : dict[str, float]
        Held-out accuracy (20 % of the codes) of each classifier and logistic regression.
    """

    def __init__(self, *, hidden_dim: int = 32, steps: int = 400, lr: float = 3e-3, batch_size: int = 128,
                 mask_fraction: float = 0.25, step_size: float = 0.1, seed: int = 0):
        owner = "AttributeControls"
        self.hidden_dim = int(check_number(hidden_dim, "hidden_dim", owner, low=1, integer=True))
        self.steps = int(check_number(steps, "steps", owner, low=1, integer=True))
        self.lr = check_number(lr, "lr", owner, low=0.0, low_inclusive=False)
        self.batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
        self.mask_fraction = check_number(mask_fraction, "mask_fraction", owner, low=0.0, high=1.0,
                                          low_inclusive=False, high_inclusive=False)
        self.step_size = check_number(step_size, "step_size", owner, low=0.0, low_inclusive=False)
        self.seed = int(check_number(seed, "seed", owner, low=0, integer=True))

    # ------------------------------------------------------------------ fit
    @with_autograd  # the classifiers train even under the caller's torch.no_grad() or inference_mode()
    def fit(self, codes: Any, factors: Any, factor_names: Sequence[str]) -> AttributeControls:
        """Train the classifiers and logistic regressions.

        Parameters
        ----------
        codes : (N, D) the learner's codes of world images.
        factors : (N, K) the images' true factors.
        factor_names : K names, the columns of ``factors``.
        """
        from sklearn.linear_model import LogisticRegression

        owner = "AttributeControls.fit"
        z = check_array(codes, "codes", owner, ndim=2, dtype=np.float32, min_rows=10)
        y = check_array(factors, "factors", owner, ndim=2, min_rows=10)
        # a repeated name would silently replace the first column's classifier
        names = list(check_names(factor_names, "factor_names", owner))
        if y.shape != (z.shape[0], len(names)):
            raise ValueError(f"{owner}: factors must be (N, K) = ({z.shape[0]}, {len(names)}) for {len(names)} "
                             f"factor names. Got {y.shape}.")
        rng = as_generator(self.seed)
        order = rng.permutation(len(z))
        n_test = max(2, len(z) // 5)
        test, train = order[:n_test], order[n_test:]
        self.latent_dim_ = z.shape[1]
        # Classifiers and regressions see standardised codes (an autoencoder's units spread ~10x a VAE's, and
        # unscaled they stall the logistic solver); gradients and normals are still taken in code space.
        self.code_mean_ = z[train].mean(0).astype(np.float64)
        spread = z[train].std(0).astype(np.float64)
        self.code_scale_ = np.where(spread > 1e-6 * max(float(spread.max()), 1e-12), spread, 1.0)  # constant: 1
        z_std = ((z - self.code_mean_) / self.code_scale_).astype(np.float32)
        self.factor_names_, self.thresholds_ = [], {}
        self.classifiers_, self.linear_directions_, self.accuracy_, self.linear_accuracy_ = {}, {}, {}, {}
        for k, name in enumerate(names):
            column = y[:, k]
            values = np.unique(column)
            if values.size < 2:
                continue  # a constant factor cannot be edited
            threshold = float(np.median(column))
            if threshold >= values[-1]:
                threshold = float(values[-2])
            labels = (column > threshold).astype(np.float32)
            self.factor_names_.append(name)
            self.thresholds_[name] = threshold
            self.classifiers_[name], self.accuracy_[name] = self._train_classifier(z_std, labels, train, test, k)
            regression = LogisticRegression(max_iter=1000).fit(z_std[train], labels[train])
            normal = regression.coef_[0].astype(np.float64) / self.code_scale_  # d logit / dz in code space
            self.linear_directions_[name] = normal / max(np.linalg.norm(normal), 1e-12)
            self.linear_accuracy_[name] = float(regression.score(z_std[test], labels[test]))
        if not self.factor_names_:
            raise ValueError(f"{owner}: every factor is constant in the given data; nothing to control.")
        return self

    def _train_classifier(self, z: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray,
                          offset: int) -> tuple[nn.Module, float]:
        with seeded_torch(self.seed + offset):
            mlp = nn.Sequential(nn.Linear(z.shape[1], self.hidden_dim), nn.ELU(),
                                nn.Linear(self.hidden_dim, self.hidden_dim), nn.ELU(), nn.Linear(self.hidden_dim, 1))
        optimiser = torch.optim.Adam(mlp.parameters(), lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed + offset)
        x_train, y_train = torch.from_numpy(z[train]), torch.from_numpy(labels[train])
        with torch.enable_grad():  # fit trains even when the caller runs it under torch.no_grad()
            for _ in range(self.steps):
                index = torch.randint(0, len(train), (min(self.batch_size, len(train)),), generator=generator)
                loss = nn.functional.binary_cross_entropy_with_logits(mlp(x_train[index])[:, 0], y_train[index])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        mlp.eval()
        for p in mlp.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            predicted = (mlp(torch.from_numpy(z[test]))[:, 0] > 0).numpy()
        # the returned classifier takes raw codes: standardisation first, so its gradients are d logit / dz
        standardise = _Standardise(self.code_mean_, self.code_scale_)
        return nn.Sequential(standardise, mlp).eval(), float((predicted == (labels[test] > 0.5)).mean())

    # ------------------------------------------------------------------ edits
    def _check_fitted(self, target: str, exclude: Sequence[str] | None, owner: str) -> list[str]:
        if not hasattr(self, "classifiers_"):
            raise RuntimeError("AttributeControls is not fitted; call fit(codes, factors, factor_names) first.")
        for name in [target, *(exclude or [])]:
            if name not in self.classifiers_:
                raise ValueError(f"{owner}: unknown factor {name!r}; AttributeControls has classifiers for "
                                 f"{self.factor_names_}.")
        if exclude is None:
            return [name for name in self.factor_names_ if name != target]
        if target in exclude:
            raise ValueError(f"{owner}: the target {target!r} cannot also be excluded.")
        return list(exclude)

    def _check_codes(self, codes: Any, owner: str) -> np.ndarray:
        """Codes (N, D) as float64, D the fitted width; a clear error otherwise."""
        z = check_array(codes, "codes", owner, ndim=2)
        if z.shape[1] != self.latent_dim_:
            raise ValueError(f"The 'codes' argument of {owner} must have {self.latent_dim_} columns (the codes "
                             f"AttributeControls was fitted on). Got {z.shape[1]}.")
        return z

    @with_autograd
    def gradient(self, codes: Any, factor: str) -> np.ndarray:
        """``d logit_factor / dz`` (N, D) at codes (N, D)."""
        owner = "AttributeControls.gradient"
        self._check_fitted(factor, [], owner)
        z = torch.from_numpy(self._check_codes(codes, owner).astype(np.float32)).requires_grad_(True)
        with torch.enable_grad():
            logit = self.classifiers_[factor](z)[:, 0]
            return torch.autograd.grad(logit.sum(), z)[0].numpy().astype(np.float64)

    @with_autograd
    def direction(self, codes: Any, target: str, *, method: str = "masked",
                  exclude: Sequence[str] | None = None) -> np.ndarray:
        """Unit edit directions (N, D) at codes (N, D) towards ``target > threshold``.

        ``exclude`` (default: every other factor with a classifier) lists the attributes whose
        most salient channels ``"masked"`` zeroes.
        """
        owner = "AttributeControls.direction"
        check_choice(method, "method", owner, EDIT_METHODS)
        excluded = self._check_fitted(target, exclude, owner)
        z = self._check_codes(codes, owner)
        if method == "linear":
            return np.broadcast_to(self.linear_directions_[target], z.shape).copy()
        g = self.gradient(z, target)
        if method == "masked":
            k = max(1, int(round(self.mask_fraction * z.shape[1])))
            keep = np.ones_like(g, dtype=bool)
            for name in excluded:
                salient = np.argsort(-np.abs(self.gradient(z, name) * self.code_scale_), axis=1)[:, :k]
                np.put_along_axis(keep, salient, False, axis=1)
            g = np.where(keep, g, 0.0)
        norm = np.linalg.norm(g, axis=1, keepdims=True)
        return np.where(norm > 0, g / np.maximum(norm, 1e-12), 0.0)

    def edit(self, codes: Any, target: str, *, method: str = "masked", exclude: Sequence[str] | None = None,
             n_steps: int = 10, sign: int = 1) -> np.ndarray:
        """The edit trajectory (n_steps + 1, N, D): ``n_steps`` steps of ``step_size`` along
        :meth:`direction` (recomputed at every step), towards ``target`` high (``sign=1``) or
        low (``sign=-1``)."""
        owner = "AttributeControls.edit"
        n_steps = int(check_number(n_steps, "n_steps", owner, low=1, integer=True))
        if sign not in (1, -1):
            raise ValueError(f"The 'sign' parameter of {owner} must be 1 or -1. Got {sign!r}.")
        self._check_fitted(target, exclude, owner)
        z = self._check_codes(codes, owner)
        path = [z]
        for _ in range(n_steps):
            z = z + sign * self.step_size * self.direction(z, target, method=method, exclude=exclude)
            path.append(z)
        return np.stack(path)


class _Standardise(nn.Module):
    """``(z - mean) / scale`` (N, D) -> (N, D), fixed (buffers, no parameters)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.scale


def _drift_at_gain(curve: list[tuple[float, np.ndarray]], target: float) -> np.ndarray:
    """Drift (K,) at exactly ``target`` gain, linearly interpolated between the two steps of the
    edit path ``curve`` [(gain, drift (K,)), ...] whose gains bracket it; NaN where the path never
    reached ``target`` (so methods are compared at a matched target change, not at their last step)."""
    for (g0, d0), (g1, d1) in zip(curve[:-1], curve[1:]):
        if g0 < target <= g1:
            w = (target - g0) / (g1 - g0)
            return (1.0 - w) * d0 + w * d1
    return np.full_like(curve[0][1], np.nan)


@dataclass
class EditFidelity:
    """Result of :func:`edit_fidelity`.

    Attributes
    ----------
    target : str
        The edited factor.
    factor_names : list[str]
        Factors read from the decoded images.
    methods : dict
        Per method: ``steps`` used, ``gain`` (mean read-out change of the target, fraction of its
        range, signed towards the edit), ``reached`` (whether ``target_change`` was met),
        ``true_target_change`` (mean change of the target in the true counterfactual, fraction of
        its range, signed towards the edit: the reached read-out value less the true factor),
        ``drift`` (factor -> mean |read-out change| of each other factor, fraction of range) and
        ``counterfactual_error`` (factor -> mean |read-out change - true counterfactual change|,
        the counterfactual being ``world.counterfactual(batch, {target: reached value})``),
        ``drift_at_target`` (the drift interpolated to exactly ``target_change`` of gain between
        the two steps that bracket it, NaN if never reached: the matched comparison) and ``curve``
        (``gain`` after each step, from 0, and each other factor's ``drift`` along it).
    readout_error : dict[str, float]
        Held-out error of the read-out per factor (fraction of range).
    """

    target: str
    factor_names: list[str]
    methods: dict[str, dict[str, Any]]
    readout_error: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain types; a target change never reached leaves ``drift_at_target`` NaN, which strict JSON lacks:
        write with :func:`latentscm._io.atomic_write_json` (NaN as ``null``), as the ``probe`` command does."""
        return {"target": self.target, "factors": list(self.factor_names), "methods": self.methods,
                "readout_error": dict(self.readout_error), "settings": dict(self.settings)}


def edit_fidelity(learner: Any, world: Any, controls: AttributeControls, target: str, *,
                  methods: Sequence[str] = EDIT_METHODS, exclude: Sequence[str] | None = None,
                  target_change: float = 0.2, max_steps: int = 40, sign: int = 1, n: int = 200,
                  measure: Any = "oracle", seed: int = 0) -> EditFidelity:
    """Edit codes of world images with each method until the target factor has changed by
    ``target_change`` (fraction of its range, mean over images), then score the edits against
    the world's exact counterfactuals.

    Parameters
    ----------
    learner :
        A fitted learner with ``encode`` and ``decode``.
    world :
        The world the learner and ``controls`` were fitted on.
    controls : AttributeControls
        Fitted on the learner's codes of this world.
    target : str
        Factor to edit (must have a classifier and be read by ``measure``).
    methods : sequence of {"masked", "gradient", "linear"}
        Non-empty, each at most once (a bare string is refused: wrap one method in a list).
    exclude : sequence of str, optional
        Attributes ``"masked"`` protects; default every other factor with a classifier.
    target_change : float
        Matched target change: every method steps until the mean read-out gain reaches it
        (or ``max_steps``; ``reached`` says which).
    sign : {1, -1}
        Edit the target up or down.
    n : int
        Images edited (``world.sample(n, seed=seed)``).
    measure :
        ``"oracle"``, ``"regressor"``, a fitted read-out or a callable (see
        :func:`latentscm.probes.readouts.as_readout`).
    seed : int

    Returns
    -------
    EditFidelity
    """
    owner = "edit_fidelity"
    if not getattr(learner, "can_decode", True):
        raise TypeError(f"edit_fidelity decodes the edited codes, and {type(learner).__name__} has no decoder (an "
                        f"encoder-only learner).")
    if not callable(getattr(learner, "decode", None)) or not callable(getattr(learner, "encode", None)):
        raise TypeError(f"edit_fidelity needs a learner with encode and decode; {type(learner).__name__} has "
                        f"{'no decode' if not callable(getattr(learner, 'decode', None)) else 'no encode'}.")
    if not isinstance(controls, AttributeControls):
        raise TypeError(f"The 'controls' argument of {owner} must be a fitted AttributeControls. "
                        f"Got {type(controls).__name__}.")
    world.spec(target)  # UnknownNodeError names an unknown factor
    methods = [check_choice(m, "methods", owner, EDIT_METHODS)
               for m in check_sequence(methods, "methods", owner, what="method names")]
    if not methods or len(set(methods)) != len(methods):
        raise ValueError(f"The 'methods' parameter of {owner} must name each of {list(EDIT_METHODS)} at most once, and "
                         f"at least one. Got {methods}.")
    target_change = check_number(target_change, "target_change", owner, low=0.0, low_inclusive=False)
    max_steps = int(check_number(max_steps, "max_steps", owner, low=1, integer=True))
    n = int(check_number(n, "n", owner, low=2, integer=True))
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    if sign not in (1, -1):
        raise ValueError(f"The 'sign' parameter of {owner} must be 1 or -1. Got {sign!r}.")
    readout = as_readout(measure, world, seed=seed, owner=owner)
    names = list(readout.factor_names_)
    if target not in names:
        raise ValueError(f"{owner}: the read-out measures {names}, not the target {target!r}.")
    excluded = controls._check_fitted(target, exclude, owner)
    ranges = np.array([world.spec(name).high - world.spec(name).low for name in names])
    world_columns = [world.factor_names.index(name) for name in names]
    t = names.index(target)
    batch = world.sample(n, seed=seed)
    codes = np.asarray(learner.encode(batch.images), dtype=np.float64)
    before = readout.predict(learner.decode(codes.astype(np.float32)))
    results: dict[str, dict[str, Any]] = {}
    for method in methods:
        z = codes
        steps_used, gain, after = 0, 0.0, before
        curve = [(0.0, np.zeros(len(names)))]  # (gain, drift of every factor) after each step
        for step in range(1, max_steps + 1):
            z = z + sign * controls.step_size * controls.direction(z, target, method=method, exclude=excluded)
            after = readout.predict(learner.decode(z.astype(np.float32)))
            steps_used = step
            gain = float(sign * np.nanmean(after[:, t] - before[:, t]) / ranges[t])
            curve.append((gain, np.nanmean(np.abs(after - before), axis=0) / ranges))
            if gain >= target_change:
                break
        at_target = _drift_at_gain(curve, target_change)
        spec = world.spec(target)
        measured = np.where(np.isfinite(after[:, t]), after[:, t], batch.factors[:, world_columns[t]])
        reached = spec.snap(measured)
        counterfactual = world.counterfactual(batch, {target: reached})
        true_change = counterfactual.factors[:, world_columns] - batch.factors[:, world_columns]
        change = after - before
        drift, error = {}, {}
        for j, name in enumerate(names):
            if j == t:
                continue
            drift[name] = float(curve[-1][1][j])  # the last step's mean |change| / range
            error[name] = float(np.nanmean(np.abs(change[:, j] - true_change[:, j])) / ranges[j])
        results[method] = {"steps": steps_used, "gain": gain, "reached": bool(gain >= target_change),
                           "true_target_change": float(sign * np.mean(true_change[:, t]) / ranges[t]),
                           "drift": drift, "counterfactual_error": error,
                           "drift_at_target": {name: float(at_target[j]) for j, name in enumerate(names) if j != t},
                           "curve": {"gain": [float(g) for g, _ in curve],
                                     "drift": {name: [float(d[j]) for _, d in curve]
                                               for j, name in enumerate(names) if j != t}}}
    return EditFidelity(target=target, factor_names=names, methods=results,
                        readout_error={name: float(readout.mae_.get(name, math.nan)) for name in names},
                        settings={"target_change": target_change, "max_steps": max_steps, "sign": sign, "n": n,
                                  "seed": seed, "exclude": excluded, "step_size": controls.step_size,
                                  "measure": measure if isinstance(measure, str) else type(readout).__name__})
