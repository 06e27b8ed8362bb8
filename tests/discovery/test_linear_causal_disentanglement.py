"""Linear causal disentanglement (Squires et al. 2023) against exact ground truth: population covariances give the
exact mixing, graph, weights and counterfactuals; samples converge to them; bad input is named."""

from __future__ import annotations

import itertools
import json
import sys

import numpy as np
import pytest

from latentscm.discovery import (
    LinearCausalDisentanglement,
    linear_causal_disentanglement,
    linear_causal_disentanglement_by_environment,
    linear_causal_disentanglement_from_covariances,
)


def random_model(seed: int, d: int, p: int, density: float = 0.75, soft: bool = False) -> dict:
    """A latent linear SCM ``z_i = sum_j W[i, j] z_j + eps_i / s_i`` (parents ``j > i``), ``x = mu + G z`` with
    ``G = H^+``, and one intervention per latent in a shuffled order: perfect (the target's row of ``B`` becomes
    ``lambda e_i``) or, with ``soft``, a new noise scale and new weights on the same parents."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((d, d))
    for i, j in itertools.combinations(range(d), 2):
        if rng.random() < density:
            weights[i, j] = rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 1.0)
    scales = rng.uniform(2.0, 4.0, d)
    root = np.diag(scales) @ (np.eye(d) - weights)
    unmixing = rng.uniform(-2.0, 2.0, (d, p))
    targets = rng.permutation(d)
    roots = []
    for target in targets:
        changed = root.copy()
        lam = rng.uniform(6.0, 8.0)
        if soft:
            changed[target] = lam * (np.eye(d)[target] - 2.0 * weights[target])
        else:
            changed[target] = 0.0
            changed[target, target] = lam
        roots.append(changed)
    mixing = np.linalg.pinv(unmixing)
    covariances = [mixing @ np.linalg.inv(b.T @ b) @ mixing.T for b in [root, *roots]]
    return {"W": weights, "s": scales, "B": root, "H": unmixing, "G": mixing, "targets": targets,
            "mean": rng.normal(size=p), "covariances": covariances, "roots": roots}


def true_graph(model: dict) -> np.ndarray:
    """(d, d) adjacency in context order: ``[k, l] = 1`` when context k's target is a parent of context l's."""
    d = model["W"].shape[0]
    truth = np.zeros((d, d), dtype=int)
    children, parents = np.nonzero(model["W"])
    truth[parents, children] = 1
    return truth[np.ix_(model["targets"], model["targets"])]


def true_ancestors(model: dict) -> list[frozenset]:
    """For each context's latent, the contexts whose latents are its ancestors."""
    d = model["W"].shape[0]
    reach = (np.abs(model["W"]) > 0).astype(int)  # [i, j]: j is a parent of i
    closure = reach.copy()
    for _ in range(d):
        closure = ((closure + closure @ reach) > 0).astype(int)
    context_of = {int(t): k for k, t in enumerate(model["targets"])}
    return [frozenset(context_of[int(j)] for j in np.nonzero(closure[model["targets"][k]])[0]) for k in range(d)]


def fit_exact(model: dict, **options) -> LinearCausalDisentanglement:
    return linear_causal_disentanglement_from_covariances(model["covariances"][0], model["covariances"][1:],
                                                          mean=model["mean"], **options)


def scaling(model: dict, fit: LinearCausalDisentanglement) -> np.ndarray:
    """(d,) ``D_k`` with ``z_est_k = D_k z_true[targets[k]]``; raises if the fit mixes latents."""
    m = fit.unmixing @ model["G"]  # (d est, d true)
    d = m.shape[0]
    expected = np.zeros_like(m)
    expected[np.arange(d), model["targets"]] = m[np.arange(d), model["targets"]]
    np.testing.assert_allclose(m, expected, atol=1e-8 * np.abs(m).max())
    return m[np.arange(d), model["targets"]]


CASES = [(seed, d, extra) for seed, (d, extra) in enumerate(itertools.product(range(2, 7), range(0, 3)))]


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("seed, d, p_extra", CASES)
def test_exact_covariances_give_the_exact_model(seed, d, p_extra, whiten):
    model = random_model(100 + seed, d, d + p_extra)
    fit = fit_exact(model, whiten=whiten)
    factor = scaling(model, fit)  # every latent is one true latent, rescaled
    assert np.all(np.abs(factor) > 1e-6)
    np.testing.assert_array_equal(fit.graph().adjacency, true_graph(model))
    assert list(fit.ancestors) == true_ancestors(model)
    np.testing.assert_array_equal(fit.ancestral_graph().adjacency.sum(), sum(len(a) for a in true_ancestors(model)))
    # weights: z_est_i = D_i z_t(i), so W_est[j, i] = D_i / D_j * W[t(i), t(j)]
    t = model["targets"]
    expected = (factor[None, :] / factor[:, None]) * model["W"][np.ix_(t, t)].T
    np.testing.assert_allclose(fit.weights, expected, atol=1e-8)
    np.testing.assert_allclose(fit.noise_scales, np.abs(factor) / model["s"][t], rtol=1e-8)
    assert np.all(fit.rank_residuals < 1e-20)


def test_a_faint_ancestor_is_kept_on_exact_input():
    """In this model dropping a true ancestor from the projection leaves a residual share of about 5e-17."""
    model = random_model(1003, 5, 5)
    fit = fit_exact(model)
    assert list(fit.ancestors) == true_ancestors(model)
    np.testing.assert_array_equal(fit.graph().adjacency, true_graph(model))


def test_the_residual_share_resolves_what_one_minus_the_score_cannot():
    share = sys.modules["latentscm.discovery.linear_causal_disentanglement"]._residual_share
    assert share(np.diag([1.0, 1e-9, 0.0])) == pytest.approx(1e-18, rel=1e-12, abs=0)  # 1 - score rounds this to 0
    assert share(np.diag([2.0, 0.0])) == 0.0
    assert share(np.zeros((2, 2))) == 1.0


def test_order_is_topological_and_scales_are_as_documented():
    model = random_model(7, 5, 8)
    fit = fit_exact(model)
    place = {k: i for i, k in enumerate(fit.order)}
    for parent, child in zip(*np.nonzero(fit.graph().adjacency)):
        assert place[parent] < place[child]
    # "variance": unit observational variance, largest loading positive
    variance = np.einsum("ip,pq,iq->i", fit.unmixing, model["covariances"][0], fit.unmixing)
    np.testing.assert_allclose(variance, 1.0, rtol=1e-10)
    largest = fit.unmixing[np.arange(5), np.abs(fit.unmixing).argmax(1)]
    assert np.all(largest > 0)
    loading = fit_exact(model, scale="max-loading")
    np.testing.assert_allclose(np.abs(loading.unmixing).max(1), 1.0)
    np.testing.assert_allclose(loading.unmixing.max(1), 1.0)
    scaling(model, loading)
    np.testing.assert_array_equal(loading.graph().adjacency, fit.graph().adjacency)


def test_encode_decode_and_exact_counterfactuals():
    model = random_model(3, 4, 6)
    fit = fit_exact(model, node_names=["a", "b", "c", "d"])
    rng = np.random.default_rng(0)
    d = 4
    noise = rng.normal(size=(50, d)) / model["s"]
    solve = np.linalg.inv(np.eye(d) - model["W"])
    z = noise @ solve.T  # (I - W) z = noise
    x = model["mean"] + z @ model["G"].T
    factor = scaling(model, fit)
    t = model["targets"]
    np.testing.assert_allclose(fit.encode(x), z[:, t] * factor, atol=1e-9)
    np.testing.assert_allclose(fit.decode(fit.encode(x)), x, atol=1e-9)
    # do(latent of context 2 = 0.7 on its fitted scale), against the true SCM with the same noise
    target = int(t[2])
    value = 0.7
    truth = np.zeros_like(z)
    for i in reversed(range(d)):  # parents have larger indices
        truth[:, i] = value / factor[2] if i == target else truth @ model["W"][i] + noise[:, i]
    expected = model["mean"] + truth @ model["G"].T
    np.testing.assert_allclose(fit.counterfactual(x, {"c": value}), expected, atol=1e-9)
    # what x holds outside the latent subspace is kept
    offset = np.linalg.svd(model["G"].T)[2][-1]  # orthogonal to the columns of G
    shifted = fit.counterfactual(x + offset, {"c": value})
    np.testing.assert_allclose(shifted, expected + offset, atol=1e-9)
    # an intervention that sets every latent to its own value changes nothing
    codes = fit.encode(x[:1])[0]
    same = fit.counterfactual(x[:1], dict(zip(fit.nodes, codes)))
    np.testing.assert_allclose(same, x[:1], atol=1e-9)


def sample_contexts(model: dict, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    d = model["W"].shape[0]
    out = []
    for root in [model["B"], *model["roots"]]:
        eps = rng.normal(size=(n, d))
        z = np.linalg.solve(root, eps.T).T  # B z = eps
        out.append(model["mean"] + z @ model["G"].T)
    return out


def mixing_error(model: dict, fit: LinearCausalDisentanglement) -> float:
    """Largest off-target weight of each estimated latent on the true ones, relative to its on-target weight."""
    m = np.abs(fit.unmixing @ model["G"])
    d = m.shape[0]
    on = m[np.arange(d), model["targets"]]
    m[np.arange(d), model["targets"]] = 0.0
    return float((m.max(1) / on).max())


def test_samples_converge_to_the_exact_model():
    model = random_model(11, 4, 6, density=0.6)
    errors = []
    for n, seed in ((2000, 1), (200_000, 2)):
        fit = linear_causal_disentanglement(*(lambda c: (c[0], c[1:]))(sample_contexts(model, n, seed)))
        errors.append(mixing_error(model, fit))
    assert errors[1] < 0.02 < errors[0]
    ancestral = fit.ancestral_graph().adjacency
    np.testing.assert_array_equal((ancestral @ ancestral > 0) & (ancestral == 0), False)  # transitive
    np.testing.assert_array_equal(fit.graph().adjacency, true_graph(model))
    assert fit.info["samples"] == [200_000] * 5
    np.testing.assert_allclose(fit.mean, model["mean"], atol=0.02)


def test_the_ancestor_relation_is_transitive_on_small_samples():
    """A rank test can miss a distant ancestor on few samples; the fit keeps the ancestors of every ancestor."""
    for seed in range(20):
        model = random_model(300 + seed, 5, 5)
        contexts = sample_contexts(model, 1000, seed)
        fit = linear_causal_disentanglement(contexts[0], contexts[1:])
        ancestral = fit.ancestral_graph().adjacency
        assert not np.any((ancestral @ ancestral > 0) & (ancestral == 0)), seed


def test_soft_interventions_give_latents_that_mix_a_target_with_its_ancestors():
    """Outside the theorem: with soft interventions (parents kept) the fit still runs, and the latent of a context
    whose target has ancestors is not that target alone; sources stay identified."""
    model = random_model(5, 4, 4, density=1.0, soft=True)
    fit = fit_exact(model, rank_tolerance=1e-12)
    m = np.abs(fit.unmixing @ model["G"])  # (est latent, true latent)
    on = m[np.arange(4), model["targets"]]
    has_parents = np.abs(model["W"][model["targets"]]).sum(1) > 0
    off = m.copy()
    off[np.arange(4), model["targets"]] = 0.0
    ratio = off.max(1) / on
    assert np.all(ratio[has_parents] > 0.05)
    assert np.all(ratio[~has_parents] < 1e-8)
    for k, found in enumerate(true_ancestors(model)):  # ... and with nothing but its ancestors
        outside = np.setdiff1d(np.arange(4), [model["targets"][k], *model["targets"][sorted(found)]])
        assert np.all(m[k, outside] < 1e-8 * on[k])


def test_a_repeated_target_is_refused():
    model = random_model(2, 3, 3)
    covariances = model["covariances"]
    with pytest.raises(ValueError, match="same latent"):
        linear_causal_disentanglement_from_covariances(covariances[0], [covariances[1], covariances[1],
                                                                        covariances[2]])


@pytest.mark.parametrize("call, message", [
    (lambda o, i: linear_causal_disentanglement(o[:, :2], i), "columns"),
    (lambda o, i: linear_causal_disentanglement(o, [i[0][:, :3], *i[1:]]), "interventional\\[0\\]"),
    (lambda o, i: linear_causal_disentanglement(o[:4], i), "more rows than columns"),
    (lambda o, i: linear_causal_disentanglement(o, []), "empty"),
    (lambda o, i: linear_causal_disentanglement(o, i[0]), "interventional"),
    (lambda o, i: linear_causal_disentanglement(o, i, rank_test="share", rank_tolerance=1.0), "rank_tolerance"),
    (lambda o, i: linear_causal_disentanglement(o, i, rank_tolerance=0.0), "rank_tolerance"),
    (lambda o, i: linear_causal_disentanglement(o, i, rank_test="exact"), "rank_test"),
    (lambda o, i: linear_causal_disentanglement(o, i, scale="unit"), "scale"),
    (lambda o, i: linear_causal_disentanglement(o, i, edge_threshold=-1), "edge_threshold"),
    (lambda o, i: linear_causal_disentanglement(o, i, whiten="yes"), "whiten"),
    (lambda o, i: linear_causal_disentanglement(o, i, node_names=["a", "b"]), "node_names"),
    (lambda o, i: linear_causal_disentanglement(np.where(np.arange(4) == 0, np.nan, o), i), "observational"),
    (lambda o, i: linear_causal_disentanglement(o, [i[0], i[1], np.repeat(i[2][:, :1], 4, axis=1)]), "singular"),
])
def test_bad_input_is_named(call, message):
    model = random_model(4, 3, 4)
    contexts = sample_contexts(model, 200, 0)
    with pytest.raises((ValueError, TypeError), match=message):
        call(contexts[0], contexts[1:])


def test_bad_use_of_a_fit_is_named():
    model = random_model(4, 3, 4)
    fit = fit_exact(model)
    x = model["mean"][None]
    with pytest.raises(ValueError, match="not a latent"):
        fit.counterfactual(x, {"w": 1.0})
    with pytest.raises(ValueError, match="non-empty mapping"):
        fit.counterfactual(x, {})
    with pytest.raises(ValueError, match="columns"):
        fit.encode(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="latents"):
        fit.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="threshold"):
        fit.graph(threshold=-0.1)
    with pytest.raises(ValueError, match="not symmetric"):
        asymmetric = model["covariances"][0].copy()
        asymmetric[0, 1] += 1.0
        linear_causal_disentanglement_from_covariances(asymmetric, model["covariances"][1:])
    with pytest.raises(ValueError, match="mean"):
        linear_causal_disentanglement_from_covariances(model["covariances"][0], model["covariances"][1:],
                                                       mean=np.zeros(3))


def test_graph_export_names_the_latents():
    model = random_model(9, 3, 3, density=1.0)
    fit = fit_exact(model, node_names=["light", "angle", "shadow"])
    graph = fit.graph()
    assert graph.nodes == ("light", "angle", "shadow")
    assert graph.info["method"] == "linear_causal_disentanglement"
    assert len(graph.directed_edges) == 3
    assert fit.graph(threshold=1e9).directed_edges == []


def test_on_a_world_against_its_exact_counterfactuals():
    """End to end on a procedural world: three latents in a linear SCM (bounded noise, so nothing is clipped), a
    linear mixing before the world's sigmoid (``mixing_layers=1``; ``logit`` undoes it), and one regime per latent
    that cuts it from its parents with a smaller noise. The fit finds the graph and the latents, and its
    counterfactual images match ``world.counterfactual``."""
    from latentscm.scm.mechanisms import AdditiveNoise, Root
    from latentscm.scm.noise import Uniform
    from latentscm.worlds import make
    from latentscm.worlds.regimes import OBSERVATIONAL, Regime

    def no_parents(parents):
        return np.zeros(len(parents))

    world = make("nonlinear-ica", latents=3, mixing_layers=1, graph="z0 -> z1; z1 -> z2; z0 -> z2",
                 mechanisms={"z0": Root(Uniform(-0.3, 0.3)),
                             "z1": AdditiveNoise(lambda p: 0.8 * p[:, 0], Uniform(-0.3, 0.3)),
                             "z2": AdditiveNoise(lambda p: 0.5 * p[:, 0] - 0.6 * p[:, 1], Uniform(-0.3, 0.3))})
    regimes = [OBSERVATIONAL, Regime("cut z0", mechanisms={"z0": Root(Uniform(-0.1, 0.1))}),
               Regime("cut z1", mechanisms={"z1": AdditiveNoise(no_parents, Uniform(-0.1, 0.1))}),
               Regime("cut z2", mechanisms={"z2": AdditiveNoise(no_parents, Uniform(-0.1, 0.1))})]
    batches = [world.sample(20_000, seed=i, regime=r) for i, r in enumerate(regimes)]

    def logit(images):
        x = images.reshape(len(images), -1).astype(np.float64)
        return np.log(x) - np.log1p(-x)

    data = [logit(b.images) for b in batches]
    fit = linear_causal_disentanglement(data[0], data[1:], node_names=world.factor_names)
    assert sorted(fit.graph().directed_edges) == [("z0", "z1"), ("z0", "z2"), ("z1", "z2")]
    observed = batches[0]
    codes = fit.encode(data[0])
    correlation = np.corrcoef(codes.T, observed.factors.T)[:3, 3:]
    assert np.all(np.abs(np.diag(correlation)) > 0.999)
    slope, intercept = np.polyfit(observed.factors[:, 1], codes[:, 1], 1)  # the fitted scale of z1
    truth = world.counterfactual(observed, {"z1": 0.2}).images.reshape(20_000, -1)
    model = 1.0 / (1.0 + np.exp(-fit.counterfactual(data[0], {"z1": slope * 0.2 + intercept})))
    unchanged = observed.images.reshape(20_000, -1)
    assert np.abs(model - truth).mean() < 0.01 < 0.1 < np.abs(unchanged - truth).mean()


def test_by_environment_groups_rows_and_names_latents_by_label():
    model = random_model(6, 3, 4)
    contexts = sample_contexts(model, 3000, 0)
    table = np.concatenate(contexts)
    labels = np.repeat([2.0, 0.0, 1.0, 5.0], 3000)  # 2 is observational; numbers name latents as "0", "1", "5"
    fit = linear_causal_disentanglement_by_environment(table, labels, observational=2)
    direct = linear_causal_disentanglement(contexts[0], [contexts[1], contexts[2], contexts[3]])
    assert fit.nodes == ("0", "1", "5")
    np.testing.assert_allclose(fit.unmixing, direct.unmixing)
    with pytest.raises(ValueError, match="one label per row"):
        linear_causal_disentanglement_by_environment(table, labels[:-1], observational=2)
    with pytest.raises(ValueError, match=r"labels no row; the environments are \['0', '1', '2', '5'\]"):
        linear_causal_disentanglement_by_environment(table, labels)


def widening_contexts(n: int, seed: int) -> list[np.ndarray]:
    """z0 -> z1 -> z2, z0 -> z2 with noise U[-0.2, 0.2] on the effects (z0 ~ U[-0.5, 0.5]), mixed by a random 3 x 3
    matrix; each intervention sets its target to U[-1, 1], far wider than the noise it replaces."""
    rng = np.random.default_rng(seed)
    mixing = rng.uniform(-1.0, 1.0, (3, 3))
    out = []
    for target in (None, 0, 1, 2):
        z = np.empty((n, 3))
        z[:, 0] = rng.uniform(-1.0, 1.0, n) if target == 0 else rng.uniform(-0.5, 0.5, n)
        z[:, 1] = rng.uniform(-1.0, 1.0, n) if target == 1 else 0.8 * z[:, 0] + rng.uniform(-0.2, 0.2, n)
        z[:, 2] = (rng.uniform(-1.0, 1.0, n) if target == 2 else
                   0.5 * z[:, 0] - 0.4 * z[:, 1] + rng.uniform(-0.2, 0.2, n))
        out.append(z @ mixing.T)
    return out


def test_the_noise_test_and_whitening_resolve_interventions_that_widen_their_targets():
    """Measured, not a guarantee: on this low-noise chain every precision difference is nearly rank one. With 300,000
    rows per context the paper's share test finds the graph in 1 of 30 draws, the share test whitened in 29, the noise
    test unwhitened in 28 and the default (noise test, whitened) in 30 (at 100,000: 0, 17, 19 and 18; at 20,000: 0,
    10, 8 and 11). Here the first 10 draws: 0, 9 and 10."""
    truth = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    options = {"share": {"rank_test": "share"}, "whitened": {"rank_test": "share", "whiten": True}, "noise": {}}
    found = dict.fromkeys(options, 0)
    for seed in range(10):
        contexts = widening_contexts(300_000, seed)
        for name, settings in options.items():
            fit = linear_causal_disentanglement(contexts[0], contexts[1:], **settings)
            found[name] += int(np.array_equal(fit.graph().adjacency, truth))
    assert found == {"share": 0, "whitened": 9, "noise": 10}


def test_the_noise_ratio_is_about_one_for_a_rank_one_difference_and_large_otherwise():
    """The noise test's statistic on sample precisions: a source's projected difference is rank one in the population,
    so its leftover singular energy is sampling noise (a ratio of order 1); a context whose target has a parent left
    unprojected is rank two (a ratio that grows with n)."""
    module = sys.modules["latentscm.discovery.linear_causal_disentanglement"]
    model = random_model(21, 3, 3, density=1.0)  # a complete DAG: latent 2 is the source, 0 has two parents
    source = int(np.nonzero(model["targets"] == 2)[0][0])
    sink = int(np.nonzero(model["targets"] == 0)[0][0])
    ratios = {}
    for n in (2_000, 200_000):
        contexts = sample_contexts(model, n, 0)
        precisions = [np.linalg.inv(np.cov(c, rowvar=False, bias=True)) for c in contexts]
        eye = np.eye(3)
        for k in (source, sink):
            matrix = precisions[k + 1] - precisions[0]
            ratios[n, k] = module._noise_ratio(matrix, eye, precisions[0], precisions[k + 1], n, n)
    assert ratios[2_000, source] < 3 and ratios[200_000, source] < 3
    assert ratios[200_000, sink] > 100 * ratios[2_000, source]
    assert ratios[200_000, sink] > 10 * ratios[2_000, sink]


def test_covariances_with_sample_sizes_use_the_noise_test():
    model = random_model(4, 3, 4)
    contexts = sample_contexts(model, 5000, 0)
    covariances = [np.cov(c, rowvar=False, bias=True) for c in contexts]
    fit = linear_causal_disentanglement_from_covariances(covariances[0], covariances[1:], samples=[5000] * 4,
                                                         mean=contexts[0].mean(0), edge_threshold=0.05)
    direct = linear_causal_disentanglement(contexts[0], contexts[1:])
    assert fit.info["rank_test"] == "noise" and fit.info["samples"] == [5000] * 4
    np.testing.assert_allclose(fit.unmixing, direct.unmixing, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="give 'samples'"):
        linear_causal_disentanglement_from_covariances(covariances[0], covariances[1:], rank_test="noise")
    with pytest.raises(ValueError, match="3 counts for 4 covariances"):
        linear_causal_disentanglement_from_covariances(covariances[0], covariances[1:], samples=[5000] * 3)


def test_the_default_fit_is_free_of_an_invertible_change_of_the_observed_coordinates():
    """Whitened (the default with the noise test), the fit of ``T x`` is the fit of ``x`` seen through ``T``: the same
    order and graph, and ``H_T = H T^{-1}`` up to each latent's sign; the paper's share test, unwhitened, is not."""
    rng = np.random.default_rng(0)
    changed_share = 0
    for seed in range(8):
        model = random_model(40 + seed, 4, 4)
        contexts = sample_contexts(model, 3000, seed)
        u, _, vt = np.linalg.svd(rng.normal(size=(4, 4)))
        change = u @ np.diag(np.logspace(0, 2, 4)) @ vt  # condition number 100
        moved = [c @ change.T for c in contexts]
        fit = linear_causal_disentanglement(contexts[0], contexts[1:])
        seen = linear_causal_disentanglement(moved[0], moved[1:])
        assert seen.order == fit.order
        np.testing.assert_array_equal(seen.graph().adjacency, fit.graph().adjacency)
        pulled = seen.unmixing @ change  # each latent's sign follows its largest loading, which T moves
        signs = np.sign(np.sum(pulled * fit.unmixing, axis=1))
        np.testing.assert_allclose(pulled * signs[:, None], fit.unmixing, rtol=1e-6, atol=1e-8)
        share = [linear_causal_disentanglement(c[0], c[1:], rank_test="share") for c in (contexts, moved)]
        changed_share += int(share[0].order != share[1].order
                             or not np.array_equal(share[0].graph().adjacency, share[1].graph().adjacency))
    assert changed_share > 0


def test_a_column_in_very_different_units_is_not_mistaken_for_a_singular_context():
    """The singularity check is made on the correlation scale: a column a million times larger (variances 1e12
    apart) is the same information, and the default fit gives the same graph."""
    model = random_model(3, 3, 4)
    contexts = sample_contexts(model, 4000, 0)
    unit = np.array([1.0, 1.0, 1.0, 1e6])
    fit = linear_causal_disentanglement(contexts[0], contexts[1:])
    scaled = linear_causal_disentanglement(contexts[0] * unit, [c * unit for c in contexts[1:]])
    np.testing.assert_array_equal(scaled.graph().adjacency, fit.graph().adjacency)
    np.testing.assert_array_equal(fit.graph().adjacency, true_graph(model))


def test_a_repeated_target_in_samples_is_refused_by_the_noise_test():
    """Two contexts on the same latent (and so one latent never intervened on): the second adds nothing off the
    directions already found beyond sampling noise. Refused in 17 of 20 such draws (a script; the rest probably hide
    behind the missing latent, whose direction no context resolved). This draw is one of the refused."""
    model = random_model(0, 4, 5)
    contexts = sample_contexts(model, 5000, 0)
    again = sample_contexts(model, 5000, 100)[1]  # context 0's intervention, drawn again
    with pytest.raises(ValueError, match="changes nothing beyond the contexts resolved before it"):
        linear_causal_disentanglement(contexts[0], [contexts[1], again, contexts[2], contexts[3]])
    linear_causal_disentanglement(contexts[0], contexts[1:])  # the proper contexts fit


def test_a_saved_fit_loads_back_exactly_and_damage_is_detected(tmp_path):
    model = random_model(5, 3, 4)
    contexts = sample_contexts(model, 3000, 0)
    fit = linear_causal_disentanglement(contexts[0], contexts[1:], node_names=["a", "b", "c"])
    path = tmp_path / "fit.json"
    fit.save(path)
    back = LinearCausalDisentanglement.load(path)
    assert back.nodes == fit.nodes and back.order == fit.order and back.ancestors == fit.ancestors
    for name in ("unmixing", "mixing", "mean", "weights", "noise_scales", "precision_roots", "rank_residuals"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fit, name))
    np.testing.assert_array_equal(back.counterfactual(contexts[0][:5], {"b": 0.3}),
                                  fit.counterfactual(contexts[0][:5], {"b": 0.3}))
    assert back.info == json.loads(json.dumps(fit.info))
    text = path.read_text()
    edited = text.replace(repr(float(fit.weights[0, 1])), repr(float(fit.weights[0, 1]) + 0.5), 1)
    assert edited != text
    path.write_text(edited)
    with pytest.raises(ValueError, match="does not match its sha256"):
        LinearCausalDisentanglement.load(path)
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a saved linear causal disentanglement"):
        LinearCausalDisentanglement.load(path)
    payload = fit.to_dict()
    del payload["weights"]
    with pytest.raises(ValueError, match=r"lacks \['weights'\]"):
        LinearCausalDisentanglement.from_dict(payload)
    with pytest.raises(FileNotFoundError, match="No saved"):
        LinearCausalDisentanglement.load(tmp_path / "missing.json")


def test_fits_compare_by_identity_without_an_error():
    model = random_model(1, 3, 3)
    first, second = fit_exact(model), fit_exact(model)
    assert first == first and first != second  # dataclass equality over arrays would raise
    assert len({first, second}) == 2


def test_the_discovery_method_form_returns_the_latent_graph_with_the_model_in_info():
    from latentscm.discovery import linear_causal_disentanglement_graph
    from latentscm.discovery.codes import METHODS

    model = random_model(6, 3, 4)
    contexts = sample_contexts(model, 3000, 0)
    table = np.concatenate(contexts)
    labels = np.repeat(["observational", "a", "b", "c"], 3000)
    graph = METHODS["lcd"](table, labels, node_names=["p", "q", "r", "s"])
    fit = linear_causal_disentanglement_by_environment(table, labels)
    assert METHODS["lcd"] is linear_causal_disentanglement_graph
    assert graph == fit.graph() and graph.nodes == ("a", "b", "c")
    assert graph.info["observed"] == ["p", "q", "r", "s"]
    np.testing.assert_array_equal(graph.info["unmixing"], fit.unmixing)
    assert linear_causal_disentanglement_graph(table, labels).info["observed"] == ["x0", "x1", "x2", "x3"]
    with pytest.raises(ValueError, match="node_names"):
        linear_causal_disentanglement_graph(table, labels, node_names=["p", "q"])
