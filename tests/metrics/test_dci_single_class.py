"""DCI when a discrete factor's training split holds a single class (its rare class held out)."""

import numpy as np

from latentscm.metrics import importance_matrix


def _rare_class_data(n=20):
    rng = np.random.default_rng(0)
    factors = np.column_stack([rng.integers(0, 2, n), np.r_[np.zeros(n - 1), 1.0]])  # factor 1: one row of class 1
    return factors + 0.01 * rng.standard_normal(factors.shape), factors


def test_gbt_handles_a_single_training_class_like_the_forest():
    codes, factors = _rare_class_data()
    single_class_seeds = 0
    for seed in range(8):
        # gradient boosting refused to fit one class ("y contains 1 class"); it must score the constant prediction
        gbt = importance_matrix(codes, factors, estimator="gbt", discrete=True, seed=seed)
        forest = importance_matrix(codes, factors, estimator="forest", discrete=True, seed=seed)
        if np.all(forest["importance"][:, 1] == 0):  # the forest saw one class: nothing to split on
            single_class_seeds += 1
            assert np.all(gbt["importance"][:, 1] == 0)
            assert gbt["train_score"][1] == forest["train_score"][1] == 1.0
            assert gbt["test_score"][1] == forest["test_score"][1] < 1.0  # the rare row is held out, mispredicted
    assert single_class_seeds >= 1
