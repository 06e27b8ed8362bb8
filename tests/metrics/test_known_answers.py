"""Metrics on codes whose exact answer is computable by hand.

Two independent fair binary factors f1, f2 and the codes z = (f1 + f2, f2): z1 carries 1/2 bit about each
factor (H(z1) = 1.5 bits, H(z1 | f) = 1 bit) and z2 carries 1 bit about f2 and nothing about f1. Hence
MI (bits) = [[1/2, 1/2], [0, 1]] and
* MIG = mean(1/2 - 0, 1 - 1/2) / 1 bit = 1/2;
* modularity: z1 deviates fully from its template (δ = 1), z2 not at all: 1/2;
* InfoM: z1's NMI column (1/2, 1/2) has sparsity 0, z2's is 1: 1/2; InfoC: f1 (1/2, 0) scores 1,
  f2 (1/2, 1) scores (2/3 - 1/2) / (1/2) = 1/3: 2/3;
* SAP: z1 predicts either factor with balanced accuracy 3/4 (chance-adjusted 1/2), z2 predicts f2
  perfectly and f1 at chance: gaps 1/2 and 1/2.
Duplicating a perfect code of f1 leaves f1 no gap: MIG = SAP = 1/2.
"""

import numpy as np
import pytest

from latentscm.metrics import infomec, mig, modularity_explicitness, mutual_information, sap

N = 4000


@pytest.fixture(scope="module")
def binary_factors():
    rng = np.random.default_rng(0)
    return rng.integers(0, 2, (N, 2)).astype(float)


def test_mutual_information_of_a_sum_code(binary_factors):
    codes = np.column_stack([binary_factors.sum(axis=1), binary_factors[:, 1]])
    bits = mutual_information(codes, binary_factors) / np.log(2)
    assert bits == pytest.approx(np.array([[0.5, 0.5], [0.0, 1.0]]), abs=0.03)


def test_scores_of_a_sum_code(binary_factors):
    codes = np.column_stack([binary_factors.sum(axis=1), binary_factors[:, 1]])
    assert mig(codes, binary_factors) == pytest.approx(0.5, abs=0.01)
    assert mig(codes, binary_factors, estimator="knn") == pytest.approx(0.5, abs=0.03)
    assert sap(codes, binary_factors) == pytest.approx(0.5, abs=0.03)
    assert modularity_explicitness(codes, binary_factors)["modularity_explicitness.modularity"] == \
        pytest.approx(0.5, abs=0.01)
    info = infomec(codes, binary_factors)
    assert info["infomec.infom"] == pytest.approx(0.5, abs=0.03)
    assert info["infomec.infoc"] == pytest.approx(2 / 3, abs=0.03)


def test_duplicated_code_leaves_its_factor_no_gap(binary_factors):
    codes = np.column_stack([binary_factors[:, 0], -2 * binary_factors[:, 0] + 1, binary_factors[:, 1]])
    assert mig(codes, binary_factors) == pytest.approx(0.5, abs=0.01)
    assert sap(codes, binary_factors) == pytest.approx(0.5, abs=0.03)
