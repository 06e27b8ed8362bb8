"""Closed-form models for the probe tests: their true effects are known exactly, so the probes'
estimates can be checked against them (and no network has to be trained)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm import worlds


class SpritesOracleModel:
    """A "learner" on the binary sprites world whose latent units are known: z0 -> posX,
    z1 -> posY (both through a sigmoid), z2 -> scale (through tanh), z3 passive (ignored by the
    decoder; its posterior is the N(0, 1) prior, as for a collapsed VAE unit). Shape is a square
    and orientation 0. ``encode`` reads the factors back with the exact centroid read-out."""

    def __init__(self, world):
        self.world = world

    def encode(self, x, *, sample: bool = False, seed: int | None = None) -> np.ndarray:
        images = getattr(x, "images", x)
        from latentscm.probes.readouts import _moments

        mass, cx, cy, _ = _moments(images)
        travel = self.world.size - self.world.canvas
        pos = np.clip(np.column_stack([(cx - self.world.canvas / 2) / travel, (cy - self.world.canvas / 2) / travel]),
                      0.02, 0.98)
        codes = np.zeros((len(images), 4), dtype=np.float32)
        codes[:, :2] = np.log(pos / (1 - pos))
        codes[:, 2] = np.arctanh(np.clip((np.sqrt(mass) - np.sqrt(mass).mean()) / 10, -0.9, 0.9))
        if sample:
            codes[:, 3] = np.random.default_rng(seed).standard_normal(len(images))
        return codes

    def decode(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        factors = np.zeros((len(z), 5))
        factors[:, 1] = 0.75 + 0.25 * np.tanh(z[:, 2])
        factors[:, 3] = 1 / (1 + np.exp(-z[:, 0]))
        factors[:, 4] = 1 / (1 + np.exp(-z[:, 1]))
        for j, name in enumerate(self.world.factor_names):
            factors[:, j] = self.world.spec(name).snap(factors[:, j])
        return self.world.render(factors)


class BlobDecoder(torch.nn.Module):
    """Differentiable renderer: a Gaussian blob at (sigmoid(z0), sigmoid(z1)) of width set by z2
    on a size x size canvas; further units are ignored."""

    def __init__(self, size: int = 16):
        super().__init__()
        self.register_buffer("grid", (torch.arange(size) + 0.5) / size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x, y = torch.sigmoid(z[:, 0]), torch.sigmoid(z[:, 1])
        width = 0.05 + 0.1 * torch.sigmoid(z[:, 2])
        g = self.grid
        d2 = (g[None, None, :] - x[:, None, None]) ** 2 + (g[None, :, None] - y[:, None, None]) ** 2
        return torch.exp(-d2 / (2 * width[:, None, None] ** 2))[:, None]


@pytest.fixture(scope="session")
def sprites16():
    return worlds.make("sprites", size=16)


@pytest.fixture(scope="session")
def oracle_model(sprites16):
    return SpritesOracleModel(sprites16)


@pytest.fixture
def blob_decoder():
    return BlobDecoder(16)


#: `latentscm train` options of the tiny beta-VAE run the probe command tests read.
TINY_RUN = ["--world", "sprites", "--size", "16", "--n-samples", "64", "--batch-size", "8", "--steps", "4",
            "--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3", "--no-progress",
            "--threads", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny trained sprites run directory (one per test module)."""
    from typer.testing import CliRunner

    from latentscm.cli import app

    path = tmp_path_factory.mktemp("probe") / "run"
    result = CliRunner().invoke(app, ["train", "--learner", "beta_vae", "--out", str(path), *TINY_RUN])
    assert result.exit_code == 0, result.output
    return path
