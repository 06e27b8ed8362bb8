"""Third review of study execution (s23c): no stale results.parquet beside a new results.csv; a damaged
status.json is redone, not a stop of the whole study."""

import pytest
from study_support import TINY, tiny_spec

from latentscm import study
from latentscm.study.results import RESULTS_PARQUET, write_results
from latentscm.study.status import trial_dir


def one_trial_spec(seeds):
    return tiny_spec(learners={"beta_vae": {"params": dict(TINY)}}, seeds=seeds, steps=4,
                     evaluation={"suite": ["mig"], "n": 32, "activity": False, "reconstruction": False})


def test_a_results_parquet_that_cannot_be_rewritten_is_removed(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as without pyarrow installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / RESULTS_PARQUET).write_bytes(b"PAR1 table of an earlier run PAR1")
    rows = [{"trial": "a", "status": "done", "mig": 0.5}]
    with pytest.warns(UserWarning, match="Removed the earlier"):
        files = write_results(rows, tmp_path)
    assert [p.name for p in files] == ["results.csv"]
    assert not (tmp_path / RESULTS_PARQUET).exists()
    assert study.read_results(tmp_path) == rows


def test_a_damaged_status_json_is_redone_and_the_study_goes_on(tmp_path):
    first = study.run(one_trial_spec([0]), tmp_path, executor="sequential", threads=1, progress=False)
    (trial,) = first.executed
    (trial_dir(tmp_path, trial) / "status.json").write_text("")
    again = study.run(one_trial_spec([0, 1]), tmp_path, executor="sequential", threads=1, progress=False)
    assert again.counts() == {"done": 2, "failed": 0, "running": 0, "pending": 0}
    assert trial in again.executed and len(again.executed) == 2
    assert again.rows[0]["mig"] == first.rows[0]["mig"]  # the trained model is reloaded, not retrained
