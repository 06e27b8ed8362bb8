"""walk_and_mix names its own 'anomaly' argument when it is malformed (not the random walk's node_scores or
normalise_scores' scores, which the caller never passed)."""

import numpy as np
import pytest

from latentscm.rca import walk_and_mix

ADJACENCY = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])


def test_wrong_length_anomaly_is_named():
    with pytest.raises(ValueError, match=r"'anomaly' argument of walk_and_mix must have 3 values.*Got 2"):
        walk_and_mix(ADJACENCY, [1.0, 2.0], [1.0, 2.0, 3.0])


def test_non_finite_anomaly_is_named():
    with pytest.raises(ValueError, match=r"'anomaly' argument of walk_and_mix"):
        walk_and_mix(ADJACENCY, [1.0, np.nan, 2.0], [1.0, 2.0, 3.0])


def test_valid_anomaly_still_accepted_including_negative_scores():
    # min-max normalised inside, so a shift of the scores changes nothing
    scores, walk = walk_and_mix(ADJACENCY, [0.5, 1.0, 3.0], [0.5, 1.0, 3.0])
    shifted, walk_shifted = walk_and_mix(ADJACENCY, [-2.5, -2.0, 0.0], [0.5, 1.0, 3.0])
    np.testing.assert_allclose(scores, shifted)
    np.testing.assert_allclose(walk, walk_shifted)
