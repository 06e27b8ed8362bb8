import numpy as np
import pytest

import latentscm.metrics as metrics
from latentscm.metrics import METRICS, SUITES, _logistic, compute_metric, compute_metrics


def test_disentanglement_suite_keys_and_values(factors, perfect):
    result = compute_metrics(perfect, factors)
    assert set(result) == {
        "mig", "sap", "mcc", "dci.disentanglement", "dci.completeness", "dci.informativeness",
        "dci.informativeness_train", "modularity_explicitness.modularity",
        "modularity_explicitness.explicitness", "infomec.infom", "infomec.infoe",
        "infomec.infoc", "infomec.n_active"}
    assert all(isinstance(value, float) for value in result.values())
    assert result["mig"] == pytest.approx(metrics.mig(perfect, factors))
    assert result["dci.disentanglement"] == pytest.approx(
        metrics.dci(perfect, factors)["dci.disentanglement"])


def test_compute_metric_passes_seed_and_discrete(factors, perfect):
    assert compute_metric("mcc_spearman", perfect, factors) == {
        "mcc_spearman": metrics.mcc(perfect, factors, method="spearman")}
    assert compute_metric("sap", perfect, factors, seed=5, discrete=True) == {
        "sap": metrics.sap(perfect, factors, seed=5, discrete=True)}
    with pytest.raises(ValueError, match="Unknown metric 'beta'. Valid names: .*mig"):
        compute_metric("beta", perfect, factors)
    with pytest.raises(ValueError, match="'metrics'"):
        compute_metrics(perfect, factors, metrics="everything")


def test_explicitness_and_infoe_share_classifier_fits(factors, rotated):
    _logistic._cache.clear()
    metrics.modularity_explicitness(rotated, factors, seed=7)
    fitted = len(_logistic._cache)
    metrics.infomec(rotated, factors, seed=7)  # same split, all latents active: cache hits
    assert fitted == factors.shape[1] and len(_logistic._cache) == fitted


def test_two_variants_of_a_metric_keep_their_own_keys(factors, perfect):
    both = compute_metrics(perfect, factors, metrics=["dci", "dci_gbt", "dci"])
    forest, boosted = compute_metric("dci", perfect, factors), compute_metric("dci_gbt", perfect, factors)
    assert set(forest) == {f"dci.{part}" for part in ("disentanglement", "completeness", "informativeness",
                                                       "informativeness_train")}
    assert set(boosted) == {key.replace("dci.", "dci_gbt.") for key in forest}
    assert both == {**forest, **boosted}


def test_registry_is_complete():
    for names in SUITES.values():
        assert set(names) <= set(METRICS)
    assert set(metrics.__all__) <= set(dir(metrics))
    codes = np.random.default_rng(0).standard_normal((50, 2))
    assert compute_metrics(codes, codes, metrics=["mcc"]) == {"mcc": 1.0}


def test_constant_codes_give_defined_scores_and_a_warning():
    import warnings

    from latentscm.metrics import compute_metrics

    rng = np.random.default_rng(0)
    factors = rng.integers(0, 5, size=(300, 3)).astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = compute_metrics(np.zeros((300, 4)), factors)
    assert all(np.isfinite(v) for v in scores.values())
    assert scores["mig"] == 0.0 and scores["dci.disentanglement"] == 0.0
    assert any("constant" in str(w.message) for w in caught)


@pytest.mark.parametrize("metrics", [[], ()])
def test_compute_metrics_refuses_an_empty_selection(factors, perfect, metrics):
    with pytest.raises(ValueError, match="'metrics' parameter of compute_metrics"):
        compute_metrics(perfect, factors, metrics=metrics)
