"""latentscm: causal representation learning with latent structural causal models.

Import what you need from the submodules (``latentscm.graph``, ``latentscm.scm``,
``latentscm.worlds``, ...); this top-level module stays light so the command line starts fast.
"""

from latentscm._version import __version__
from latentscm.graph import CausalGraph, CycleError
from latentscm.interventions import Do, Scale, Shift, parse_interventions


def load(run_dir, *, device=None, trust_code=False):
    """The trained learner saved in the run directory ``run_dir`` (see :func:`latentscm.run.load`).

    Only registered learner classes are rebuilt; pass ``trust_code=True`` (or a list of module
    names) to allow your own classes recorded in ``config.json``. Imported lazily so that
    ``import latentscm`` does not import torch.
    """
    from latentscm.run import load as _load

    return _load(run_dir, device=device, trust_code=trust_code)


__all__ = [
    "CausalGraph",
    "CycleError",
    "Do",
    "Scale",
    "Shift",
    "load",
    "parse_interventions",
    "__version__",
]
