"""Finite structural causal models from conditional probability tables (CPTs).

This module gathers, for compatibility, names that now live in four modules:

* :mod:`latentscm.scm.probability_table` — :class:`ProbabilityTable`, :class:`PositivityError`;
* :mod:`latentscm.scm.discrete_scm` — :class:`DiscreteSCM`;
* :mod:`latentscm.scm.identification` — :func:`backdoor_adjustment`, :func:`frontdoor_adjustment`,
  :func:`is_backdoor_set`, :func:`is_frontdoor_set`;
* :mod:`latentscm.scm.examples` — :func:`smoking_cancer_model`.

New code imports them from :mod:`latentscm.scm`.
"""

from latentscm.scm.discrete_scm import DiscreteSCM
from latentscm.scm.examples import smoking_cancer_model
from latentscm.scm.identification import (
    backdoor_adjustment,
    frontdoor_adjustment,
    is_backdoor_set,
    is_frontdoor_set,
)
from latentscm.scm.probability_table import (
    NORMALISATION_ATOL,
    Names,
    PositivityError,
    ProbabilityTable,
    StatesSpec,
)

__all__ = [
    "DiscreteSCM",
    "ProbabilityTable",
    "PositivityError",
    "backdoor_adjustment",
    "frontdoor_adjustment",
    "is_backdoor_set",
    "is_frontdoor_set",
    "smoking_cancer_model",
    "NORMALISATION_ATOL",
    "Names",
    "StatesSpec",
]
