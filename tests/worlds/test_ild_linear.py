"""The ILD vector simulator: sparse per-domain linear latent SCMs behind an invertible mixing."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.worlds import make


@pytest.fixture(scope="module")
def world():
    return make("ild-linear", latent_dim=6, n_domains=3, int_set=(0, 1), seed=0)


def test_observations_are_vectors_in_the_unit_interval_and_invert_exactly(world):
    batch = world.sample_domains(300, seed=0)
    assert batch.images.shape == (900, 6, 1, 1) and batch.images.dtype == np.float32
    assert batch.images.min() > 0 and batch.images.max() < 1
    scale = batch.factors.std(axis=0)
    assert np.max(np.abs(world.read_factors(batch.images) - batch.factors) / scale) < 1e-3  # float32 rounding
    np.testing.assert_allclose(world.unmix(world.mix(batch.factors)), batch.factors, atol=1e-8)


def test_only_the_intervention_set_and_its_descendants_move(world):
    batch = world.sample(400, seed=1, domain=0)
    moved = world.domain_counterfactual(batch, to_domain=1)
    affected = world.graph.descendants_of(["z0", "z1"])
    for j, name in enumerate(world.factor_names):
        changed = np.abs(moved.factors[:, j] - batch.factors[:, j]).max()
        assert (changed > 0) == (name in affected), name
    np.testing.assert_array_equal(world.domain_counterfactual(batch, to_domain=0).images, batch.images)


def test_params_round_trip_and_seed(world):
    again = type(world)(**world.get_params())
    np.testing.assert_array_equal(again.sample(5, seed=0, domain=2).images, world.sample(5, seed=0, domain=2).images)
    other = make("ild-linear", latent_dim=6, n_domains=3, int_set=(0, 1), seed=1)
    assert not np.array_equal(other.sample(5, seed=0).images, world.sample(5, seed=0).images)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'int_set'"):
        make("ild-linear", latent_dim=4, int_set=(4,))
    with pytest.raises(ValueError, match="'int_set'"):
        make("ild-linear", latent_dim=4, int_set=())
    with pytest.raises(ValueError, match="'n_domains'"):
        make("ild-linear", n_domains=1)


# ---------------------------------------------------------------- the official simulator's variant
@pytest.fixture(scope="module")
def official():
    return make("ild-linear", latent_dim=6, n_domains=3, int_set=(0, 1), variant="official", seed=0)


def test_official_variant_is_the_official_reduced_form(official):
    """Factors equal ``eps (I - A_d)^{-1} + b_d 1_I`` with A_d differing from domain 0 only in the
    int_set columns, and the domain counterfactual keeps eps and swaps (A_d, b_d)."""
    m, names = 6, official.factor_names
    weights, bias = official.official_weights_, official.official_bias_
    assert weights.shape == (3, m, m) and bias.shape == (3,)
    assert np.all(np.tril(weights[0]) == 0) and np.count_nonzero(weights[0]) == m * (m - 1) // 2  # complete DAG
    for d in (1, 2):
        differs = np.any(weights[d] != weights[0], axis=0)
        assert not differs[2:].any() and differs[1]  # column 0 of a triangular A is empty: node 0 has no parents
    batch = official.sample(400, seed=1, domain=0)
    # abduct eps with the domain-0 mechanisms, then apply the reduced form of each domain
    def parents(n):
        return batch.factors[:, [names.index(p) for p in official.graph.parents(n)]]

    eps = np.stack([official.scm.mechanisms[n].abduct(batch.factors[:, j], parents(n)) for j, n in enumerate(names)],
                   axis=1)
    shift = np.zeros(m)
    shift[[0, 1]] = 1.0
    for d in range(3):
        reduced = eps @ np.linalg.inv(np.eye(m) - weights[d]) + bias[d] * shift
        target = batch.factors if d == 0 else official.domain_counterfactual(batch, to_domain=d).factors
        np.testing.assert_allclose(target, reduced, atol=1e-8)


def test_official_variant_mixing_inverts_and_params_round_trip(official):
    batch = official.sample_domains(300, seed=2)
    assert batch.images.min() > 0 and batch.images.max() < 1
    scale = batch.factors.std(axis=0)
    assert np.max(np.abs(official.read_factors(batch.images) - batch.factors) / scale) < 1e-3
    np.testing.assert_allclose(official.unmix(official.mix(batch.factors)), batch.factors, atol=1e-8)
    assert abs(abs(np.linalg.det(official._g)) - 1.0) < 1e-9
    again = type(official)(**official.get_params())
    np.testing.assert_array_equal(again.sample(5, seed=0, domain=2).images, official.sample(5, seed=0, domain=2).images)
    # the post-solve bias reaches the children's structural form, so they are replaced mechanisms too
    assert set(official.domains.shifted) >= {"z0", "z1"}


def test_official_variant_bad_input_is_named():
    with pytest.raises(ValueError, match="'depth'"):
        make("ild-linear", variant="official", depth=2)
    with pytest.raises(ValueError, match="'variant'"):
        make("ild-linear", variant="paper")


@pytest.mark.parametrize("variant, int_set", [("latentscm", (0,)), ("official", (1,))])
def test_log_density_is_a_normalised_density_of_each_domain(variant, int_set):
    two = make("ild-linear", latent_dim=2, n_domains=3, int_set=int_set, variant=variant, seed=3)
    grid = (np.arange(1500) + 0.5) / 1500  # midpoint rule on (0, 1)^2
    x = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    for d in range(3):
        assert np.exp(two.log_density(x, d)).mean() == pytest.approx(1.0, abs=2e-3)


def test_log_density_prefers_the_domain_that_drew_the_samples(world):
    # E_p[log p] >= E_p[log q]: each domain's own density scores its samples best (a KL > 0 apart)
    batch = world.sample(3000, seed=4, domain=1)
    own = world.log_density(batch.images, 1).mean()
    for other in (0, 2):
        assert own > world.log_density(batch.images, other).mean() + 0.05
    with pytest.raises(ValueError, match="domain"):
        world.log_density(batch.images, world.n_domains)
    with pytest.raises(ValueError, match="observations"):
        world.log_density(np.ones((2, world.latent_dim)), 0)


# ---------------------------------------------------------------- ILD's equivalence classes
@pytest.mark.parametrize("variant", ["latentscm", "official"])
def test_reduced_form_reproduces_the_samples(variant):
    world = make("ild-linear", latent_dim=6, n_domains=3, int_set=(4, 5), variant=variant, seed=2)
    for d in range(3):
        f, b = world.reduced_form(d)
        assert np.allclose(f, np.tril(f)) and np.all(np.diag(f) > 0)
        z = world.sample(4000, seed=d, domain=d).factors.astype(np.float64)
        eps = np.linalg.solve(f, (z - b).T).T  # the abducted noise must be N(0, I)
        np.testing.assert_allclose(eps.mean(axis=0), 0.0, atol=0.07)
        np.testing.assert_allclose(np.cov(eps.T), np.eye(6), atol=0.08)
    with pytest.raises(ValueError, match="'domain'"):
        world.reduced_form(3)


def test_equivalent_fits_exactly_yet_moves_the_counterfactuals(world):
    from latentscm.metrics import domain_counterfactual_error

    rng = np.random.default_rng(0)
    batch = world.sample(500, seed=5, domain=1)
    shuffled = world.equivalent(rng.standard_normal((6, 6)))
    triangular = world.equivalent(np.tril(rng.standard_normal((6, 6)), -1) + np.diag(rng.uniform(0.5, 2, 6)))
    for model in (shuffled, triangular):  # the same density in every domain: no data tells them from the truth
        for d in range(3):
            np.testing.assert_allclose(model.log_density(batch.images, d), world.log_density(batch.images, d),
                                       atol=1e-6)
    exact = world.domain_counterfactual(batch, to_domain=2).images
    identity = world.equivalent(np.eye(6)).domain_counterfactual(batch.images, 1, 2)
    np.testing.assert_allclose(identity, exact, atol=1e-6)
    # a remix that keeps the causal order's triangular form keeps the counterfactuals exact; a full one does not
    np.testing.assert_allclose(triangular.domain_counterfactual(batch.images, 1, 2), exact, atol=1e-5)
    assert domain_counterfactual_error(shuffled, world, n=300, seed=1)["dcf.normalised"] > 0.01
    with pytest.raises(ValueError, match="'remix'"):
        world.equivalent(np.ones((6, 6)))
    with pytest.raises(ValueError, match="'remix'"):
        world.equivalent(np.eye(5))
    with pytest.raises(ValueError, match="'target'"):
        shuffled.domain_counterfactual(batch.images, 1, 3)
    with pytest.raises(ValueError, match="'domain'"):
        shuffled.log_density(batch.images, -1)


def test_sparse_equivalents_share_the_leading_mechanisms_and_move_counterfactuals_more_as_k_grows():
    from latentscm.metrics import domain_counterfactual_error

    world = make("ild-linear", latent_dim=6, n_domains=3, int_set=(4, 5), seed=0)
    basis = world.invariant_basis()  # z4, z5 are shifted and last in the order: the residuals of z0..z3
    assert basis.shape == (4, 6) and np.allclose(basis[:, 4:], 0, atol=1e-10)
    assert world.equivalent(world.random_remix(seed=0)).n_specific_ == 6  # a full remix is dense
    batch = world.sample(300, seed=5, domain=0)
    medians = {}
    for k in (2, 3, 4):
        errors = []
        for seed in range(6):
            model = world.equivalent(world.random_remix(k, seed=seed))
            assert model.n_specific_ <= k
            np.testing.assert_allclose(model.log_density(batch.images, 2), world.log_density(batch.images, 2),
                                       atol=1e-6)
            errors.append(domain_counterfactual_error(model, world, n=200, seed=1)["dcf.normalised"])
        medians[k] = float(np.median(errors))
    # more domain-specific latents than the truth needs leave more exact fits, with worse counterfactuals
    assert medians[2] < medians[3] < medians[4]
    assert medians[3] > 0.01
    # with k = |I| the only freedom left is a rotation among the shifted latents: none, and the fit is exact
    remix = world.random_remix(2, seed=0)
    remix[4, 5] = 0.0
    model = world.equivalent(remix)
    np.testing.assert_allclose(model.domain_counterfactual(batch.images, 0, 1),
                               world.domain_counterfactual(batch, to_domain=1).images, atol=1e-5)
    with pytest.raises(ValueError, match="k must be at least 2"):
        world.random_remix(1)
    with pytest.raises(ValueError, match="'k'"):
        world.random_remix(7)


def test_invariant_basis_finds_the_official_variants_shared_directions():
    """The official simulator's domain bias moves every child of a shifted latent, yet only along one direction:
    four directions of the six latents stay the same function of the noise, so k = 2 models still fit exactly."""
    world = make("ild-linear", latent_dim=6, n_domains=3, int_set=(0, 1), variant="official", seed=1)
    assert len(world._domain_shift.shifted) == 6
    basis = world.invariant_basis()
    assert basis.shape == (4, 6)
    np.testing.assert_allclose(basis @ basis.T, np.eye(4), atol=1e-10)
    for d in range(1, 3):  # each row is the same function of the noise in every domain
        (f0, b0), (f, b) = world.reduced_form(0), world.reduced_form(d)
        np.testing.assert_allclose(basis @ f, basis @ f0, atol=1e-9)
        np.testing.assert_allclose(basis @ b, basis @ b0, atol=1e-9)
    model = world.equivalent(world.random_remix(2, seed=3))
    assert model.n_specific_ == 2
    batch = world.sample(200, seed=2, domain=1)
    np.testing.assert_allclose(model.log_density(batch.images, 1), world.log_density(batch.images, 1), atol=1e-6)
