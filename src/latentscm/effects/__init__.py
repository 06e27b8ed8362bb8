"""Causal effect estimation: adjustment sets from a DAG, a CPDAG or a PAG, front-door and instrumental sets from a
DAG with hidden confounders, IDA's possible effects from a CPDAG, and regression, IPW, doubly robust (AIPW), double
machine learning and two-stage least squares estimators with confidence intervals, refutation checks, the
sensitivity of a regression estimate to an omitted confounder, natural direct and indirect effects through
mediators (mediation analysis), and conditional (heterogeneous) effects by meta-learners, tested against SCM ground
truth."""

from latentscm.effects.adjustment import (
    ADJUSTMENTS,
    NoAdjustmentSetError,
    adjustment_set,
    causal_nodes,
    forbidden_nodes,
    is_adjustment_set,
    minimal_adjustment_set,
    optimal_adjustment_set,
    parents_adjustment_set,
)
from latentscm.effects.conditional_effects import CATE_METHODS, ConditionalEffects, conditional_effects
from latentscm.effects.cpdag_adjustment import (
    NotAmenableError,
    cpdag_adjustment_set,
    is_amenable,
    is_cpdag_adjustment_set,
)
from latentscm.effects.doubly_robust import aipw_effect
from latentscm.effects.estimate import BINARY_METHODS, EFFECT_METHODS, estimate_effect
from latentscm.effects.front_door import (
    FRONT_DOORS,
    NoFrontDoorSetError,
    front_door_set,
    is_front_door_set,
)
from latentscm.effects.front_door_effect import FRONT_DOOR_METHODS, front_door_effect
from latentscm.effects.ground_truth import ConditionalTruth, true_conditional_effects, true_effect, true_mediation
from latentscm.effects.id_effect import id_effect
from latentscm.effects.ida import IdaResult, ida, possible_parent_sets
from latentscm.effects.identification import Identification, identify_effect
from latentscm.effects.instrument import (
    INSTRUMENT_KINDS,
    InstrumentSet,
    NoInstrumentError,
    covariates_for,
    instrument_set,
    is_instrument_set,
)
from latentscm.effects.instrumental_effect import IV_METHODS, IV_STD_ERRORS, WEAK_INSTRUMENT_F, instrumental_effect
from latentscm.effects.mediation import (
    MEDIATION_EFFECTS,
    MEDIATION_METHODS,
    MediationEffect,
    MediationResult,
    mediation_analysis,
)
from latentscm.effects.mediation_identification import (
    MEDIATION_COVARIATES,
    NoMediationFormulaError,
    is_mediation_identified,
    mediation_covariates,
)
from latentscm.effects.mediation_sensitivity import MediationSensitivity, mediation_sensitivity
from latentscm.effects.nuisance import LEARNERS, fold_labels
from latentscm.effects.pag_adjustment import (
    PAG_ADJUSTMENTS,
    is_pag_adjustment_set,
    is_pag_amenable,
    pag_adjustment_set,
    pag_forbidden_nodes,
    visible_edges,
)
from latentscm.effects.partially_linear import dml_effect
from latentscm.effects.partially_linear_iv import dml_iv_effect
from latentscm.effects.refuters import REFUTERS, Refutation, RefutationReport, refute_effect
from latentscm.effects.regression import regression_effect
from latentscm.effects.result import CateCoefficient, EffectEstimate
from latentscm.effects.sensitivity import (
    ConfounderScenario,
    SensitivityReport,
    adjusted_estimate,
    adjusted_std_error,
    benchmark_bounds,
    confounder_strength,
    extreme_robustness_value,
    omitted_variable_bias,
    partial_r2,
    robustness_value,
    sensitivity_analysis,
)
from latentscm.effects.targeting import RATE_KINDS, TargetingCurve, policy_value, rank_weighted_effect, targeting_curve
from latentscm.effects.weighting import ipw_effect
from latentscm.effects.world_effect import WorldEffect, WorldMediation, world_effect, world_mediation

__all__ = [
    "ADJUSTMENTS",
    "CATE_METHODS",
    "RATE_KINDS",
    "TargetingCurve",
    "policy_value",
    "rank_weighted_effect",
    "targeting_curve",
    "CateCoefficient",
    "ConditionalEffects",
    "ConditionalTruth",
    "conditional_effects",
    "true_conditional_effects",
    "BINARY_METHODS",
    "EFFECT_METHODS",
    "LEARNERS",
    "MEDIATION_COVARIATES",
    "MEDIATION_EFFECTS",
    "MEDIATION_METHODS",
    "MediationEffect",
    "MediationResult",
    "MediationSensitivity",
    "NoMediationFormulaError",
    "EffectEstimate",
    "FRONT_DOORS",
    "FRONT_DOOR_METHODS",
    "INSTRUMENT_KINDS",
    "IV_METHODS",
    "IV_STD_ERRORS",
    "IdaResult",
    "Identification",
    "InstrumentSet",
    "NoAdjustmentSetError",
    "NoFrontDoorSetError",
    "NoInstrumentError",
    "NotAmenableError",
    "PAG_ADJUSTMENTS",
    "REFUTERS",
    "Refutation",
    "RefutationReport",
    "ConfounderScenario",
    "SensitivityReport",
    "WorldEffect",
    "WorldMediation",
    "adjusted_estimate",
    "adjusted_std_error",
    "adjustment_set",
    "aipw_effect",
    "WEAK_INSTRUMENT_F",
    "benchmark_bounds",
    "causal_nodes",
    "confounder_strength",
    "covariates_for",
    "cpdag_adjustment_set",
    "dml_effect",
    "dml_iv_effect",
    "estimate_effect",
    "extreme_robustness_value",
    "fold_labels",
    "forbidden_nodes",
    "front_door_effect",
    "front_door_set",
    "id_effect",
    "ida",
    "identify_effect",
    "instrument_set",
    "instrumental_effect",
    "ipw_effect",
    "is_amenable",
    "is_adjustment_set",
    "is_cpdag_adjustment_set",
    "is_front_door_set",
    "is_instrument_set",
    "is_mediation_identified",
    "is_pag_adjustment_set",
    "is_pag_amenable",
    "mediation_analysis",
    "mediation_covariates",
    "mediation_sensitivity",
    "minimal_adjustment_set",
    "omitted_variable_bias",
    "optimal_adjustment_set",
    "pag_adjustment_set",
    "pag_forbidden_nodes",
    "parents_adjustment_set",
    "partial_r2",
    "possible_parent_sets",
    "refute_effect",
    "regression_effect",
    "robustness_value",
    "sensitivity_analysis",
    "true_effect",
    "true_mediation",
    "visible_edges",
    "world_effect",
    "world_mediation",
]
