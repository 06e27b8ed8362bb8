"""latentscm: causal representation learning with latent structural causal models.

Import what you need from the submodules (``latentscm.graph``, ``latentscm.scm``,
``latentscm.worlds``, ...); this top-level module stays light so the command line starts fast.
"""

from latentscm.graph import CausalGraph, CycleError
from latentscm.interventions import Do, Scale, Shift, parse_interventions

__version__ = "0.1.0"

__all__ = [
    "CausalGraph",
    "CycleError",
    "Do",
    "Scale",
    "Shift",
    "parse_interventions",
    "__version__",
]
