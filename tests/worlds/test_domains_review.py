"""Review of kind="shift" domains (grid rounding, clipping, distinct domains) and of Regime.check's soft
interventions."""

import numpy as np
import pytest

import latentscm.worlds as W
from latentscm.interventions import Scale, Shift
from latentscm.worlds.domains import DomainShift, sample_domain
from latentscm.worlds.regimes import Regime


def _world():
    return W.make("hue-sprites", size=16)


def test_a_shifted_grid_factor_differs_from_domain_0():
    """Item 1: seed 0, strength 0.5 draws a shift of posX of 0.009 (grid step 0.143), which snapped to
    no change at all: domain 1 equalled domain 0 in the factor it claims to shift."""
    world = _world().with_domains(DomainShift(2, ("posX",), kind="shift", strength=0.5, seed=0))
    j = list(world.factor_names).index("posX")
    zero = sample_domain(world, 200, seed=1, domain=0).factors[:, j]
    one = sample_domain(world, 200, seed=1, domain=1).factors[:, j]
    step = 1.0 / 7.0
    inside = zero < 1.0 - 1e-9  # a value at the edge stays there (clipped)
    np.testing.assert_allclose(one[inside], zero[inside] + step, atol=1e-9)
    np.testing.assert_allclose(one[~inside], zero[~inside])


def test_domains_with_the_same_rounded_grid_shift_are_moved_apart():
    """Item 2 (grid): seed 0, strength 0.5 draws posX shifts 0.009, 0.030, 0.062, all one grid step (1/7) once
    rounded, so three domains equal in posX. The later ones take the nearest unused step counts: 1, 2, 3 steps. A
    grid of 8 values allows 14 distinct shifts (+-1..7 steps); 15 shifted domains are refused."""
    world = _world().with_domains(DomainShift(4, ("posX",), kind="shift", strength=0.5, seed=0))
    deltas = [r.interventions["posX"].delta for r in world._domain_regimes[1:]]
    np.testing.assert_allclose(deltas, [1 / 7, 2 / 7, 3 / 7])
    j = list(world.factor_names).index("posX")
    samples = [sample_domain(world, 300, seed=1, domain=d).factors[:, j] for d in range(4)]
    assert len({round(float(x.mean()), 9) for x in samples}) == 4  # four different distributions of posX
    many = _world().with_domains(DomainShift(15, ("posX",), kind="shift", strength=0.5, seed=0))
    steps = sorted(round(r.interventions["posX"].delta * 7) for r in many._domain_regimes[1:])
    assert steps == [-7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7]
    with pytest.raises(ValueError, match=r"cannot give 15 shifted domains distinct shifts of factor 'posX': its grid "
                                         r"of 8 values allows 14"):
        _world().with_domains(DomainShift(16, ("posX",), kind="shift", strength=0.5, seed=0))


def test_two_domains_shifted_past_the_same_edge_are_refused():
    """Item 2 (clipping): a shift beyond the range's width moves every value to one edge, so two such
    shifts of one sign give identical domains."""
    world = _world()
    with pytest.raises(ValueError, match=r"shift factor 'hue' by the same amount 0\.8"):
        for seed in range(20):  # strength 40: |shift| ~ 8 widths, so two of five domains share a sign
            world.with_domains(DomainShift(5, ("hue",), kind="shift", strength=40.0, seed=seed))
    multi = world.with_domains(DomainShift(2, ("hue",), kind="shift", strength=40.0, seed=0))
    assert abs(multi._domain_regimes[1].interventions["hue"].delta) == pytest.approx(0.8)


def test_a_domain_shift_of_a_categorical_factor_is_refused():
    with pytest.raises(ValueError, match=r"cannot shift factor 'shape': it is categorical"):
        _world().with_domains(DomainShift(2, ("shape",), kind="shift"))
    _world().with_domains(DomainShift(2, ("shape",), kind="mechanism"))  # a new mechanism is fine


@pytest.mark.parametrize(("item", "message"), [
    (("shape", Shift(1.0)), r"shift 1\.0 of factor 'shape' in regime 'r': 'shape' is categorical"),
    (("shape", Scale(2.0)), r"scale 2\.0 of factor 'shape' in regime 'r': 'shape' is categorical"),
    (("hue", Shift(-0.9)), r"shift -0\.9 of factor 'hue' in regime 'r' exceeds the width 0\.8"),
    (("hue", Scale(0.0)), r"scale 0 of factor 'hue' in regime 'r' makes the factor one constant"),
])
def test_regime_check_refuses_soft_interventions_the_factor_does_not_allow(item, message):
    """Item 4: Regime.check range-checked Do only."""
    world = _world()
    regime = Regime("r", dict([item]))
    with pytest.raises(ValueError, match=message):
        regime.check(world)
    with pytest.raises(ValueError, match=message):
        world.sample(4, seed=0, regime=regime)


def test_regime_check_accepts_sensible_soft_interventions():
    world = _world()
    Regime("r", {"hue": Shift(0.1), "posX": Scale(0.5), "scale": Shift(-0.25)}).check(world)
    batch = world.sample(4, seed=0, regime=Regime("r", {"hue": Shift(0.1)}))
    assert batch.targets[:, list(world.factor_names).index("hue")].all()


def test_non_finite_soft_amounts_are_refused_when_built():
    for cls in (Shift, Scale):
        with pytest.raises(ValueError, match="must be finite"):
            cls(float("nan"))
