"""Regression tests of the third review of the probes (s22): extrapolation marks that count unreadable images,
the traversal and bootstrap input checks, and the Laplacian of a potential linear in the code."""

import numpy as np
import pytest
import torch

from latentscm.probes import cluster_bootstrap_mean, extreme_values, laplacian, latent_traversal, traversal_values
from latentscm.probes.readouts import _moments


def _linear_posx(images):
    """A posX read-out that leaves the factor range at extreme levels; NaN where nothing is drawn."""
    mass, cx, cy, _ = _moments(images)
    out = np.zeros((len(images), 5))
    out[:, 3] = 3 * (cx / 16 - 0.5) + 0.5
    out[:, 4] = cy / 16
    out[:, 1] = 0.75
    out[mass <= 0] = np.nan
    return out


def test_extrapolated_is_a_fraction_of_the_readable_read_outs(oracle_model, sprites16):
    class BlankAtEnds(type(oracle_model)):
        """Nothing drawn at the top level (every base) and at the bottom level (the first half of the bases)."""

        top, bottom = np.inf, -np.inf

        def decode(self, z):
            z = np.asarray(z, dtype=np.float64)
            images = super().decode(z)
            images[z[:, 0] > self.top] = 0.0
            low = z[:, 0] < self.bottom
            low[len(z) // 2:] = False
            images[low] = 0.0
            return images

    model = BlankAtEnds(sprites16)
    options = {"units": [0], "levels": 9, "n": 12, "n_boot": 20, "measure": _linear_posx, "seed": 1}
    levels = extreme_values(model, sprites16, **options).levels[0]
    model.top, model.bottom = levels[-1] - 1e-6, levels[0] + 1e-6
    result = extreme_values(model, sprites16, **options)
    k = result.factor_names.index("posX")
    assert np.isnan(result.extrapolated[0, -1, k])  # no image of the top level could be read: no fraction
    readable = np.isfinite(result.outcomes[0, 0, :, k])
    assert readable.sum() == 6 and np.all(result.outcomes[0, 0, readable, k] < 0)
    assert result.extrapolated[0, 0, k] == 1.0  # every read-out of the bottom level is out of range (was 0.5)
    assert result.extrapolated[0, 4, k] == 0.0


def test_latent_traversal_checks_units_and_image(oracle_model, sprites16):
    batch = sprites16.sample(32, seed=0)
    values = traversal_values(oracle_model.encode(batch.images), steps=3)
    for units in ([-1], [4], [1.5], [True]):
        with pytest.raises(ValueError, match="'units' argument of latent_traversal"):
            latent_traversal(oracle_model, batch.images[0], values, units=units)
    with pytest.raises(ValueError, match="'image' argument of latent_traversal must be one image"):
        latent_traversal(oracle_model, batch.images[:3], values, units=[0])
    rows = latent_traversal(oracle_model, batch.images[:1], values, units=np.array([3, 0]))  # numpy ints as before
    assert len(rows) == 2 and rows[0].shape == (3,) + sprites16.image_shape


def test_traversal_values_refuses_nan_and_empty_codes():
    codes = np.random.default_rng(0).normal(size=(20, 3))
    codes[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values \(units \[1\]\)"):
        traversal_values(codes)
    with pytest.raises(ValueError, match="N >= 1"):
        traversal_values(np.zeros((0, 3)))


def test_cluster_bootstrap_mean_checks_its_arguments():
    x = np.random.default_rng(0).normal(size=(30, 2))
    generator = np.random.default_rng
    for kwargs, match in [({"n_boot": 0, "ci": 0.9}, "'n_boot' parameter of cluster_bootstrap_mean"),
                          ({"n_boot": 10, "ci": 1.5}, "'ci' parameter of cluster_bootstrap_mean"),
                          ({"n_boot": 10, "ci": 0.0}, "'ci' parameter of cluster_bootstrap_mean")]:
        with pytest.raises(ValueError, match=match):
            cluster_bootstrap_mean(x, rng=generator(0), **kwargs)
    with pytest.raises(ValueError, match="at least one cluster"):
        cluster_bootstrap_mean(np.zeros((0, 2)), n_boot=10, ci=0.9, rng=generator(0))
    # a seed is a random source as good as the generator it seeds
    by_seed = cluster_bootstrap_mean(x, n_boot=50, ci=0.9, rng=3)
    by_generator = cluster_bootstrap_mean(x, n_boot=50, ci=0.9, rng=generator(3))
    assert np.array_equal(by_seed[1], by_generator[1])


@pytest.mark.parametrize("method", ["exact", "hutchinson", "official"])
def test_laplacian_of_a_potential_linear_in_the_code_is_zero(method):
    z = torch.randn(3, 2)
    t = torch.ones(3, 1)
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    for potential in (lambda z, t: 2 * z.sum(1), lambda z, t: z @ w + t[:, 0] ** 2, lambda z, t: t[:, 0] + 0 * w.sum()):
        value = laplacian(potential, z, t, method=method, generator=torch.Generator().manual_seed(0))
        assert value.shape == ((3, 2) if method == "official" else (3,)) and torch.all(value == 0)
    a = torch.tensor([[2.0, 0.0], [0.0, 4.0]])  # a quadratic keeps its value: trace 6 (v^T a v too), row sums (2, 4)
    value = laplacian(lambda z, t: 0.5 * ((z @ a) * z).sum(1), z, t, method=method,
                      generator=torch.Generator().manual_seed(0))
    expected = torch.tensor([[2.0, 4.0]] * 3) if method == "official" else torch.full((3,), 6.0)
    assert torch.allclose(value, expected)


def test_traversal_counterfactual_names_non_finite_codes():
    """linear_sum_assignment failed with 'invalid numeric entries' on the codes of a diverged model."""
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
    from latentscm.worlds import make

    class Diverged:
        def encode(self, images):
            return np.full((len(images), 3), np.nan)

    with pytest.raises(ValueError, match="contain NaN or infinite values"):
        TraversalCounterfactual(Diverged(), make("sprites", size=16), n=20)


def test_revnet_sizes_for_another_alignment_are_refused():
    """interchange_accuracy ignored n_blocks/width/depth for 'identity'/'linear'; alignment_curve found a
    map entry's unknown key only after building (and perhaps training) the control network."""
    from latentscm.probes import alignment_curve, interchange_accuracy
    from latentscm.probes.interchange_tasks import HierarchicalEquality, equality_mlp

    task = HierarchicalEquality()
    network = equality_mlp(seed=0)
    with pytest.raises(ValueError, match="n_blocks=4, width=32 size a RevNet; alignment='linear'"):
        interchange_accuracy(network, "block1", task, alignment="linear", n_blocks=4, width=32, control=None)
    with pytest.raises(ValueError, match=r"keys \['n_blocks'\] that alignment 'linear' does not take"):
        alignment_curve(network, "block1", task, maps=[{"alignment": "linear", "n_blocks": 2}])
