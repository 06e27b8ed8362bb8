"""Third review of the axioms pipeline (s23c): refused hyperparameters change nothing, fit checks its own."""

import pytest

from latentscm.axioms import AxiomModel

SMALL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "steps": 2, "batch_size": 4, "seed": 0}


@pytest.mark.parametrize("change", [{"steps": 0}, {"n_heads": 4, "d_model": 18}, {"lr": -1.0, "steps": 5}])
def test_refused_set_params_leaves_the_model_as_it_was(change):
    model = AxiomModel(**SMALL)
    before = model.get_params()
    with pytest.raises(ValueError):
        model.set_params(**change)
    assert model.get_params() == before


def test_fit_refuses_hyperparameters_assigned_as_attributes():
    model = AxiomModel(**SMALL)
    model.steps = 0  # would train nothing and report a fitted model
    with pytest.raises(ValueError, match="'steps'"):
        model.fit()


@pytest.mark.parametrize("bad", [(15, 7), (7.5, 15), ("7", "15"), 7])
def test_summarise_checks_its_long_lengths(bad):
    from latentscm.axioms.evaluation import summarise

    scores = {"length_3": 1.0, "length_8": 0.5, "length_12": 0.25, "dsep_short": 0.75}
    with pytest.raises((TypeError, ValueError), match="long_lengths"):
        summarise(scores, long_lengths=bad)
    assert summarise(scores) == {"length_mean_short": 1.0, "length_mean_long": 0.375, "dsep_mean": 0.75}
