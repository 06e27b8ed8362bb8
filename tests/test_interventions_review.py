"""Review (s27): intervention semantics on a small linear world, checked against hand computation.

World: ``a ~ N(0, 1)``, ``b = 2 a + 1 + u_b`` (``u_b ~ N(0, 0.5^2)``), ``c ~ N(0, 1)`` (no edges to a, b).
"""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.interventions import Do, Scale, Shift, as_interventions, parse_interventions
from linear_world_support import Line


@pytest.fixture(scope="module")
def world():
    return Line()


def _parts(batch):
    a, b, c = (batch.factors[:, j] for j in range(3))
    return a, b, c, b - 2.0 * a - 1.0  # u_b by hand


def test_counterfactual_do_shift_scale_by_hand(world):
    batch = world.sample(500, seed=3)
    a, b, c, u = _parts(batch)
    assert abs(u.std() - 0.5) < 0.5 * 4 / np.sqrt(2 * 500)  # sd of a sample sd ~ sigma / sqrt(2n); 4 sigma
    for item, new_a in ((Do(0.7), np.full_like(a, 0.7)), (Shift(0.5), a + 0.5), (Scale(-2.0), -2.0 * a)):
        cf = world.counterfactual(batch, {"a": item})
        np.testing.assert_allclose(cf.factors[:, 0], new_a, atol=1e-12)
        np.testing.assert_allclose(cf.factors[:, 1], 2.0 * new_a + 1.0 + u, atol=1e-9)  # descendant, same u_b
        np.testing.assert_array_equal(cf.factors[:, 2], c)  # non-descendant bit for bit
    cf = world.counterfactual(batch, {"b": Do(3.0)})  # intervening on the child leaves its parent alone
    np.testing.assert_array_equal(cf.factors[:, 0], a)
    np.testing.assert_allclose(cf.factors[:, 1], 3.0)


def test_composition_of_interventions_by_hand(world):
    batch = world.sample(200, seed=4)
    a, b, c, u = _parts(batch)
    cf = world.counterfactual(batch, parse_interventions("a*=3, c+=-1.5"))
    np.testing.assert_allclose(cf.factors[:, 0], 3 * a, atol=1e-12)
    np.testing.assert_allclose(cf.factors[:, 1], 6 * a + 1 + u, atol=1e-9)
    np.testing.assert_allclose(cf.factors[:, 2], c - 1.5, atol=1e-12)
    hard_child = world.counterfactual(batch, {"a": Shift(1.0), "b": Do(-2.0)})  # do(b) cuts b from a
    np.testing.assert_allclose(hard_child.factors[:, 1], -2.0)
    np.testing.assert_allclose(hard_child.factors[:, 0], a + 1.0, atol=1e-12)


def test_interventional_distribution_moments(world):
    n = 4000
    batch = world.sample(n, seed=5, interventions={"a": Do(2.0)})
    _, b, c, _ = _parts(batch)
    # b | do(a=2) ~ N(5, 0.25); c ~ N(0, 1): means within 4 standard errors
    assert abs(b.mean() - 5.0) < 4 * 0.5 / np.sqrt(n)
    assert abs(c.mean()) < 4 / np.sqrt(n)
    shifted = world.sample(n, seed=5, interventions={"a": Shift(1.0)})
    a2, b2, _, _ = _parts(shifted)  # a ~ N(1, 1), b ~ N(3, 4.25)
    assert abs(a2.mean() - 1.0) < 4 / np.sqrt(n)
    assert abs(b2.mean() - 3.0) < 4 * np.sqrt(4.25) / np.sqrt(n)
    assert abs(b2.var() - 4.25) < 4 * 4.25 * np.sqrt(2 / n)


def test_unknown_name_and_out_of_range_value_are_named(world):
    batch = world.sample(5, seed=0)
    with pytest.raises(ValueError, match="'zz'"):
        world.counterfactual(batch, {"zz": 1.0})
    with pytest.raises(ValueError, match="'zz'"):
        as_interventions({"zz": 1.0}, valid_names=world.factor_names)
    with pytest.raises(ValueError, match="a"):
        world.sample(5, seed=0, interventions={"a": Do(1e6)})
    with pytest.raises(ValueError, match="'a'"):
        as_interventions({"a": float("nan")})


def test_parse_minus_equals_and_per_sample_broadcast():
    parsed = parse_interventions("x-=0.25; y=2")
    assert isinstance(parsed["x"], Shift) and parsed["x"].delta == -0.25
    values = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(Do(np.array([4.0, 5.0, 6.0]))(values), [4.0, 5.0, 6.0])
    with pytest.raises(ValueError, match="3 samples"):
        Shift(np.array([1.0, 2.0]))(values)
