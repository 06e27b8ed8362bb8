"""Mixed continuous / categorical test data shared by the conditional Gaussian tests (not a test module)."""

import numpy as np


def mixed_collider(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Mixed data (n, 4): a (3 levels) -> y <- x (continuous), y -> c (binary, logistic in y); and the names."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    x = rng.normal(size=n)
    y = np.array([-1.0, 0.5, 1.5])[a] + 0.9 * x + rng.normal(size=n)
    c = (rng.random(n) < 1 / (1 + np.exp(-2 * y))).astype(int)
    return np.column_stack([a, x, y, c]), ["a", "x", "y", "c"]
