"""Regression tests of the second s23 review of the report pages: diverged training curves stay drawn, the study's
rank table names seeds without a finite value, bad page arguments are refused under their own names, 8-bit images
are refused, names that are not UTF-8 are written as escapes, the counterfactual chart draws each run's own floor and
the probe tables keep small numbers."""

import json
import os
import shutil

import matplotlib
import numpy as np
import pytest

from latentscm.report.axioms import write_axioms_report
from latentscm.report.html import RunView, _summary_charts, build_report
from latentscm.report.images import image_grid, to_uint8
from latentscm.report.page import page_bytes, plain_text, readable
from latentscm.report.timeseries import timeseries_report

matplotlib.use("Agg")


def _spy(monkeypatch, method):
    """Record the arguments of every call of the matplotlib Axes ``method``."""
    from matplotlib.axes import Axes

    calls = []
    original = getattr(Axes, method)

    def spy(self, *args, **kwargs):
        calls.append((args, kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, method, spy)
    return calls


def test_curves_keep_a_key_whose_last_value_diverged(tmp_path, monkeypatch):
    from latentscm.report.figures import curves_figure
    from latentscm.training.logs import RunLog, read_log

    log = RunLog(tmp_path, tensorboard=False)
    for step in range(1, 5):  # the log writes the infinite kl of the last step as the text "inf"
        log.log({"kind": "train", "step": step, "loss": 1.0 / step, "kl": float("inf") if step == 4 else 0.1,
                 "warm": step > 2})
    log.close()
    titles = _spy(monkeypatch, "set_title")
    assert curves_figure(read_log(tmp_path)) is not None
    drawn = [args[0] for args, _ in titles]
    assert drawn == ["loss", "kl"]  # the diverged curve is drawn; a boolean is not a curve
    plots = _spy(monkeypatch, "plot")
    curves_figure([{"step": 1, "loss": 1.0, "beta": 2.0}, {"step": 2, "loss": "nan"}])
    assert [list(args[1]) for args, _ in plots][0][0] == 1.0 and np.isnan(list(plots[0][0][1])[1])
    assert len(plots) == 2  # beta, missing from the last record, still has its curve


def test_rank_table_names_seeds_without_a_finite_value():
    from latentscm.report.study import _rank_html, rank_table

    rows = [{"status": "done", "learner": "vae", "param.beta": beta, "mig": mig}
            for beta, mig in ((1.0, 0.1), (1.0, 0.2), (4.0, 0.4), (4.0, float("nan")), (8.0, 0.3))]
    metrics = [("mig", "MIG", "higher")]
    entries = rank_table(rows, {"vae": ("beta",)}, metrics)
    by_setting = {e["setting"]: e for e in entries}
    assert by_setting["vae (beta=4)"]["counted"] == {"mig": 1} and by_setting["vae (beta=4)"]["seeds"] == 2
    assert by_setting["vae (beta=4)"]["mean"]["mig"] == 0.4  # the mean itself is unchanged
    table = _rank_html(entries, metrics, "w")
    assert '>0.4 <span class="rank">(1 of 2 seeds)</span>' in table  # not "0.4 ± 0" for two seeds
    assert "0.15 ± 0.05" in table
    assert "0.3 ± " not in table and ">0.3 <span" in table  # one seed has no spread


def test_study_report_refuses_bad_n_images_and_seed_before_blaming_trials(tiny_run, finished_study, tmp_path):
    from latentscm.report.study import build_study_report

    spec = {"name": "args", "steps": 4, "seeds": [0],
            "learners": [{"name": "beta_vae", "label": "vae", "params": {"latent_dim": 3}}],
            "worlds": [{"name": "sprites", "label": "spr", "options": {"size": 16}}]}
    study = finished_study(tmp_path / "study", spec)
    for kwargs, error in (({"n_images": 0}, ValueError), ({"seed": -1}, ValueError), ({"seed": 1.5}, TypeError)):
        with pytest.raises(error, match=f"'{next(iter(kwargs))}' parameter of build_study_report"):
            build_study_report(study, **kwargs)
        assert not (study / "report.html").exists()
    with pytest.raises(ValueError, match="'seed' parameter of build_report"):
        build_report([tiny_run], tmp_path / "page.html", seed=-1)


def test_image_grid_refuses_8_bit_images_and_bad_layout():
    ramp = (np.linspace(0, 1, 16).reshape(1, 1, 4, 4) * 255).astype(np.uint8)
    with pytest.raises(ValueError, match="divide 8-bit pictures by 255"):
        image_grid([ramp])
    binary = np.array([[[[0, 1], [1, 0]]]], dtype=np.int64)  # integers 0 and 1 are in [0, 1]
    assert to_uint8(binary)[0, :, :, 0].tolist() == [[0, 255], [255, 0]]
    images = np.zeros((2, 1, 4, 4))
    for kwargs in ({"scale": 0}, {"scale": -2}, {"scale": 2.5}, {"pad": -1}, {"background": 300}):
        with pytest.raises((ValueError, TypeError), match=f"'{next(iter(kwargs))}' parameter of image_grid"):
            image_grid([images], **kwargs)
    assert image_grid([images], scale=3).shape == (24, 42, 3)


def test_timeseries_report_checks_rankings_steps_and_scores(tmp_path):
    series = np.random.default_rng(0).standard_normal((30, 3))
    names = ["a", "b1", "c"]
    out = tmp_path / "page.html"
    for kwargs, error, match in (({"rankings": {"m": "b1"}}, TypeError, "'rankings'"),
                                 ({"onset": "5"}, TypeError, "'onset'"), ({"onset": 30}, ValueError, "'onset'"),
                                 ({"trigger": 2.5}, TypeError, "'trigger'"), ({"onset": -1}, ValueError, "'onset'"),
                                 ({"metrics": {"m": {"PR@1": "high"}}}, TypeError, "'metrics'")):
        with pytest.raises(error, match=match):
            timeseries_report(out, series=series, var_names=names, **kwargs)
        assert not out.exists()
    page = timeseries_report(out, series=series, var_names=names, onset=0, trigger=29,
                             metrics={"m": {"PR@1": None, "PR@3": 1.0}}).read_text()
    assert "<td>m</td><td>–</td><td>1.000</td>" in page  # strict JSON's NaN (null) shown as missing


def test_domain_report_names_its_own_arguments():
    from latentscm.report.domains import domain_counterfactual_section, write_domain_report
    from latentscm.worlds import DomainShift, make

    world = make("hue-sprites", size=16, n_positions=4, domains=DomainShift(2, shifted=("hue",), strength=1.5))
    identity = lambda x, source, target: x  # noqa: E731
    for kwargs in ({"n_eval": 0}, {"seed": -1}, {"n_eval": True}):
        with pytest.raises((ValueError, TypeError), match=f"'{next(iter(kwargs))}' parameter of write_domain_report"):
            write_domain_report(identity, world, "unused.html", **kwargs)
        with pytest.raises((ValueError, TypeError), match=f"'{next(iter(kwargs))}' parameter of "
                                                          "domain_counterfactual_section"):
            domain_counterfactual_section(identity, world, **kwargs)
    section = domain_counterfactual_section(identity, world, n_images=2,
                                            metrics={"dcf.error.0->1": 0.125, "dcf.error.1->0": 0.25})
    assert "error 0.125<" in section and "error 0.25<" in section  # a pair without its floor keeps its error


def test_names_that_are_not_utf8_are_written_as_escapes(tiny_run, tmp_path):
    assert readable("caf\udce9") == "caf\\xe9" and readable("x\ud800") == "x\\ud800" and readable("Δ$") == "Δ$"
    assert plain_text("$caf\udce9") == "\\$caf\\xe9"
    assert page_bytes("<p>caf\udce9 é</p>") == "<p>caf\\xe9 é</p>".encode()
    run = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9")
    shutil.copytree(tiny_run, run)
    with open(os.path.join(run, "metrics.json"), "w") as handle:
        json.dump({"mig": 0.2}, handle)
    other = tmp_path / "other"
    shutil.copytree(tiny_run, other)
    (other / "metrics.json").write_text(json.dumps({"mig": 0.3}))
    page = build_report([run, other], tmp_path / "page.html", n_images=2).read_text(encoding="utf-8")
    assert "<th>caf\\xe9</th>" in page
    series = np.random.default_rng(0).standard_normal((20, 2))
    page = timeseries_report(tmp_path / "ts.html", series=series, var_names=["d\udce9bit", "latency"],
                             title="r\udce9sum\udce9").read_text(encoding="utf-8")
    assert "<title>r\\xe9sum\\xe9</title>" in page


def test_axioms_report_checks_chance_and_train_max_length(tmp_path):
    scores = {"rope": {"length_3": 0.9, "length_8": 0.6}}
    out = tmp_path / "axioms.html"
    for chance in ({"length_3": 1.5}, {"length_3": -0.2}, {"length_3": "0.5"}, {"length_3": True}):
        with pytest.raises(ValueError, match="chance accuracy of set 'length_3'"):
            write_axioms_report(scores, chance, out)
    for length in (0, 2.5, True, "6"):
        with pytest.raises((ValueError, TypeError), match="'train_max_length' parameter of write_axioms_report"):
            write_axioms_report(scores, {"length_3": 0.5}, out, train_max_length=length)
    assert not out.exists()
    page = write_axioms_report(scores, {"length_3": 0.5}, out, params={"rope": {"max_length": True}}).read_text()
    assert "training lengths are not recorded" in page  # a boolean is not a recorded length


def test_counterfactual_chart_draws_each_runs_own_floor(tmp_path, monkeypatch):
    views = []
    for name, error, floor in (("small", 0.005, 0.01), ("big", 0.02, 0.04)):
        view = RunView(name, tmp_path / name)
        view.kinds = {"shape": "do(cause)", "posX": "do(cause)"}
        view.metrics = {"mig": 0.1, **{f"cf.true_error.{f}": error for f in view.kinds},
                        **{f"cf.identity_error.{f}": floor for f in view.kinds}}
        views.append(view)
    ticks = _spy(monkeypatch, "scatter")
    html = _summary_charts(views)
    assert [list(np.ravel(args[1])) for args, _ in ticks] == [[0.01, 0.01], [0.04, 0.04]]
    assert "black tick over each bar" in html
    ticks.clear()
    views[1].metrics.update({f"cf.identity_error.{f}": 0.01 for f in views[1].kinds})  # one world: one tick
    html = _summary_charts(views)
    assert [list(np.ravel(args[1])) for args, _ in ticks] == [[0.01, 0.01]] and "black ticks:" in html


def test_probe_tables_keep_small_numbers():
    from latentscm.report.probes import flows_section

    images = np.zeros((2, 3, 1, 4, 4), dtype=np.float32)
    concentration = {"factors": ["scale", "posX"], "dominant": ["scale", "posX"], "concentration": [0.818, 0.5],
                     "change": [[0.00011, 1.66e-05], [0.0, 0.25]]}
    section = flows_section(images, concentration)
    assert "<td>0.00011</td><td>1.7e-05</td>" in section  # not 0.000 twice
    assert "<td>0.818</td>" in section and "<td>0.000</td><td>0.250</td>" in section  # as before


def test_counterfactual_grid_has_no_excess_without_a_floor(tiny_run):
    import re

    from latentscm.report.html import collect_run
    from latentscm.run import read_config
    from latentscm.training.resume import world_from_config

    world = world_from_config(read_config(tiny_run), tiny_run)
    view = collect_run(tiny_run, n_images=1, seed=3)  # one 16-pixel sprite: some interventions change nothing
    batch, rng = world.sample(1, seed=3), np.random.default_rng(3)
    floors = {}
    for spec in world.factor_specs:  # the report's own draws
        target = float(spec.other_values(batch.factor(spec.name)[:1], rng)[0])
        floors[spec.name] = float(np.abs(batch.images - world.counterfactual(batch, {spec.name: target}).images).mean())
    shown = dict(re.findall(r"do\((\w+) = [^)]*\), 1 images.*?excess e = ([-0-9.]+|– \(these images do not change)",
                            dict(view.figures)["Counterfactuals"]))
    assert set(shown) == set(floors) and 0.0 in floors.values() and min(floors.values()) < max(floors.values())
    for factor, floor in floors.items():  # as counterfactual_metrics: no e without a floor (was noise / 1e-12)
        assert (shown[factor] == "– (these images do not change") == (floor == 0.0), (factor, floor, shown[factor])


def test_notes_and_methods_given_as_one_string_are_refused(tmp_path):
    from latentscm.report.domains import write_domain_report
    from latentscm.report.probes import controls_section, write_probe_report
    from latentscm.worlds import DomainShift, make

    with pytest.raises(TypeError, match="'notes' argument of write_probe_report"):
        write_probe_report(tmp_path / "probes.html", ["<h2>Section</h2>"], notes="run r1; seed 0")
    world = make("hue-sprites", size=16, n_positions=4, domains=DomainShift(2, shifted=("hue",), strength=1.5))
    with pytest.raises(TypeError, match="'notes' argument of write_domain_report"):
        write_domain_report(lambda x, s, t: x, world, tmp_path / "domains.html", n_images=1, n_eval=4, notes="run r1")
    assert not list(tmp_path.iterdir())
    result = {"target": "scale", "factors": ["scale", "posX"], "settings": {},
              "methods": {"masked": {"steps": 1, "gain": 0.5, "reached": True, "drift": {"posX": 0.1},
                                     "counterfactual_error": {"posX": 0.1}}}}
    images = np.zeros((1, 2, 1, 4, 4))
    with pytest.raises(TypeError, match="'methods' argument of controls_section"):
        controls_section(result, images, methods="masked")
    assert "rows: masked; steps" in controls_section(result, images, methods=["masked"])
    page = write_probe_report(tmp_path / "probes.html", ["<h2>Section</h2>"], notes=["run r1"]).read_text()
    assert page.count('<p class="note">') == 1


def test_active_page_shows_numpy_numbers(tmp_path):
    from latentscm.report.active import agent_table, write_active_report

    agents = {"efe": {"reach_curve": [0.0, 0.5, 0.9], "success_rate": np.float32(0.75), "mean_steps": np.int64(3)},
              "random": {"reach_curve": [0.0, 0.1, 0.2], "success_rate": 0.25, "mean_steps": 9.0,
                         "mean_free_energy": True}}
    table = agent_table(agents)
    assert '<td class="best"><b>0.75</b> ★</td><td>0.25</td>' in table  # was "–" (missing) for the numpy number
    assert '<td class="best"><b>3</b> ★</td><td>9</td>' in table
    assert "<td>1</td>" not in table  # a boolean is not a number to show
    page = write_active_report({"agents": agents, "held_out": {"m": {"free_energy": np.float32(1.25)}}},
                               tmp_path / "active.html").read_text()
    assert "<td>m</td><td>1.25</td>" in page
