"""FactorVAE and BetaVAE scores on a tiny real world: independent grid factors rendered into
(1, 4, 4) images by a fixed full-rank linear map, so an encoder can invert it exactly."""

from dataclasses import dataclass

import numpy as np
import pytest

from latentscm.metrics import betavae_score, factorvae_score


@dataclass(frozen=True)
class Spec:
    name: str
    values: np.ndarray | None
    low: float
    high: float


@dataclass
class TinyBatch:
    images: np.ndarray
    factors: np.ndarray


class LinearWorld:
    """Factors on grids (plus one constant factor), images = a fixed linear map of them."""

    def __init__(self, sizes=(5, 5, 5, 5), seed=0):
        self.factor_specs = [Spec(f"f{k}", np.linspace(0.0, 1.0, size), 0.0, 1.0)
                             for k, size in enumerate(sizes)]
        self.factor_specs.append(Spec("colour", np.array([1.0]), 1.0, 1.0))
        self.factor_names = [spec.name for spec in self.factor_specs]
        rng = np.random.default_rng(seed)
        self.mixing = rng.standard_normal((len(self.factor_specs), 16))

    def sample(self, n, *, seed, interventions=None):
        rng = np.random.default_rng(seed)
        columns = [rng.choice(spec.values, size=n) for spec in self.factor_specs]
        factors = np.stack(columns, axis=1)
        for name, value in (interventions or {}).items():
            factors[:, self.factor_names.index(name)] = value
        images = (factors @ self.mixing).reshape(n, 1, 4, 4).astype(np.float32)
        return TinyBatch(images=images, factors=factors)


@pytest.fixture(scope="module")
def world():
    return LinearWorld()


def perfect_encoder(world, extra_collapsed=0):
    """Recovers the four varying factors exactly (scales differ on purpose), plus
    ``extra_collapsed`` dimensions: one constant, the others a 1e-3-scaled copy of a factor."""
    inverse = np.linalg.pinv(world.mixing)  # (16, 5): recovers all factors exactly

    def encode(images):
        factors = images.reshape(len(images), 16).astype(np.float64) @ inverse
        codes = factors[:, :4] * np.array([1.0, 4.0, 0.5, 2.0])
        collapsed = [np.zeros(len(images))] + [1e-3 * factors[:, 0]] * (extra_collapsed - 1)
        return np.column_stack([codes, *collapsed[:extra_collapsed]])
    return encode


def entangling_encoder(world):
    """Codes = Hadamard mix of the four (identically distributed) factors: every dimension
    weighs every factor by ±1/2, so holding any one factor fixed changes every dimension
    alike and neither score can tell which factor it was (chance is 1/4)."""
    inverse = np.linalg.pinv(world.mixing)
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2

    def encode(images):
        factors = (images.reshape(len(images), 16).astype(np.float64) @ inverse)[:, :4]
        return factors @ hadamard
    return encode


def test_factorvae_score_perfect_and_pruning(world):
    result = factorvae_score(world, perfect_encoder(world, extra_collapsed=2), n_train=60,
                             n_eval=60, batch_size=16, n_variance=500, seed=0)
    assert result["factorvae.accuracy"] == 1.0
    assert result["factorvae.train_accuracy"] == 1.0
    assert result["factorvae.n_active"] == 4.0  # the two collapsed dimensions are pruned


def test_factorvae_score_entangled_is_lower(world):
    result = factorvae_score(world, entangling_encoder(world), n_train=60, n_eval=60,
                             batch_size=16, n_variance=500, seed=0)
    assert result["factorvae.accuracy"] < 0.5


def test_factorvae_score_deterministic(world):
    kwargs = dict(n_train=20, n_eval=20, batch_size=8, n_variance=100, seed=3)
    encode = entangling_encoder(world)
    assert factorvae_score(world, encode, **kwargs) == factorvae_score(world, encode, **kwargs)


def test_betavae_score_perfect_and_entangled(world):
    good = betavae_score(world, perfect_encoder(world), n_train=60, n_eval=60, batch_size=16,
                         seed=0)
    assert good["betavae.accuracy"] == 1.0
    bad = betavae_score(world, entangling_encoder(world), n_train=60, n_eval=60, batch_size=16,
                        seed=0)
    assert bad["betavae.accuracy"] < 0.5


def test_fixed_factor_scores_reject_bad_input(world):
    with pytest.raises(ValueError, match="'batch_size'"):
        factorvae_score(world, perfect_encoder(world), batch_size=1)
    with pytest.raises(TypeError, match="'encode'"):
        betavae_score(world, "encoder")
    with pytest.raises(TypeError, match="'world'.*factor_specs"):
        factorvae_score(object(), perfect_encoder(world))
    with pytest.raises(ValueError, match="returned 2 rows"):
        factorvae_score(world, lambda images: np.zeros((2, 3)), n_variance=10)
