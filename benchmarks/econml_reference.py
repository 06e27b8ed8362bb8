#!/usr/bin/env python
"""EconML's CATE estimates on the rows and folds ``bench_conditional_effects.py`` writes, for its cross-check. Runs in
a separate environment that has econml (a test-only reference, not a dependency of latentscm), e.g.
``python3 -m venv /tmp/econml && /tmp/econml/bin/pip install econml`` (0.17.0 pulls no torch).

Usage:  OMP_NUM_THREADS=1 /tmp/econml/bin/python benchmarks/econml_reference.py IN.npz OUT.json

IN.npz : X (n,p) float64, T (n,) int64 0/1, Y (n,) float64, folds (n,) int64 in 0..K-1,
         trim (scalar float, propensity clip), X_test (m,p) float64.
OUT.json: see keys written at the bottom; vectors are lists of floats, scalars are floats.
"""
import json
import sys
import time
import warnings

import econml
import numpy as np
import scipy
import sklearn
import statsmodels
from econml.dml import LinearDML
from econml.dr import LinearDRLearner
from econml.metalearners import SLearner, TLearner, XLearner
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, LogisticRegression


class PerArmLinearRegression(BaseEstimator, RegressorMixin):
    """model_regression for econml DRLearner.

    econml (dr/_drlearner.py, _ModelNuisance.train/predict) calls
        model_regression.fit(np.hstack([X, W, T_onehot]), Y)
        model_regression.predict(np.hstack([X, W, T_counterfactual_onehot]))
    where T_onehot drops the first (control) category, i.e. the LAST `n_t` columns are the
    treatment dummies (for binary T: one column = 1{T==1}).  This wrapper fits one OLS
    (with intercept) per treatment arm on the remaining columns, which is exactly
    separate per-arm outcome regressions mu_0(x), mu_1(x).
    """

    def __init__(self, n_t=1):
        self.n_t = n_t

    def _split(self, Z):
        Z = np.asarray(Z, dtype=float)
        feats, tcols = Z[:, :-self.n_t], Z[:, -self.n_t:]
        if not np.all(np.isin(tcols, (0.0, 1.0))) or np.any(tcols.sum(axis=1) > 1):
            raise ValueError("last n_t columns are not a drop-first one-hot treatment encoding")
        arm = np.where(tcols.sum(axis=1) == 0, 0, np.argmax(tcols, axis=1) + 1)
        return feats, arm

    def fit(self, Z, y, sample_weight=None):
        feats, arm = self._split(Z)
        y = np.asarray(y, dtype=float).ravel()
        self.models_ = []
        for a in range(self.n_t + 1):
            m = arm == a
            sw = None if sample_weight is None else np.asarray(sample_weight)[m]
            self.models_.append(LinearRegression().fit(feats[m], y[m], sample_weight=sw))
        self.n_features_in_ = Z.shape[1]
        return self

    def predict(self, Z):
        feats, arm = self._split(Z)
        out = np.empty(feats.shape[0])
        for a in range(self.n_t + 1):
            m = arm == a
            if m.any():
                out[m] = self.models_[a].predict(feats[m])
        return out


def logit():
    return LogisticRegression(C=1e6, max_iter=10000, tol=1e-8)


def fl(a):
    return np.asarray(a, dtype=float).ravel().tolist()


def main(inp, outp):
    d = np.load(inp)
    X = np.asarray(d["X"], dtype=float)
    T = np.asarray(d["T"]).astype(np.int64).ravel()
    Y = np.asarray(d["Y"], dtype=float).ravel()
    folds = np.asarray(d["folds"]).astype(np.int64).ravel()
    trim = float(np.asarray(d["trim"]))
    X_test = np.asarray(d["X_test"], dtype=float)
    if X_test.ndim == 1:
        X_test = X_test.reshape(-1, X.shape[1])

    labels = np.unique(folds)  # increasing label order
    cv = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in labels]

    out = {
        "versions": {"econml": econml.__version__, "sklearn": sklearn.__version__,
                     "numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__},
        "n": int(X.shape[0]), "p": int(X.shape[1]), "m": int(X_test.shape[0]),
        "n_folds": int(len(labels)), "trim": trim,
        "seconds": {},
        "notes": {},
    }
    warns = {}

    # ---- a. LinearDRLearner -------------------------------------------------------
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        dr = LinearDRLearner(model_propensity=logit(), model_regression=PerArmLinearRegression(n_t=1),
                             featurizer=None, fit_cate_intercept=True, min_propensity=trim, cv=cv)
        dr.fit(Y, T, X=X)  # inference='auto' -> StatsModelsInferenceDiscrete(cov_type='HC1')
        out["seconds"]["dr_linear_fit"] = time.perf_counter() - t0
    warns["dr_linear"] = sorted({str(x.message)[:200] for x in w})
    out["dr_linear_effect"] = fl(dr.effect(X_test))
    out["dr_linear_effect_se"] = fl(dr.effect_inference(X_test).stderr)
    out["dr_linear_coef"] = fl(dr.coef_(T=1))
    out["dr_linear_intercept"] = float(np.ravel(dr.intercept_(T=1))[0])
    out["dr_linear_coef_se"] = fl(dr.coef__inference(T=1).stderr)
    out["dr_linear_intercept_se"] = float(np.ravel(dr.intercept__inference(T=1).stderr)[0])
    out["dr_linear_ate"] = float(np.ravel(dr.ate(X))[0])
    out["dr_linear_ate_se"] = float(np.ravel(dr.ate_inference(X).stderr_mean)[0])
    fm = dr.model_final_
    out["notes"]["dr_linear_cov_type"] = getattr(fm, "cov_type", None)
    out["notes"]["dr_linear_n_samples_trimmed"] = int(getattr(dr.ortho_learner_model_final_,
                                                             "n_samples_trimmed_", 0))

    # ---- b. TLearner --------------------------------------------------------------
    t0 = time.perf_counter()
    tl = TLearner(models=LinearRegression()).fit(Y, T, X=X)
    out["seconds"]["t_linear_fit"] = time.perf_counter() - t0
    out["t_linear_effect"] = fl(tl.effect(X_test))

    # ---- c. SLearner (features = [X, 1-T, T]; no T*X interactions) ------------------
    t0 = time.perf_counter()
    sl = SLearner(overall_model=LinearRegression()).fit(Y, T, X=X)
    out["seconds"]["s_linear_fit"] = time.perf_counter() - t0
    out["s_linear_effect"] = fl(sl.effect(X_test))

    # ---- d. XLearner ----------------------------------------------------------------
    t0 = time.perf_counter()
    xl = XLearner(models=LinearRegression(), propensity_model=logit(),
                  cate_models=LinearRegression()).fit(Y, T, X=X)
    out["seconds"]["x_linear_fit"] = time.perf_counter() - t0
    out["x_linear_effect"] = fl(xl.effect(X_test))

    # ---- e. LinearDML (R-learner, linear final stage) -------------------------------
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        dml = LinearDML(model_y=LinearRegression(), model_t=logit(), discrete_treatment=True,
                        featurizer=None, fit_cate_intercept=True, cv=cv)
        dml.fit(Y, T, X=X)  # inference='auto' -> StatsModelsInference(cov_type='HC1')
        out["seconds"]["dml_linear_fit"] = time.perf_counter() - t0
    warns["dml_linear"] = sorted({str(x.message)[:200] for x in w})
    out["dml_linear_effect"] = fl(dml.effect(X_test))
    out["dml_linear_effect_se"] = fl(dml.effect_inference(X_test).stderr)
    out["dml_linear_coef"] = fl(dml.coef_)
    out["dml_linear_intercept"] = float(np.ravel(dml.intercept_)[0])
    out["dml_linear_coef_se"] = fl(dml.coef__inference().stderr)
    out["dml_linear_intercept_se"] = float(np.ravel(dml.intercept__inference().stderr)[0])
    out["dml_linear_ate"] = float(np.ravel(dml.ate(X))[0])
    out["dml_linear_ate_se"] = float(np.ravel(dml.ate_inference(X).stderr_mean)[0])
    out["notes"]["dml_linear_cov_type"] = getattr(dml.model_final_, "cov_type", None)

    out["warnings"] = warns
    with open(outp, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: econml_reference.py IN.npz OUT.json")
    main(sys.argv[1], sys.argv[2])
