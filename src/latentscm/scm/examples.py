"""Worked examples of finite SCMs."""

from __future__ import annotations

from latentscm.graph import CausalGraph
from latentscm.scm.discrete_scm import DiscreteSCM

__all__ = ["smoking_cancer_model"]


def smoking_cancer_model() -> DiscreteSCM:
    """Smoking → tar → cancer with a hidden confounder ``U`` of smoking and cancer.

    The running example of Jacobs, Kissinger & Zanasi, "Causal Inference by String Diagram
    Surgery" (FoSSaCS 2019, arXiv:1811.08338), after Pearl's front-door example (Pearl 1995,
    "Causal diagrams for empirical research", Biometrika 82(4); Pearl 2009, *Causality*, §3.3.2).
    ``U`` (say, a genotype) is hidden: only smoking, tar and cancer are observed, ``U`` makes
    smoking and cancer both more likely, and tar mediates the whole effect of smoking. Because
    ``{tar}`` satisfies the front-door criterion, ``P(cancer | do(smoking))`` is identified from
    the observed joint by :func:`~latentscm.scm.identification.frontdoor_adjustment`, while
    ``P(cancer | smoking)`` overstates the effect (here by more than 0.15 on the risk difference).

    All variables are binary with states ``("no", "yes")`` (``U``: ``("absent", "present")``);
    node order ``U, smoking, tar, cancer``. The numbers are illustrative, not epidemiological.
    """
    graph = CausalGraph([("U", "smoking"), ("U", "cancer"), ("smoking", "tar"), ("tar", "cancer")],
                        nodes=["U", "smoking", "tar", "cancer"])
    cpts = {
        "U": [0.7, 0.3],
        # P(smoking | U): carriers of U smoke far more often.
        "smoking": [[0.8, 0.2], [0.2, 0.8]],
        # P(tar | smoking)
        "tar": [[0.9, 0.1], [0.15, 0.85]],
        # P(cancer | U, tar): axes (U, tar, cancer).
        "cancer": [[[0.9, 0.1], [0.8, 0.2]],
                   [[0.4, 0.6], [0.25, 0.75]]],
    }
    yes_no = ("no", "yes")
    return DiscreteSCM(graph, cpts, {"U": ("absent", "present"), "smoking": yes_no, "tar": yes_no,
                                     "cancer": yes_no})

