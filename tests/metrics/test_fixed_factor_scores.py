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


def test_betavae_pairs_share_a_value_each_pair_its_own(world):
    """Higgins et al. (2017): the two members of a pair share the fixed factor's value, and each
    pair draws its own value (not one value for the whole point). World without counterfactual."""
    from latentscm.metrics._fixed_factor import sample_pairs
    images = sample_pairs(world, world.factor_specs[1], 24, np.random.default_rng(0))
    factors = images.reshape(48, 16).astype(np.float64) @ np.linalg.pinv(world.mixing)
    assert np.allclose(factors[:24, 1], factors[24:, 1], atol=1e-4)
    assert np.unique(np.round(factors[:24, 1], 3)).size >= 3  # 5 grid values, 24 pairs
    assert not np.allclose(factors[:24, 0], factors[24:, 0], atol=1e-4)  # the rest is drawn afresh


def test_betavae_pairs_on_a_causal_world_use_its_counterfactual():
    """On a latentscm World a point is one sample and its counterfactual under do(k = v), one v per
    pair: the pair shares v, the pairs' values differ, the other root is drawn afresh."""
    import latentscm.worlds
    from latentscm.metrics._fixed_factor import sample_pairs

    class Recording:  # the real world, its counterfactual batches kept for inspection
        def __init__(self, world):
            self.world, self.batches = world, []
            self.factor_specs = world.factor_specs

        def sample(self, n, *, seed, interventions=None):
            return self.world.sample(n, seed=seed, interventions=interventions)

        def counterfactual(self, batch, interventions):
            self.batches.append(self.world.counterfactual(batch, interventions))
            return self.batches[-1]

    pendulum = latentscm.worlds.make("pendulum", size=16)
    recording = Recording(pendulum)
    names = list(pendulum.factor_names)
    spec = pendulum.factor_specs[names.index("light_position")]
    images = sample_pairs(recording, spec, 20, np.random.default_rng(1))
    (batch,) = recording.batches
    np.testing.assert_array_equal(images, batch.images)
    light = batch.factors[:, names.index("light_position")]
    np.testing.assert_array_equal(light[:20], light[20:])
    assert np.unique(light[:20]).size >= 10
    angle = batch.factors[:, names.index("pendulum_angle")]
    assert not np.allclose(angle[:20], angle[20:])
