"""Regression tests of the third review of the report (s22): element ids without whitespace, the drift figure of
a read-out of the target alone, the time-series page's input checks, a single run directory given as a string and
the bar chart's best run among finite values."""

import json
import re
import shutil

import numpy as np
import pytest

from latentscm.report import figures
from latentscm.report.html import build_report
from latentscm.report.page import element_id
from latentscm.report.probes import controls_section
from latentscm.report.study import build_study_report
from latentscm.report.timeseries import timeseries_report


def _copy(run, destination, metrics=None):
    shutil.copytree(run, destination)
    if metrics is not None:
        (destination / "metrics.json").write_text(json.dumps(metrics))
    return destination


def test_element_id_has_no_whitespace_and_keeps_names_apart():
    assert element_id("run", "my run") == "run-my%20run"
    assert element_id("run", "a%20b") == "run-a%2520b" != element_id("run", "a b")
    assert element_id("best", "tab\there", 'q"<') == "best-tab%09here-q&quot;&lt;"
    assert element_id("ranks", "sprites") == "ranks-sprites"  # names without whitespace are as before


def test_run_and_study_pages_have_ids_without_whitespace(tiny_run, finished_study, html_ids, tmp_path):
    run = _copy(tiny_run, tmp_path / "my run", {"mig": 0.1})
    page = build_report([run], tmp_path / "r.html", n_images=2).read_text()
    ids = html_ids(page)
    assert "run-my%20run" in ids
    assert not [i for i in ids if re.search(r"\s", i)] and len(ids) == len(set(ids))

    spec = {"name": "labels", "steps": 4, "seeds": [0],
            "learners": [{"name": "beta_vae", "label": "beta vae", "params": {"latent_dim": 3}}],
            "worlds": [{"name": "sprites", "label": "small sprites", "options": {"size": 16}}]}
    study = finished_study(tmp_path / "study", spec)
    ids = html_ids(build_study_report(study, n_images=2).read_text())
    assert {"world-small%20sprites", "ranks-small%20sprites", "best-small%20sprites-beta%20vae"} <= set(ids)
    assert not [i for i in ids if re.search(r"\s", i)]


def test_build_report_refuses_one_path_given_as_a_string(tiny_run, tmp_path):
    for given in (str(tiny_run), tiny_run):
        with pytest.raises(TypeError, match="'run_dirs' argument of build_report must be a sequence"):
            build_report(given, tmp_path / "r.html", n_images=2)
    assert not (tmp_path / "r.html").exists()


def test_controls_section_of_a_read_out_of_the_target_alone():
    result = {"target": "scale", "factors": ["scale"], "readout_error": {"scale": 0.1},
              "settings": {"target_change": 0.2},
              "methods": {"linear": {"steps": 2, "gain": 0.25, "reached": True, "drift": {}, "counterfactual_error": {},
                                     "drift_at_target": {}, "curve": {"gain": [0.0, 0.1, 0.25], "drift": {}}}}}
    assert figures.edit_drift_figure(result["methods"], "scale", 0.2) is None
    page = controls_section(result)
    assert "<table" in page and "drift along the edits" not in page


def test_metric_bars_mark_the_best_finite_value(monkeypatch):
    monkeypatch.setattr(figures, "figure_png", lambda figure: figure)
    green = (0x2C / 255, 0xA0 / 255, 0x2C / 255)
    for better, values, best in [("higher", {"a": 0.2, "b": np.inf, "c": 0.5}, "c"),
                                 ("lower", {"a": 0.2, "b": -np.inf, "c": 0.5}, "a"),
                                 ("higher", {"a": np.nan, "b": 0.1}, "b")]:
        figure = figures.metric_bars_figure([("metric", better, values)])
        bars = zip(values, figure.axes[0].patches)
        marked = [name for name, bar in bars if np.allclose(bar.get_facecolor()[:3], green)]
        assert marked == [best], (better, values)


def test_timeseries_report_checks_graph_shapes_root_causes_and_top(tmp_path):
    series = np.random.default_rng(0).normal(size=(30, 3))
    names = ["x", "x1", "y"]
    for shape in [(2, 2), (4, 4), (3, 4)]:
        with pytest.raises(ValueError, match=r"'true_graph' argument of timeseries_report must be \(3, 3\)"):
            timeseries_report(tmp_path / "t.html", series=series, var_names=names, true_graph=np.ones(shape))
        with pytest.raises(ValueError, match=r"found_graphs\['m'\]\" argument of timeseries_report"):
            timeseries_report(tmp_path / "t.html", series=series, var_names=names, found_graphs={"m": np.ones(shape)})
    with pytest.raises(TypeError, match="'root_causes' argument of timeseries_report must be a sequence"):
        timeseries_report(tmp_path / "t.html", series=series, var_names=names, root_causes="x1")
    with pytest.raises(ValueError, match=r"names \['z'\], which are not variables"):
        timeseries_report(tmp_path / "t.html", series=series, var_names=names, root_causes=["z"])
    with pytest.raises(ValueError, match="'top' parameter of timeseries_report"):
        timeseries_report(tmp_path / "t.html", series=series, var_names=names, top=-3)
    with pytest.raises(ValueError, match="at least one of each"):
        timeseries_report(tmp_path / "t.html", series=np.zeros((10, 0)), var_names=[])
    assert not (tmp_path / "t.html").exists()
    page = timeseries_report(tmp_path / "t.html", series=series, var_names=names, root_causes=["x1"],
                             true_graph=np.eye(3, k=1), rankings={"m": ["x", "y", "x1"]}).read_text()
    assert re.findall(r'<td class="best">([^<]*)</td>', page) == ["x1 ✓"]  # 'x' is not a root cause
    assert "root cause(s): x1" in page



def test_build_report_names_n_images(tmp_path):
    """n_images=0 was refused inside world.sample, naming its 'n'."""
    from latentscm.report.html import build_report, collect_run

    with pytest.raises(ValueError, match="'n_images' parameter of build_report"):
        build_report([tmp_path / "no-run"], tmp_path / "r.html", n_images=0)
    with pytest.raises(ValueError, match="'n_images' parameter of collect_run"):
        collect_run(tmp_path / "no-run", n_images=0)
    assert not list(tmp_path.iterdir())
