"""Support for the learner tests (not a test module): a tiny procedural world — one Gaussian blob
per image whose row, column and width are the factors — and the tiny learner the subprocess tests
train. The tests and their child processes import it (``--world learners_support:TinyBlobs``)."""

import numpy as np

from latentscm.worlds import FactorSpec, World


class TinyBlobs(World):
    """A blob at (row, col) with width ``width`` on a ``size`` x ``size`` grey image."""

    name = "tiny_blobs"

    def __init__(self, size: int = 16):
        self._options = {"size": size}
        self.size = size
        self.factor_specs = (
            FactorSpec("row", values=np.linspace(0.2, 0.8, 5)),
            FactorSpec("col", values=np.linspace(0.2, 0.8, 5)),
            FactorSpec("width", values=np.array([0.08, 0.12, 0.16])),
        )
        self.image_shape = (1, size, size)
        self._init_structure()

    def _render(self, factors, render_seeds):
        grid = (np.arange(self.size) + 0.5) / self.size
        rows = (grid[None, :, None] - factors[:, 0, None, None]) ** 2
        cols = (grid[None, None, :] - factors[:, 1, None, None]) ** 2
        blob = np.exp(-(rows + cols) / (2 * factors[:, 2, None, None] ** 2))
        return blob[:, None].astype(np.float32)


def make_tiny_learner(name: str = "beta_vae", steps: int = 12):
    """The small learner every subprocess test trains (the same in parent and children)."""
    from latentscm import learners
    from latentscm.testing.learner_checks import tiny_params

    cls = learners.get(name)
    extra = {"graph": "row -> col, width"} if getattr(cls, "uses_factors", False) else {}
    return cls(**tiny_params(cls, steps=steps, batch_size=8, **extra))


#: GCRL's tiny settings, shared by its test files.
GCRL_TINY = {"z_dim": 2, "s_dim": 1, "channels": (8, 8), "hidden_dim": 16, "lr": 3e-3, "batch_size": 16, "steps": 6,
             "seed": 0}


def flow_domains_world():
    """A 16x16 flow world with 3 domains shifting water_height (GCRL's tests)."""
    from latentscm.worlds import DomainShift, make

    return make("flow", size=16, grid=False, noise_std=0.1,
                domains=DomainShift(3, shifted=("water_height",), strength=1.0, seed=0))


#: IVAE's tiny settings on vector data, shared by its test files.
IVAE_TINY = {"latent_dim": 2, "likelihood": "gaussian", "hidden_dim": 16, "lr": 3e-3, "batch_size": 32, "steps": 30,
             "beta": 0.01, "seed": 0}


def nonstationary_world():
    """Two independent latents whose means and scales change across 5 domains (``ild-linear``, no edges)."""
    from latentscm.worlds.ild_linear import ILDLinear

    return ILDLinear(latent_dim=2, n_domains=5, int_set=(0, 1), edge_prob=0.0, depth=1, seed=0)


#: Tiny networks for the temporal learners (CITRIS, TDRL) in tests.
TEMPORAL_TINY = {"channels": (8, 8), "hidden_dim": 16, "batch_size": 16, "prior_hidden": 8}


def noise_coupled_hue_sprites():
    """A small temporal hue-sprites world without interventions, its noise coupled to the past (TDRL's setting)."""
    from latentscm import worlds
    from latentscm.worlds import TemporalWorld

    return TemporalWorld(worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4), intervention_prob=0.0,
                         noise_coupling=1.0)
