"""Regression tests of the fourth review of the report (s23): element ids keep multi-part names apart (a '-'
inside a world or learner label), the same run given twice gets two ids, and the time-series page refuses
repeated or string variable names."""

from collections import Counter

import numpy as np
import pytest

from latentscm.report.html import build_report
from latentscm.report.page import element_id
from latentscm.report.study import build_study_report
from latentscm.report.timeseries import summary_digraph, timeseries_report


def _repeated(ids):
    return sorted(value for value, count in Counter(ids).items() if count > 1)


def test_element_id_keeps_parts_with_dashes_apart():
    assert element_id("best", "s", "big-vae") != element_id("best", "s-big", "vae")
    assert element_id("best", "s-big", "vae") == "best-s%2Dbig-vae"
    assert element_id("ranks", "sprites") == "ranks-sprites"  # names without '-' or whitespace are as before


def test_study_report_ids_are_unique_with_dashed_labels(finished_study, html_ids, tmp_path):
    spec = {"name": "dashes", "steps": 4, "seeds": [0],
            "learners": [{"name": "beta_vae", "label": "big-vae", "params": {"latent_dim": 3}},
                         {"name": "beta_vae", "label": "vae", "params": {"latent_dim": 3, "beta": 2.0}}],
            "worlds": [{"name": "sprites", "label": "s", "options": {"size": 16}},
                       {"name": "sprites", "label": "s-big", "options": {"size": 16, "variant": "binary"}}]}
    study = finished_study(tmp_path / "study", spec)
    page = build_study_report(study, n_images=2).read_text()
    assert _repeated(html_ids(page)) == []
    assert 'id="best-s-big%2Dvae"' in page and 'id="best-s%2Dbig-vae"' in page


def test_run_report_of_the_same_run_twice_has_unique_ids(tiny_run, html_ids, tmp_path):
    page = build_report([tiny_run, tiny_run], tmp_path / "twice.html", n_images=2).read_text()
    assert _repeated(html_ids(page)) == []
    assert 'id="run-run"' in page and 'id="run-run-2"' in page


@pytest.mark.parametrize("names, error", [(["a", "b", "a"], ValueError), ("abc", TypeError)])
def test_timeseries_report_refuses_repeated_or_string_var_names(tmp_path, names, error):
    series = np.random.default_rng(0).standard_normal((30, 3))
    graph = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    with pytest.raises(error, match="var_names"):
        timeseries_report(tmp_path / "page.html", series=series, var_names=names, true_graph=graph)
    with pytest.raises(error, match="var_names"):
        summary_digraph(graph, names)
    assert not (tmp_path / "page.html").exists()


def test_rank_table_keeps_settings_apart_that_differ_past_six_digits():
    from latentscm.report.study import rank_table

    rows = [{"status": "done", "learner": "beta_vae", "param.lr": lr, "mig": m}
            for lr, m in ((1.0e-4, 0.1), (1.0e-4, 0.1), (1.0000001e-4, 0.9), (1.0000001e-4, 0.9), (0.5, 0.2))]
    entries = {e["setting"]: e for e in rank_table(rows, {"beta_vae": ("lr",)}, [("mig", "MIG", "higher")])}
    assert set(entries) == {"beta_vae (lr=0.0001)", "beta_vae (lr=0.00010000001)", "beta_vae (lr=0.5)"}
    assert entries["beta_vae (lr=0.0001)"]["seeds"] == 2 and entries["beta_vae (lr=0.0001)"]["mean"]["mig"] == 0.1
