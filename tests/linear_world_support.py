"""A small linear world shared by the intervention, regime and domain reviews.

``a ~ N(0, 1)``, ``b = 2 a + 1 + u_b`` (``u_b ~ N(0, 0.5^2)``), ``c ~ N(0, 1)`` alone; ranges [-100, 100], so
nothing is clipped at these scales. Images are 2x2 grey, filled with ``a / 200 + 0.5``.
"""

from __future__ import annotations

import numpy as np

from latentscm.graph import CausalGraph
from latentscm.scm import LinearGaussian
from latentscm.worlds import FactorSpec, World


class Line(World):
    """a -> b, c alone; all LinearGaussian."""

    name = "line_s27"

    def __init__(self):
        self.factor_specs = (FactorSpec("a", low=-100.0, high=100.0), FactorSpec("b", low=-100.0, high=100.0),
                             FactorSpec("c", low=-100.0, high=100.0))
        self.image_shape = (1, 2, 2)
        self._init_structure(CausalGraph([("a", "b")], nodes=["a", "b", "c"]),
                             {"a": LinearGaussian((), 0.0, 1.0), "b": LinearGaussian({"a": 2.0}, 1.0, 0.5),
                              "c": LinearGaussian((), 0.0, 1.0)})

    def _render(self, factors, render_seeds):
        return np.broadcast_to(factors[:, :1, None, None] / 200.0 + 0.5, (len(factors), 1, 2, 2)).astype(np.float32)
