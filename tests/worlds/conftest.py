"""Small real worlds shared by the world tests: bars whose row / column / brightness are the
factors."""

import numpy as np
import pytest

from latentscm.worlds import FactorSpec, World


class Bars(World):
    """A horizontal bar at row ``row`` (8-grid), a vertical bar at column ``col`` (8-grid), and
    brightness ``level`` in [0.2, 1] (continuous)."""

    name = "bars"

    def __init__(self, graph=None, mechanisms=None):
        self.factor_specs = (
            FactorSpec("row", values=np.arange(8.0)),
            FactorSpec("col", values=np.arange(8.0)),
            FactorSpec("level", low=0.2, high=1.0),
        )
        self.image_shape = (1, 8, 8)
        self._init_structure(graph, mechanisms)

    def _render(self, factors, render_seeds):
        n = factors.shape[0]
        images = np.zeros((n, 1, 8, 8), np.float32)
        rows, cols = factors[:, 0].astype(int), factors[:, 1].astype(int)
        images[np.arange(n), 0, rows, :] = 0.5
        images[np.arange(n), 0, :, cols] += factors[:, 2:3].astype(np.float32) / 2
        return images


class Grid(Bars):
    def __init__(self):
        self.factor_specs = (FactorSpec("row", values=np.arange(8.0)), FactorSpec("col", values=np.arange(8.0)),
                             FactorSpec("level", values=np.array([0.5, 1.0])))
        self.image_shape = (1, 8, 8)
        self._init_structure()




@pytest.fixture(name="Bars")
def bars_class():
    return Bars


@pytest.fixture(name="Grid")
def grid_class():
    return Grid
