"""Session 26 review of the report pages: user text (run, factor, variable, metric, learner and world names,
settings, error messages) stays text on every page, checked with an HTML parser and in a real headless Chromium;
a diverged run's metrics are shown as such; probe tables name infinite values; the time-series graph caption
says what the red edges mean."""

import json
import re
import shutil
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pytest

from latentscm.report import build_report
from latentscm.report.active import write_active_report
from latentscm.report.axioms import write_axioms_report
from latentscm.report.domains import write_domain_report
from latentscm.report.probes import _table, controls_section, extreme_section, flows_section, write_probe_report
from latentscm.report.study import build_study_report
from latentscm.report.timeseries import timeseries_report
from latentscm.worlds import DomainShift
from latentscm.worlds import make as make_world

#: every way out of a text node or an attribute value: a tag with a handler, a script, both quotes, a closing tag
HOSTILE = "<img src=x onerror=\"document.body.dataset.pwned='img'\">\"'</script><script>window.pwned=1</script>"


class _Injected(HTMLParser):
    """The elements and attributes of a page that came from :data:`HOSTILE` (none when it stayed text)."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "script" or any(name.startswith("on") for name, _ in attrs):
            self.found.append((tag, attrs))


def _injected(page: str) -> list:
    parser = _Injected()
    parser.feed(page)
    return parser.found


def _effects(scale):
    """What extreme_section reads of an ExtremeValueEffects (one unit, one factor)."""
    return SimpleNamespace(effect_per_range=np.array([[0.1]]), effect_per_range_ci=np.array([[[0.0, 0.2]]]),
                           excludes_zero=lambda: np.array([[True]]), units=[0], factor_names=[HOSTILE],
                           measure=HOSTILE, ci=0.95, readout_error={HOSTILE: 0.1}, settings={"scale": scale})


def _probe_page(path):
    flows = flows_section(np.zeros((2, 3, 1, 8, 8)), {"factors": [HOSTILE], "dominant": [HOSTILE, HOSTILE],
                                                       "concentration": [0.5, 0.5], "change": [[0.1], [0.2]]}, 0.6)
    other = HOSTILE + "2"
    controls = controls_section(
        {"target": HOSTILE, "factors": [HOSTILE, other], "settings": {"target_change": 0.2},
         "methods": {HOSTILE: {"steps": 3, "gain": 0.2, "reached": True, "drift_at_target": {other: 0.1},
                               "drift": {other: 0.1}, "counterfactual_error": {other: 0.1},
                               "curve": {"gain": [0.0, 0.2], "drift": {other: [0.0, 0.1]}}}}},
        np.zeros((1, 3, 1, 8, 8)), [HOSTILE])
    return write_probe_report(path, [extreme_section(_effects(HOSTILE)), flows, controls], title=HOSTILE,
                              notes=[HOSTILE])


def _light_pages(tmp_path):
    """Every page that needs no trained run, hostile text in each user-controlled slot."""
    names = [HOSTILE + "a", HOSTILE + "b", "c"]
    series = np.random.default_rng(0).standard_normal((30, 3))
    pages = [
        timeseries_report(tmp_path / "ts.html", series=series, var_names=names, true_graph=np.eye(3, k=1),
                          found_graphs={HOSTILE: np.eye(3, k=1)}, rankings={HOSTILE: names}, root_causes=[names[0]],
                          metrics={HOSTILE: {HOSTILE: 0.5}}, title=HOSTILE),
        write_axioms_report({HOSTILE: {"length_3": 0.5, HOSTILE: 0.7}}, {"length_3": 0.5, HOSTILE: 0.5},
                            tmp_path / "axioms.html", title=HOSTILE, intro=HOSTILE,
                            params={HOSTILE: {HOSTILE: HOSTILE, "max_length": 3}}),
        write_active_report({"agents": {HOSTILE: {"reach_curve": [0.0, 1.0], "success_rate": 0.5}},
                             "held_out": {HOSTILE: {HOSTILE: 1.0}}, "settings": {HOSTILE: HOSTILE},
                             "world": {"name": HOSTILE, "options": {HOSTILE: HOSTILE}}},
                            tmp_path / "active.html", episodes={HOSTILE: np.zeros((3, 1, 8, 8))},
                            goal_image=np.zeros((1, 8, 8)), title=HOSTILE),
        _probe_page(tmp_path / "probes.html"),
    ]
    world = make_world("hue-sprites", size=16, n_positions=4,
                       domains=DomainShift(n_domains=2, shifted=("hue",), strength=1.5, seed=0))
    page, _ = write_domain_report(lambda x, source, target: x, world, tmp_path / "domains.html", n_images=2,
                                  n_eval=8, title=HOSTILE, notes=[HOSTILE])
    return [*pages, page]


def test_a_hostile_probe_setting_stays_text():
    section = extreme_section(_effects("<script>window.pwned=1</script>"))
    assert "<script>" not in section and "up to ±&lt;script&gt;window.pwned=1&lt;/script&gt;× that range" in section
    assert "up to ±3× that range" in extreme_section(_effects(3))


def test_pages_without_a_run_keep_hostile_names_as_text(tmp_path):
    for page in _light_pages(tmp_path):
        text = page.read_text()
        assert _injected(text) == [], page.name
        assert "&lt;/script&gt;&lt;script&gt;window.pwned=1" in text, page.name  # shown, as text


def _hostile_runs(tiny_run, tmp_path):
    """A run whose directory name and metric names are hostile, and a study whose labels, name and failure are."""
    run = tmp_path / HOSTILE.replace("/", "|")  # a directory name holds no '/'
    shutil.copytree(tiny_run, run)
    (run / "metrics.json").write_text(json.dumps({HOSTILE: 0.5, "mig": 0.25, f"cf.true_error.{HOSTILE}": 0.3}))
    spec = {"name": HOSTILE, "preset": None, "steps": 4, "seeds": [0, 1],
            "learners": [{"name": "beta_vae", "label": HOSTILE, "params": {"latent_dim": 3},
                          "grid": {"beta": [1.0, 4.0]}}],
            "worlds": [{"name": "sprites", "label": HOSTILE + "w", "options": {"size": 16}}]}
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.json").write_text(json.dumps(spec))
    from latentscm._io import atomic_write_json
    from latentscm.study.spec import load_spec
    from latentscm.study.status import trial_dir
    from latentscm.study.trials import expand

    for k, trial in enumerate(expand(load_spec(spec))):
        where = trial_dir(study, trial.id)
        shutil.copytree(tiny_run, where)
        (where / "metrics.json").write_text(json.dumps({"mig": 0.1 * k, "mcc": 0.5 - 0.1 * k}))
        status = {"status": "failed", "error": HOSTILE} if k == 0 else {"status": "done"}
        atomic_write_json(where / "status.json", {**status, "attempts": 1})
    return [build_report([run], tmp_path / "run.html", title=HOSTILE, intro=HOSTILE, n_images=2),
            build_study_report(study, n_images=2)]


def test_run_and_study_pages_keep_hostile_names_as_text(tiny_run, tmp_path):
    run_page, study_page = _hostile_runs(tiny_run, tmp_path)
    for page in (run_page, study_page):
        assert _injected(page.read_text()) == [], page.name
    study = study_page.read_text()
    assert 'id="failed"' in study and "&lt;/script&gt;&lt;script&gt;window.pwned=1" in study  # failure listed
    assert "World: &lt;img src=x onerror=" in study


def test_no_page_runs_hostile_script_in_a_browser(browser, tiny_run, tmp_path):
    """In Chromium, before the fix, the probe page's scale ran both the script and the image handler."""
    pages = [*_light_pages(tmp_path), *_hostile_runs(tiny_run, tmp_path)]
    for page in pages:
        browser.get(page.as_uri())
        assert browser.execute_script("return document.readyState") == "complete"
        ran = browser.execute_script("return [window.pwned || null, document.body.dataset.pwned || null]")
        assert ran == [None, None], page.name
        assert browser.execute_script("return document.querySelectorAll('script, img[onerror]').length") == 0


def test_headline_shows_a_diverged_runs_metrics(tiny_run, tmp_path):
    """`latentscm evaluate` writes a diverged run's metrics as null; the headline said none had been measured."""
    diverged, fine = tmp_path / "diverged", tmp_path / "fine"
    shutil.copytree(tiny_run, diverged)
    shutil.copytree(tiny_run, fine)
    (diverged / "metrics.json").write_text(json.dumps({"metrics": {"mig": None, "cf.true_error": None}}))
    (fine / "metrics.json").write_text(json.dumps({"mig": 0.25}))
    page = build_report([diverged], tmp_path / "one.html", n_images=2).read_text()
    assert "None of the headline metrics" not in page
    headline = page.split('id="headline"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<tr><td title=[^>]*>([^<]+)</td>.*?<td class=\"nonfinite\">nan</td></tr>", headline) == [
        "MIG", "true-CF error"]
    page = build_report([diverged, fine], tmp_path / "two.html", n_images=2).read_text()
    headline = page.split('id="headline"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", headline.split("<tbody>", 1)[1])
    assert rows[0].endswith('<td class="nonfinite">nan</td><td>0.25</td>')  # no star: one finite value
    assert rows[1].endswith('<td class="nonfinite">nan</td><td>–</td>')  # measured-but-NaN apart from missing


def test_headline_and_full_table_show_metrics_json(tiny_run, tmp_path):
    values = {"a": {"mig": 0.123456, "mcc": 0.9, "cf.true_error": 0.5, "extra": 7.0},
              "b": {"mig": 0.654321, "mcc": 0.2, "cf.true_error": 0.25}}
    for name, metrics in values.items():
        shutil.copytree(tiny_run, tmp_path / name)
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    page = build_report([tmp_path / "a", tmp_path / "b"], tmp_path / "page.html", n_images=2).read_text()
    full = page.split('id="metrics"', 1)[1].split("</table>", 1)[0]
    shown = {row[0]: row[1:] for row in (re.findall(r"<td[^>]*>([^<]*)", r) for r in re.findall(r"<tr>(.*?)</tr>",
                                                                                             full)) if row}
    assert shown == {key: [f"{values[run][key]:.4g}" if key in values[run] else "–" for run in "ab"]
                     for key in ("mig", "mcc", "cf.true_error", "extra")}
    headline = page.split('id="headline"', 1)[1].split("</table>", 1)[0]
    assert '<td>0.1235</td><td class="best"><b>0.6543</b> ★</td>' in headline  # higher is better
    assert '<td>0.5</td><td class="best"><b>0.25</b> ★</td>' in headline  # lower is better


def test_probe_tables_name_infinite_values():
    table = _table(["a", "b", "c", "d"], [[float("inf"), float("-inf"), float("nan"), np.float32(np.inf)]])
    assert "<td>inf</td><td>-inf</td><td>nan</td><td>inf</td>" in table


@pytest.mark.parametrize("truth", [True, False])
def test_timeseries_graph_caption_names_the_reference_graph(tmp_path, truth):
    series = np.random.default_rng(0).standard_normal((20, 2))
    page = timeseries_report(tmp_path / "ts.html", series=series, var_names=["x", "y"],
                             true_graph=np.eye(2, k=1) if truth else None,
                             found_graphs={"m1": np.eye(2, k=1), "m2": np.eye(2, k=-1)}).read_text()
    caption = page.split("<h2>Causal graphs</h2>", 1)[1].split("</p>", 1)[0]
    assert ("the true graph lacks are red" in caption) == truth
    assert ("no true graph was given: edges absent from the first graph (found: m1) are red" in caption) != truth


def test_a_failed_build_or_write_leaves_the_old_page(tmp_path, monkeypatch):
    """Every page is built whole in memory and then renamed into place: a failure in a figure or in the write
    leaves the page that was there, and no temporary file."""
    import latentscm.report.timeseries as timeseries

    out = tmp_path / "page.html"
    out.write_bytes(b"old page")

    def fail(*args, **kwargs):
        raise RuntimeError("failed here")

    series = np.random.default_rng(0).standard_normal((20, 2))
    with monkeypatch.context() as patch:
        patch.setattr(timeseries, "graphs_figure", fail)
        with pytest.raises(RuntimeError, match="failed here"):
            timeseries_report(out, series=series, var_names=["x", "y"], true_graph=np.eye(2))
    builders = [lambda: timeseries_report(out, series=series, var_names=["x", "y"]),
                lambda: write_axioms_report({"m": {"length_3": 0.5}}, {"length_3": 0.5}, out),
                lambda: write_active_report({"agents": {"a": {"reach_curve": [0.0, 1.0]}}}, out),
                lambda: write_probe_report(out, ["<p>section</p>"])]
    monkeypatch.setattr("latentscm._io.os.replace", fail)
    for build in builders:
        with pytest.raises(RuntimeError, match="failed here"):
            build()
    assert out.read_bytes() == b"old page" and sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_active_page_shows_a_diverged_free_energy(tmp_path):
    agents = {"diverged": {"reach_curve": [0.0, 0.5], "success_rate": 0.5, "mean_free_energy": float("inf"),
                           "mean_steps_reached": float("nan")},
              "ok": {"reach_curve": [0.0, 1.0], "success_rate": 1.0, "mean_free_energy": 2.0}}
    page = write_active_report({"agents": agents, "held_out": {"m": {"fe": -np.inf}}}, tmp_path / "a.html")
    text = page.read_text()
    assert ('<td>mean free energy (nats / obs.)</td><td class="dir">lower is better</td>'
            '<td class="nonfinite">inf</td><td>2</td>') in text  # was "–", as if never measured
    assert '<td>mean steps of reached goals</td><td class="dir">lower is better</td><td>–</td><td>–</td>' in text
    assert '<tr><td>m</td><td class="nonfinite">-inf</td></tr>' in text


def test_metric_bars_mark_every_run_tied_for_the_best(monkeypatch):
    """As the headline table stars every run tied for the best, the bars colour them all (only the first was)."""
    from latentscm.report import figures

    monkeypatch.setattr(figures, "figure_png", lambda figure: figure)
    green = (0x2C / 255, 0xA0 / 255, 0x2C / 255)
    for better, values, best in [("higher", {"a": 0.5, "b": 0.5, "c": 0.2}, ["a", "b"]),
                                 ("lower", {"a": 0.3, "b": 0.1, "c": np.nan, "d": 0.1}, ["b", "d"]),
                                 ("lower", {"a": -np.inf, "b": 0.1, "c": 0.2}, ["b"])]:
        figure = figures.metric_bars_figure([("metric", better, values)])
        marked = [name for name, bar in zip(values, figure.axes[0].patches)
                  if np.allclose(bar.get_facecolor()[:3], green)]
        assert marked == best, (better, values)


def test_rank_table_names_a_setting_whose_every_seed_diverged():
    """Its mean rank read "nan" and its metric "–", as if never measured."""
    from latentscm.report.study import _rank_html, rank_table

    rows = [{"status": "done", "learner": "vae", "param.beta": beta, "mig": mig, "sap": 0.1}
            for beta, mig in [(1.0, 0.2), (1.0, 0.3), (4.0, float("nan")), (4.0, float("nan"))]]
    rows.append({"status": "done", "learner": "vae", "param.beta": 8.0})  # measured nothing
    metrics = [("mig", "MIG", "higher")]
    entries = {e["setting"]: e for e in rank_table(rows, {"vae": ("beta",)}, metrics)}
    assert entries["vae (beta=4)"]["counted"] == {"mig": 0} and entries["vae (beta=8)"]["counted"] == {}
    table = _rank_html(list(entries.values()), metrics, "w")
    assert '<tr><td>vae (beta=4)</td><td>2</td><td>–</td><td>– <span class="rank">(0 of 2 seeds)</span></td></tr>' \
        in table
    assert "<tr><td>vae (beta=8)</td><td>1</td><td>–</td><td>–</td></tr>" in table and "nan" not in table
