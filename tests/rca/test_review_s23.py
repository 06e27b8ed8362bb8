"""Regressions of the s23 review of latentscm.rca."""

import numpy as np
import pytest

from latentscm.rca import CoralRCA, SSACusumDetector, ZScoreDetector, detection_delay, nsigma_scores


def test_nsigma_refuses_a_column_constant_up_to_rounding():
    # np.std of 0.1 repeated is ~1e-17, not 0: the undefined z-score came out as ~1e6 and topped the ranking
    rng = np.random.default_rng(0)
    normal = np.column_stack([np.full(100, 0.1), rng.standard_normal(100)])
    with pytest.raises(ValueError, match=r"'normal' argument of nsigma_scores has constant columns \[0\]"):
        nsigma_scores(normal, normal[:3] + [1e-9, 0.0])


class _ScaleLimitedDetector(ZScoreDetector):
    """A real z-score detector that refuses references beyond a scale: it fails after the graph is fitted."""

    def _fit_reference(self, reference: np.ndarray) -> None:
        if np.abs(reference).max() > 50:
            raise ValueError("reference beyond the detector's scale")
        super()._fit_reference(reference)


def test_coral_fit_that_fails_leaves_no_half_fitted_state():
    rng = np.random.default_rng(0)
    normal, stream = rng.standard_normal((200, 3)), rng.standard_normal((60, 3))
    stream[20:, 1] += 8.0
    rca = CoralRCA(chunk=5, detector=_ScaleLimitedDetector(reference=100)).fit(normal)
    expected = rca.run(stream, trigger=20)
    with pytest.raises(ValueError, match="beyond the detector's scale"):
        rca.fit(rng.standard_normal((200, 3)) * 100)  # passes the up-front checks and the graph; the detector fails
    # the new graph used to be kept next to the old normal data (other scores) and an unfitted detector
    again = rca.run(stream, trigger=20)
    np.testing.assert_array_equal(again.scores, expected.scores)
    assert rca.run(stream).trigger is not None
    constant = normal.copy()
    constant[:, 2] = 1.0
    fresh = CoralRCA()
    with pytest.raises(ValueError, match="constant columns"):
        fresh.fit(constant)
    with pytest.raises(RuntimeError, match="CoralRCA is not fitted"):
        fresh.run(stream)


@pytest.mark.parametrize("detector", [ZScoreDetector(reference=100), SSACusumDetector(reference=100)])
def test_detectors_count_refits_and_skipped_refits(detector):
    rng = np.random.default_rng(0)
    normal, stream = rng.standard_normal((200, 2)), rng.standard_normal((600, 2))
    shifted = stream.copy()
    shifted[100:, 0] += 6.0
    detector.fit(normal).detect(shifted)
    assert (detector.n_refits_, detector.n_skipped_refits_) == (1, 0)
    stuck = stream.copy()
    stuck[100:, 0] = 5.0  # constant in the new state: nothing to refit on, the old reference stays
    alarms = detector.fit(normal).detect(stuck).alarms
    assert detector.n_refits_ == 0 and detector.n_skipped_refits_ == alarms.size - 1 >= 3


@pytest.mark.parametrize(("d", "rank"), [(1, 1), (2, 3), (3, 4), (4, 6), (18, 6)])
def test_ssa_default_rank_leaves_room_for_departures(d, rank):
    x = np.random.default_rng(0).standard_normal((200, d))
    assert SSACusumDetector().fit(x).rank_ == rank
    assert SSACusumDetector(rank=6).fit(x).rank_ == min(6, 3 * d - 1)  # an explicit rank keeps the L d - 1 cap


def test_ssa_default_detects_a_shift_of_one_of_two_columns():
    # with rank L d - 1 = 5 (the former default on two columns) 8 of these 20 shifts went unnoticed
    missed = 0
    for seed in range(20):
        x = np.random.default_rng(seed).standard_normal((400, 2))
        scale = x[:200].std(0)
        stream = x[200:].copy()
        stream[100:, 0] += 4.0 * scale[0]
        alarms = SSACusumDetector(refit=False).fit(x[:200]).detect(stream).alarms
        missed += detection_delay(alarms, 100) == float("inf")
    assert missed <= 2
