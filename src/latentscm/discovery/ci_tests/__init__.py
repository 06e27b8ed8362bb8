"""Conditional-independence tests behind one interface, with a registry by name.

``make_ci_test("kci", width="kta")`` builds a registered test; ``ci_test_names()`` lists them.
"""

from latentscm.discovery.ci_tests.base import (
    REGISTRY,
    BoundCITest,
    CIQuery,
    CIResult,
    CITest,
    ci_test_names,
    content_hash,
    make_ci_test,
    register_ci_test,
)
from latentscm.discovery.ci_tests.cg_lrt import ConditionalGaussianLRT
from latentscm.discovery.ci_tests.discrete import ChiSquare, GSquare, encode_categories, encode_table
from latentscm.discovery.ci_tests.fisher_z import FisherZ
from latentscm.discovery.ci_tests.kci import KCI
from latentscm.discovery.ci_tests.rcit import RCIT, RCoT

__all__ = [
    "REGISTRY",
    "BoundCITest",
    "CIQuery",
    "CIResult",
    "CITest",
    "ChiSquare",
    "ConditionalGaussianLRT",
    "FisherZ",
    "GSquare",
    "KCI",
    "RCIT",
    "RCoT",
    "ci_test_names",
    "content_hash",
    "encode_categories",
    "encode_table",
    "make_ci_test",
    "register_ci_test",
]
