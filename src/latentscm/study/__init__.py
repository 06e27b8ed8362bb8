"""Studies: learners × hyperparameter grids × worlds × seeds, expanded into trials and run.

    from latentscm import study

    result = study.run({"learners": {"beta_vae": {"grid": {"beta": [1, 4]}}},
                        "worlds": {"sprites": {"size": 32}}, "seeds": [0, 1], "steps": 2000}, "studies/beta")
    result.rows          # one row per trial: parameters and every metric (also studies/beta/results.csv)

* :mod:`latentscm.study.spec` — the spec (YAML, JSON or dict) and its validation;
* :mod:`latentscm.study.trials` — expansion into trials with stable ids;
* :mod:`latentscm.study.execute` — one trial: train/resume its run directory, evaluate, record;
* :mod:`latentscm.study.runner` — :func:`run`, the resumable, idempotent driver;
* :mod:`latentscm.study.sequential`, :mod:`latentscm.study.ray_executor` — where trials run;
* :mod:`latentscm.study.results` — the tidy results table (CSV, Parquet with pyarrow);
* :mod:`latentscm.study.status` — the layout of a study directory.

The HTML study report is :func:`latentscm.report.study.build_study_report`.
"""

from latentscm.study.executor import available_cores, ray_available
from latentscm.study.executors import EXECUTORS, make_executor
from latentscm.study.results import read_results
from latentscm.study.runner import StudyLockedError, StudyResult, run, trial_states
from latentscm.study.spec import StudySpec, StudySpecError, load_spec
from latentscm.study.trials import Trial, expand

__all__ = ["EXECUTORS", "StudyLockedError", "StudyResult", "StudySpec", "StudySpecError", "Trial",
           "available_cores", "expand", "load_spec", "make_executor", "ray_available", "read_results", "run",
           "trial_states"]
