"""Regression tests of the fourth review of the probes (s23)."""

import types
import warnings

import numpy as np

from latentscm.probes.traversal_counterfactual import TraversalCounterfactual


class _ConstantFactorWorld:
    """Factor 'a' varies, 'c' is always ``constant``; image channels: a, c and a background that is no factor."""

    factor_names = ["a", "c"]

    def __init__(self, constant):
        self.constant = constant

    def sample(self, n, seed=0):
        rng = np.random.default_rng(seed)
        factors = np.column_stack([rng.uniform(0, 1, n), np.full(n, self.constant)])
        images = np.column_stack([factors, rng.uniform(0, 1, n)]).astype(np.float32)[:, :, None, None]
        return types.SimpleNamespace(images=images, factors=factors)


class _BackgroundLearner:
    """Unit 0 codes the background, unit 1 codes 'a'."""

    def __init__(self, constant):
        self.constant = constant

    def encode(self, images):
        x = np.asarray(images)[:, :, 0, 0]
        return np.column_stack([x[:, 2], 2 * x[:, 0] - 1]).astype(np.float32)

    def decode(self, codes):
        codes = np.asarray(codes, dtype=np.float64)
        out = np.column_stack([(codes[:, 1] + 1) / 2, np.full(len(codes), self.constant), codes[:, 0]])
        return out.astype(np.float32)[:, :, None, None]


def test_traversal_counterfactual_leaves_a_constant_factor_without_a_unit():
    """A constant factor took the leftover unit (the background's) with a line 0 (or an ill-conditioned polyfit
    when its std rounded to ~1e-17), so do(c = its only value) overwrote the background."""
    for constant in (0.0, 0.3):
        world, learner = _ConstantFactorWorld(constant), _BackgroundLearner(constant)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RankWarning from a line through a constant
            model = TraversalCounterfactual(learner, world, n=200)
        assert model.units_ == {"a": 1} and set(model.slope_) == set(model.correlation_) == {"a"}
        images = world.sample(4, seed=1).images
        null = model.counterfactual(images, {})
        assert np.array_equal(model.counterfactual(images, {"c": constant}), null)
        assert np.allclose(model.counterfactual(images, {"a": 0.9})[:, 0, 0, 0], 0.9, atol=1e-5)


def test_n_probes_is_refused_where_no_probe_is_drawn():
    """n_probes was accepted with the exact and official Laplacians and silently ignored."""
    import pytest
    import torch

    from latentscm.probes import PotentialFlows, laplacian

    for method in ("exact", "official"):
        with pytest.raises(ValueError, match=f"'n_probes' parameter of PotentialFlows .*laplacian='{method}'"):
            PotentialFlows(laplacian=method, n_probes=8)
        with pytest.raises(ValueError, match=f"'n_probes' parameter of laplacian .*method='{method}'"):
            laplacian(lambda z, t: (z ** 3).sum(1), torch.ones(2, 2), torch.zeros(2, 1), method=method, n_probes=8)
    assert PotentialFlows(laplacian="hutchinson", n_probes=8).n_probes == 8
    assert PotentialFlows(laplacian="exact", n_probes=1).n_probes == 1


def test_hutchinson_laplacian_does_not_read_the_global_torch_stream():
    """Without a generator the probes came from torch's global RNG: the value depended on what ran before."""
    import torch

    from latentscm.probes import laplacian

    a = torch.tensor([[2.0, 1.0, 0.0], [1.0, -1.0, 3.0], [0.0, 3.0, 0.5]])
    z, t = torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), torch.zeros(4, 1)

    def potential(z, t):
        return 0.5 * torch.einsum("ni,ij,nj->n", z, a, z)

    values = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        values.append(laplacian(potential, z, t, method="hutchinson"))
        after = torch.rand(1)
        torch.manual_seed(global_seed)
        assert torch.equal(after, torch.rand(1))  # the caller's stream did not move
    assert torch.equal(values[0], values[1])
    seeded = laplacian(potential, z, t, method="hutchinson", generator=torch.Generator().manual_seed(0))
    assert torch.equal(values[0], seeded)  # None is seed 0
    assert torch.equal(laplacian(potential, z, t, method="hutchinson", generator=5),
                       laplacian(potential, z, t, method="hutchinson", generator=torch.Generator().manual_seed(5)))


def test_eval_every_without_a_validation_split_is_refused():
    """eval_every was accepted with validation=0, where no checkpoint is scored, and silently ignored."""
    import pytest

    from latentscm.probes import alignment_curve, interchange_accuracy
    from latentscm.probes.interchange_tasks import HierarchicalEquality, equality_mlp

    task = HierarchicalEquality()
    network = equality_mlp(seed=0)
    options = {"steps": 4, "n_train": 40, "n_test": 20, "seed": 0}
    with pytest.raises(ValueError, match="eval_every=2 sets how often .* validation=0"):
        interchange_accuracy(network, "block1", task, alignment="linear", control=None, eval_every=2, **options)
    with pytest.raises(ValueError, match="alignment_curve: eval_every=2"):
        alignment_curve(network, "block1", task, maps=["linear"], eval_every=2, **options)
    result = interchange_accuracy(network, "block1", task, alignment="linear", control=None, eval_every=2,
                                  validation=0.25, **options)
    assert result.settings["search"]["step"] in (2, 4)
