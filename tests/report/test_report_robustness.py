"""The report pages with awkward inputs: runs of the same name, user names with ``$``, damaged
files, an output path that is a directory, study settings that vary different hyperparameters,
error columns, ties, and tables built from partial numbers. Runs are one tiny trained model,
copied; study trials are copies of it with the metrics each test needs."""

import json
import re
import shutil

import numpy as np
import pytest

from latentscm._io import atomic_write_json
from latentscm.report import html as report_html
from latentscm.report.active import write_active_report
from latentscm.report.axioms import write_axioms_report
from latentscm.report.study import _rank_html, build_study_report, rank_table
from latentscm.report.timeseries import timeseries_report


def _copy(run, destination, metrics=None):
    shutil.copytree(run, destination)
    if metrics is not None:
        (destination / "metrics.json").write_text(json.dumps(metrics))
    return destination


def _study(tiny_run, directory, spec, metrics_of):
    """A study directory whose finished trials are copies of ``tiny_run`` with ``metrics_of(trial)``."""
    from latentscm.study.spec import load_spec
    from latentscm.study.status import trial_dir
    from latentscm.study.trials import expand

    directory.mkdir(parents=True)
    (directory / "study.json").write_text(json.dumps(spec))
    trials = expand(load_spec(spec))
    for trial in trials:
        where = _copy(tiny_run, trial_dir(directory, trial.id), metrics_of(trial))
        atomic_write_json(where / "status.json", {"status": "done", "attempts": 1})
    return trials


def _headline_columns(page):
    return re.findall(r"<th>([^<]*)</th>", re.search(r'id="headline"><thead><tr>(.*?)</tr>', page).group(1))[2:]


# --------------------------------------------------------------------------------------------- run report


def test_runs_of_the_same_name_keep_their_own_column_and_bar(tiny_run, tmp_path, monkeypatch):
    a = _copy(tiny_run, tmp_path / "a" / "run", {"mig": 0.1})
    b = _copy(tiny_run, tmp_path / "b" / "run", {"mig": 0.9})
    bars = []
    original = report_html.metric_bars_figure
    monkeypatch.setattr(report_html, "metric_bars_figure", lambda metrics: bars.append(metrics) or original(metrics))
    page = report_html.build_report([a, b], tmp_path / "r.html", n_images=2).read_text()
    assert _headline_columns(page) == ["a/run", "b/run"]
    assert next(values for label, _, values in bars[0] if label == "MIG") == {"a/run": 0.1, "b/run": 0.9}
    monkeypatch.chdir(a)  # `latentscm report .` from inside the run
    page = report_html.build_report(["."], tmp_path / "dot.html", n_images=2).read_text()
    assert _headline_columns(page) == ["run"] and '<h2 id="run-run">run ' in page


def test_a_damaged_training_log_keeps_its_good_records_and_is_named(tiny_run, tmp_path):
    """Regression: bytes that are not UTF-8 in train.jsonl stopped the whole report with an unnamed error."""
    run = _copy(tiny_run, tmp_path / "run", {"mig": 0.5})
    lines = (run / "train.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) >= 2
    (run / "train.jsonl").write_bytes(b"".join(lines + [b"\xff\xfe\x00\x81 torn last line"]))
    page = report_html.build_report([run], tmp_path / "r.html", n_images=2).read_text()
    assert ">Training curves<" in page and "damaged line" not in page  # a torn last line is what a kill leaves
    (run / "train.jsonl").write_bytes(b"".join([lines[0], b"\xff\xfe\x00\x81 damaged\n", *lines[1:]]))
    page = report_html.build_report([run], tmp_path / "r.html", n_images=2).read_text()
    assert ">Training curves<" in page and "<td>0.5</td>" in page
    named = f"Training curves: &#x27;{run / 'train.jsonl'}&#x27;: skipped 1 damaged line(s) of {len(lines) + 1}"
    assert f"{named} (line 2)" in page


def test_an_output_directory_is_refused_up_front_by_name(tiny_run, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match="'out' argument of build_report '.*out' is a directory; give the path"):
        report_html.build_report([tiny_run], tmp_path / "out", n_images=2)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="argument of write_axioms_report '.*r.html' cannot be written: '.*file' is a"):
        write_axioms_report({"m": {"length_3": 0.5}}, {"length_3": 0.5}, tmp_path / "file" / "r.html")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "out"]  # nothing left behind


def test_names_with_dollars_are_drawn_literally(tiny_run, tmp_path):
    from matplotlib import cbook

    path = timeseries_report(tmp_path / "s.html", series=np.zeros((20, 2)), var_names=["queue$%$", "x"])
    assert path.read_text().startswith("<!doctype html>")
    runs = [_copy(tiny_run, tmp_path / "cost$%$", {"mig": 0.2}), _copy(tiny_run, tmp_path / "base", {"mig": 0.4})]
    assert "cost$%$" in report_html.build_report(runs, tmp_path / "r.html", n_images=2).read_text()
    from latentscm.report.page import plain_text  # what the figures hand matplotlib: never a formula

    assert not cbook.is_math_text(plain_text("rate ($/s) and cost ($)"))


# ------------------------------------------------------------------------------------------- study report


def test_variants_that_vary_different_hyperparameters_stay_apart(tiny_run, tmp_path):
    spec = {"name": "variants", "steps": 4, "seeds": [0],
            "learners": {"beta_vae": {"params": {"latent_dim": 3, "lr": 0.001},
                                      "variants": [{"beta": 1.0}, {"beta": 4.0}, {"lr": 0.01}]}},
            "worlds": {"sprites": {"size": 16}}}
    mig = {(1.0, 0.001): 0.2, (4.0, 0.001): 0.8, (None, 0.01): 0.5}
    _study(tiny_run, tmp_path / "s", spec, lambda t: {"mig": mig[(t.params.get("beta"), t.params["lr"])]})
    page = build_study_report(tmp_path / "s", n_images=2).read_text()
    table = page.split('id="ranks-sprites"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>[^<]*</td><td[^>]*>([0-9.]+) ", table)
    assert sorted(rows) == [("beta_vae (beta=1, lr=0.001)", "1", "0.2"), ("beta_vae (beta=4, lr=0.001)", "1", "0.8"),
                            ("beta_vae (beta=default, lr=0.01)", "1", "0.5")]


def test_the_best_run_of_an_error_column_is_its_lowest(tiny_run, tmp_path):
    spec = {"name": "direction", "steps": 4, "seeds": [0, 1, 2],
            "learners": {"beta_vae": {"params": {"latent_dim": 3}}}, "worlds": {"sprites": {"size": 16}}}
    error = {0: 0.40, 1: 0.05, 2: 0.20}
    trials = _study(tiny_run, tmp_path / "s", spec,
                    lambda t: {"mig": 0.1 * t.seed, "cf.true_error.shape": error[t.seed]})
    page = build_study_report(tmp_path / "s", metric="cf.true_error.shape", n_images=2).read_text()
    best = next(t for t in trials if t.seed == 1)
    assert f"trial <code>{best.id}</code> (cf.true_error.shape 0.05)" in page and "(lower is better)" in page
    from latentscm.report.study import metric_direction

    assert metric_direction("cf.true_error.shape")[1:] == ("lower", True)
    assert metric_direction("sampled.mig")[1:] == ("higher", True)
    assert metric_direction("active.reconstruction.mse")[1:] == ("lower", True)
    assert metric_direction("mcc") == ("MCC", "higher", True)
    assert metric_direction("my_score") == ("my_score", "higher", False)


def test_a_damaged_best_trial_is_a_note_not_a_lost_page(tiny_run, tmp_path):
    spec = {"name": "damaged", "steps": 4, "seeds": [0, 1],
            "learners": {"beta_vae": {"params": {"latent_dim": 3}}}, "worlds": {"sprites": {"size": 16}}}
    trials = _study(tiny_run, tmp_path / "s", spec, lambda t: {"mig": 0.1 + t.seed})
    best = next(t for t in trials if t.seed == 1)
    (tmp_path / "s" / "trials" / best.id / "model.pt").write_bytes(b"\x00" * 64)
    page = build_study_report(tmp_path / "s", n_images=2).read_text()
    best_part = page.split('id="best"', 1)[1]
    assert 'id="ranks-sprites"' in page and "could not be loaded" in best_part and best.id in best_part


def test_settings_tied_for_the_best_are_all_shaded():
    metrics = [("mcc", "MCC", "higher")]
    rows = [{"status": "done", "learner": name, "mcc": value} for name, value in (("a", 1.0), ("b", 1.0), ("c", 0.5))]
    table = _rank_html(rank_table(rows, {}, metrics), metrics, "w")
    assert table.count('class="best"') == 2
    tied = [{"status": "done", "learner": name, "mcc": 0.5} for name in "ab"]
    assert 'class="best"' not in _rank_html(rank_table(tied, {}, metrics), metrics, "w")  # all tie: no best


def test_hyperparameter_lines_with_different_values_share_positions(monkeypatch):
    import latentscm.report.study_figures as study_figures

    captured = []
    monkeypatch.setattr(study_figures, "figure_png", lambda figure: captured.append(figure) or b"")
    lines = {"beta=1": {"relu": [0.2], "tanh": [0.8]}, "beta=4": {"tanh": [0.5]}}  # beta=4's relu trial failed
    study_figures.hyperparameter_figure([("MIG", "higher", lines)], "activation")
    axis = captured[0].axes[0]
    ticks = dict(zip(axis.get_xticks(), [label.get_text() for label in axis.get_xticklabels()]))
    drawn = {line.get_label(): [(ticks[x], y) for x, y in zip(line.get_xdata(), line.get_ydata())]
             for line in axis.get_lines()}
    assert drawn == {"beta=1": [("relu", 0.2), ("tanh", 0.8)], "beta=4": [("tanh", 0.5)]}
    captured.clear()  # numbers: one line per beta, the lines' values interleaved, every value ticked
    study_figures.hyperparameter_figure([("MIG", "higher", {"a": {1.0: [0.1], 4.0: [0.2]}, "b": {2: [0.3]}})], "x")
    assert [label.get_text() for label in captured[0].axes[0].get_xticklabels()] == ["1", "2", "4"]


# ------------------------------------------------------------------------------------ axioms, active pages


def test_axioms_table_lists_every_scored_set(tmp_path):
    scores = {"m": {"length_4": 0.9, "dsep_long": 0.66}}
    text = write_axioms_report(scores, {"length_4": 0.5}, tmp_path / "a.html").read_text()
    row = text.split(">dsep_long<", 1)[1].split("</tr>", 1)[0]
    assert "<td>0.660</td>" in row and "<td>–</td>" in row  # its chance is unknown, not "nan"


def test_axioms_training_band_follows_the_models_params(tmp_path, monkeypatch):
    import latentscm.report.axioms as axioms_report

    seen = []
    original = axioms_report.accuracy_by_length_figure
    monkeypatch.setattr(axioms_report, "accuracy_by_length_figure",
                        lambda scores, chance, **kwargs: seen.append(kwargs) or original(scores, chance, **kwargs))
    scores = {"m": {f"length_{n}": 0.9 for n in range(3, 12)}}
    chance = {f"length_{n}": 0.5 for n in range(3, 12)}
    text = write_axioms_report(scores, chance, tmp_path / "a.html", params={"m": {"max_length": 9}}).read_text()
    assert seen[-1]["train_max_length"] == 9 and "at most 9 nodes (shaded)" in text
    text = write_axioms_report(scores, chance, tmp_path / "b.html",
                               params={"m": {"max_length": 9}, "n": {"max_length": 6}}).read_text()
    assert seen[-1]["train_max_length"] is None and "(shaded)" not in text


def test_active_held_out_table_has_every_models_numbers(tmp_path):
    result = {"agents": {"a": {"reach_curve": [0.0, 0.5, 1.0], "success_rate": 1.0}},
              "held_out": {"baseline": {"free_energy": 10.0}, "rssm": {"free_energy": 8.0, "complexity": 1.25}}}
    text = write_active_report(result, tmp_path / "r.html").read_text()
    table = text.split('id="held-out"', 1)[1].split("</table>", 1)[0]
    assert "<th>complexity</th>" in table and "<td>1.25</td>" in table
