"""Regressions of the s22 review of latentscm.rca."""

import numpy as np
import pytest

from latentscm.rca import CoralRCA, IncrementalGraph, SSACusumDetector, walk_and_mix


def _shifted(seed: int, d: int):
    rng = np.random.default_rng(seed)
    normal, stream = rng.standard_normal((200, d)), rng.standard_normal((300, d))
    stream[150:] += 10.0
    return normal, stream


@pytest.mark.parametrize(("d", "window"), [(2, 3), (1, 3), (1, 1)])
def test_ssa_subspace_never_spans_the_whole_embedding(d, window):
    # rank >= L d made every departure rounding noise: a 10-sigma shift went unnoticed
    normal, stream = _shifted(2, d)
    detector = SSACusumDetector(window=window, rank=6).fit(normal)
    assert detector.basis_.shape[1] <= window * d - 1
    assert detector.departure_std_ > 1e-3  # not the 1e-12 floor of a departure that is identically zero
    assert detector.detect(stream).first_alarm in range(150, 160)


def test_coral_default_detector_triggers_on_two_columns():
    normal, stream = _shifted(2, 2)
    assert CoralRCA(chunk=5).fit(normal).run(stream).trigger in range(150, 160)


@pytest.mark.parametrize("mix", [0.0, 0.5, 1.0])
def test_walk_and_mix_checks_the_individual_scores(mix):
    with pytest.raises(ValueError, match="'individual' argument of walk_and_mix must have 3 values"):
        walk_and_mix(np.ones((3, 3)), [0.0, 1.0, 2.0], [5.0, 4.0, 3.0, 2.0, 1.0], mix=mix)
    with pytest.raises(ValueError, match="'individual' argument of walk_and_mix contains NaN"):
        walk_and_mix(np.ones((3, 3)), [0.0, 1.0, 2.0], [np.nan] * 3, mix=mix)


def test_partial_fit_warm_must_be_a_bool():
    graph = IncrementalGraph().fit(np.random.default_rng(0).standard_normal((40, 2)))
    with pytest.raises(TypeError, match="'warm' argument of IncrementalGraph.partial_fit must be a bool"):
        graph.partial_fit(np.zeros((3, 2)), warm="no")
