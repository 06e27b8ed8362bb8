"""``check_ci_test``: the conformance suite every conditional-independence test must pass.

Checks, on small seeded data sets: p-values lie in [0, 1]; independence is not rejected on
independent data (unconditionally and given Z) and dependence is detected at a moderate n (also
given Z, and the classic "common cause" case where X and Y are dependent but independent given Z);
results are symmetric in x and y and repeatable; a NaN in x, y or z and mismatched lengths raise
ValueError; a test with ``get_params()`` round-trips: ``type(t)(**t.get_params())`` has the same
parameters.
Failures raise AssertionError naming the check (explicitly, so ``python -O`` cannot strip them).
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_ci_test"]


def _fail(test: object, message: str) -> None:
    raise AssertionError(f"check_ci_test({test!r}): {message}")


def _p(test, x, y, z=None) -> float:
    result = test.test(x, y, z)
    for name in ("statistic", "p_value"):
        if not hasattr(result, name):
            _fail(test, f"the result of test() has no {name!r} attribute (got {result!r}).")
    p = float(result.p_value)
    if not (np.isfinite(p) and 0.0 <= p <= 1.0):
        _fail(test, f"p-value {p!r} is not in [0, 1].")
    if not np.isfinite(float(result.statistic)):
        _fail(test, f"statistic {result.statistic!r} is not finite.")
    return p


def _with_nan(values: np.ndarray) -> np.ndarray:
    """A float copy of ``values`` with one NaN (row 3)."""
    bad = values.astype(float)
    bad[3] = np.nan
    return bad


def _check_symmetric_and_repeatable(test, x, y, z) -> None:
    """The p-value of (x, y | z) equals that of (y, x | z), and a repeated query gives the same result."""
    forward = test.test(x, y, z)
    backward = test.test(y, x, z)
    if not np.isclose(forward.p_value, backward.p_value, rtol=1e-9, atol=1e-12):
        _fail(test, f"not symmetric in x and y: p={forward.p_value!r} vs {backward.p_value!r}.")
    again = test.test(x, y, z)
    if again.p_value != forward.p_value or again.statistic != forward.statistic:
        _fail(test, "repeating a test gave a different result.")


def check_ci_test(test, *, n: int = 300, alpha: float = 0.01, seed: int = 0) -> None:
    """Run the conformance checks on a CI test instance (``test.test(x, y, z=None)``).

    Parameters
    ----------
    test: an object with ``test(x, y, z=None) -> result`` (``result.statistic``, ``result.p_value``).
    n: sample size of the check data sets (moderate: dependence must be found at this n).
    alpha: level at which independence must not be rejected and dependence must be.
    seed: seed of the check data.

    A bad argument of the check itself (``alpha`` outside (0, 1), ``n`` below 4, a negative ``seed``,
    a class instead of an instance) raises ``ValueError``/``TypeError`` naming it, so that it is never
    reported as a failure of the test under check.
    """
    from latentscm._validation import check_number

    n = check_number(n, "n", "check_ci_test", low=4, integer=True)  # the NaN checks write row 3
    alpha = check_number(alpha, "alpha", "check_ci_test", low=0.0, high=1.0, low_inclusive=False,
                         high_inclusive=False)
    seed = check_number(seed, "seed", "check_ci_test", low=0, integer=True)
    if isinstance(test, type) or not callable(getattr(test, "test", None)):
        raise TypeError(f"The 'test' parameter of check_ci_test must be a CI test instance with a test(x, y, z=None) "
                        f"method (e.g. FisherZ()). Got {test!r} instead.")
    _check_params_round_trip(test)
    if getattr(test, "discrete", False):
        _check_discrete_ci_test(test, n=n, alpha=alpha, seed=seed)
        return
    rng = np.random.default_rng(seed)
    x0, y0, z0 = rng.normal(size=(3, n))
    # Independent data.
    p = _p(test, x0, y0)
    if p <= alpha:
        _fail(test, f"independence rejected on independent data (p={p:.3g} <= {alpha}).")
    p = _p(test, x0, y0, z0)
    if p <= alpha:
        _fail(test, f"independence given z rejected on independent data (p={p:.3g} <= {alpha}).")
    # Dependent data.
    y_dep = 0.8 * x0 + 0.6 * y0
    p = _p(test, x0, y_dep)
    if p > alpha:
        _fail(test, f"dependence not detected (y = 0.8 x + noise, n={n}, p={p:.3g} > {alpha}).")
    # Common cause: dependent marginally, independent given z.
    x_cc, y_cc = z0 + 0.5 * x0, z0 + 0.5 * y0
    p = _p(test, x_cc, y_cc)
    if p > alpha:
        _fail(test, f"dependence through a common cause not detected (p={p:.3g} > {alpha}).")
    p = _p(test, x_cc, y_cc, z0)
    if p <= alpha:
        _fail(test, f"conditional independence given the common cause rejected (p={p:.3g} <= {alpha}).")
    # Conditional dependence: a direct edge besides the common cause.
    y_direct = z0 + 0.8 * x_cc + 0.5 * y0
    p = _p(test, x_cc, y_direct, z0)
    if p > alpha:
        _fail(test, f"conditional dependence not detected (p={p:.3g} > {alpha}).")
    # Symmetry and memoisation.
    _check_symmetric_and_repeatable(test, x_cc, y_direct, z0)
    # Bad input.
    for args, what in (((_with_nan(x0), y0), "NaN in x"), ((x0, _with_nan(y0)), "NaN in y"),
                       ((x0, y0, _with_nan(z0)), "NaN in z"), ((x0, y0[:-1]), "mismatched lengths of x and y"),
                       ((x0, y0, z0[:-2]), "mismatched length of z")):
        try:
            test.test(*args)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - report the wrong exception type
            _fail(test, f"{what} raised {type(error).__name__} instead of ValueError.")
        _fail(test, f"{what} was accepted; it must raise ValueError.")


def _check_params_round_trip(test) -> None:
    """``type(t)(**t.get_params())`` rebuilds a test with the same parameters (compared by repr, so
    parameters without ``==`` such as kernel objects compare by what they show)."""
    if not callable(getattr(test, "get_params", None)):
        return
    try:
        params = test.get_params()
        rebuilt = type(test)(**params)
    except Exception as error:  # noqa: BLE001 - report what failed
        _fail(test, f"type(t)(**t.get_params()) failed: {type(error).__name__}: {error}")
    if repr(rebuilt.get_params()) != repr(params):
        _fail(test, f"rebuilding from get_params() changed the parameters: {params!r} -> {rebuilt.get_params()!r}.")


def _check_discrete_ci_test(test, *, n: int, alpha: float, seed: int) -> None:
    """The same checks on categorical data (tests with ``discrete = True``), plus: continuous floats
    and a column with a single category are refused with ValueError."""
    rng = np.random.default_rng(seed)
    x0, y0, z0 = rng.integers(0, 3, size=(3, n))

    def mix(keep: np.ndarray, weight: float, other: np.ndarray) -> np.ndarray:
        return np.where(rng.random(n) < weight, keep, other)

    p = _p(test, x0, y0)
    if p <= alpha:
        _fail(test, f"independence rejected on independent categorical data (p={p:.3g} <= {alpha}).")
    p = _p(test, x0, y0, z0)
    if p <= alpha:
        _fail(test, f"independence given z rejected on independent categorical data (p={p:.3g} <= {alpha}).")
    y_dep = mix(x0, 0.5, y0)
    p = _p(test, x0, y_dep)
    if p > alpha:
        _fail(test, f"dependence not detected (y = x half of the time, n={n}, p={p:.3g} > {alpha}).")
    x_cc, y_cc = mix(z0, 0.7, x0), mix(z0, 0.7, y0)
    p = _p(test, x_cc, y_cc)
    if p > alpha:
        _fail(test, f"dependence through a common cause not detected (p={p:.3g} > {alpha}).")
    p = _p(test, x_cc, y_cc, z0)
    if p <= alpha:
        _fail(test, f"conditional independence given the common cause rejected (p={p:.3g} <= {alpha}).")
    y_direct = mix(x_cc, 0.6, y_cc)
    p = _p(test, x_cc, y_direct, z0)
    if p > alpha:
        _fail(test, f"conditional dependence not detected (p={p:.3g} > {alpha}).")
    labels = np.array(["a", "b", "c"])
    p_text = _p(test, labels[x_cc], labels[y_direct], labels[z0])
    if not np.isclose(p_text, p, rtol=1e-12, atol=0.0):
        _fail(test, f"text categories give a different p-value than integer codes ({p_text!r} vs {p!r}).")
    _check_symmetric_and_repeatable(test, x_cc, y_direct, z0)
    for args, what in (((_with_nan(x0), y0), "NaN in x"), ((x0, _with_nan(y0)), "NaN in y"),
                       ((x0, y0, _with_nan(z0)), "NaN in z"), ((x0, y0[:-1]), "mismatched lengths of x and y"),
                       ((x0, y0, z0[:-2]), "mismatched length of z"),
                       ((rng.normal(size=n), y0), "continuous floats in x"),
                       ((x0, np.zeros(n, dtype=int)), "a y with a single category")):
        try:
            test.test(*args)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - report the wrong exception type
            _fail(test, f"{what} raised {type(error).__name__} instead of ValueError.")
        _fail(test, f"{what} was accepted; it must raise ValueError.")
