"""A factor regressor trained on a world's own images: images -> factors in world units.

Counterfactual *effectiveness* (Monteiro et al. 2023) needs to read the factors of a generated
image. Elsewhere this is a separately trained anti-causal predictor whose error is unknown; here
it is trained on the world (which renders exact labels) and its held-out error is reported next
to every effectiveness number, so the reader can tell predictor error from model error.

By default it is trained on *interventional* renders in which every factor is drawn at random,
independently of the others (``training_data="independent"``): trained on observational images
it may read a cause off its effects (the pendulum's angle off its shadow), and would then report
a "cause leak" for a counterfactual that moved only the shadow — exactly what such a predictor
must not do when it scores interventions on effects (the same reason Ribeiro et al. 2023 train
their parent predictors on data where the parents cannot be read off each other).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._seeding import seeded_torch
from latentscm._validation import check_choice, check_image_batch, check_number

__all__ = ["FactorRegressor"]


class FactorRegressor:
    """CNN regressor (disentanglement_lib encoder body) from images to standardised factors.

    Parameters
    ----------
    n_train : int, default 4000
        Images rendered from the world for training (>= 16).
    n_test : int, default 1000
        Held-out images (seed ``seed + 1``) for ``r2_`` and ``mae_`` (>= 16).
    steps : int, default 600
        Adam steps (batch ``batch_size``, lr ``lr``).
    batch_size : int, default 64
        Images per Adam step.
    lr : float, default 1e-3
        Adam learning rate (> 0).
    seed : int, default 0
        Seeds the data, the initialisation and the minibatch order.
    training_data : {"independent", "observational"}, default "independent"
        ``"independent"`` (every factor drawn at random, independently: no factor can be read
        off another) or ``"observational"`` (the world's own distribution).
    """

    def __init__(self, *, n_train: int = 4000, n_test: int = 1000, steps: int = 600, batch_size: int = 64,
                 lr: float = 1e-3, seed: int = 0, training_data: str = "independent"):
        self.n_train = int(check_number(n_train, "n_train", "FactorRegressor", low=16, integer=True))
        self.n_test = int(check_number(n_test, "n_test", "FactorRegressor", low=16, integer=True))
        self.steps = int(check_number(steps, "steps", "FactorRegressor", low=1, integer=True))
        self.batch_size = int(check_number(batch_size, "batch_size", "FactorRegressor", low=1, integer=True))
        self.lr = check_number(lr, "lr", "FactorRegressor", low=0, low_inclusive=False)
        self.seed = int(check_number(seed, "seed", "FactorRegressor", low=0, integer=True))
        self.training_data = check_choice(training_data, "training_data", "FactorRegressor",
                                          ("independent", "observational"))

    def fit(self, world: Any) -> FactorRegressor:
        """Train on ``world.sample(n_train, seed)``; sets ``r2_`` and ``mae_`` (per factor, held out).

        Fitted on a copy: a fit that fails (or is interrupted) leaves this regressor as it was."""
        fitted = copy.copy(self)
        fitted._fit(world)
        self.__dict__.update(fitted.__dict__)
        return self

    def _fit(self, world: Any) -> None:
        from latentscm.nn import ConvEncoder

        regime = None
        if self.training_data == "independent":
            from latentscm.worlds.regimes import RandomDo, Regime

            regime = Regime("independent", {name: RandomDo("range") for name in world.factor_names})
        train = world.sample(self.n_train, seed=self.seed, regime=regime)
        test = world.sample(self.n_test, seed=self.seed + 1, regime=regime)
        self.factor_names_ = list(world.factor_names)
        self.ranges_ = np.array([max(s.high - s.low, 1e-12) for s in world.factor_specs])
        self.mean_ = train.factors.mean(0)
        self.std_ = train.factors.std(0) + 1e-8
        self.image_shape_ = tuple(world.image_shape)
        with seeded_torch(self.seed):
            self.net_ = ConvEncoder(self.image_shape_, len(self.factor_names_), hidden_dim=128)
        images = torch.from_numpy(train.images)
        targets = torch.from_numpy(((train.factors - self.mean_) / self.std_).astype(np.float32))
        optimiser = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed)
        self.net_.train()
        for _ in range(self.steps):
            index = torch.randint(0, images.shape[0], (self.batch_size,), generator=generator)
            loss = nn.functional.mse_loss(self.net_(images[index]), targets[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.net_.eval()
        predicted = self.predict(test.images)
        residual = predicted - test.factors
        variance = test.factors.var(0)
        # R^2 = 1 - MSE / Var(y): a constant offset in the predictions counts against it
        self.r2_ = {name: float(1 - np.mean(residual[:, j] ** 2) / variance[j]) if variance[j] > 0 else float("nan")
                    for j, name in enumerate(self.factor_names_)}
        self.mae_ = {name: float(np.abs(residual[:, j]).mean() / self.ranges_[j])
                     for j, name in enumerate(self.factor_names_)}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Factors (N, K) in world units of images (N, C, H, W)."""
        if not hasattr(self, "net_"):
            raise RuntimeError("FactorRegressor is not fitted; call fit(world) first.")
        images = check_image_batch(images, self.image_shape_, "FactorRegressor", dtype=np.float32)
        outputs = []
        with torch.no_grad():
            for start in range(0, images.shape[0], 512):
                outputs.append(self.net_(torch.from_numpy(images[start:start + 512])).numpy())
        return np.concatenate(outputs).astype(np.float64) * self.std_ + self.mean_
