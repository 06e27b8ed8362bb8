"""The HTML report, built from a real (tiny) training run and opened in a real headless
Chromium when one is installed (Debian's chromium + chromium-driver; .ci/run installs them)."""

import json
import re

import numpy as np
import pytest

from latentscm.report.html import build_report
from latentscm.worlds import make


def _train(out, beta, seed):
    from latentscm.learners import make as make_learner
    from latentscm.metrics.evaluate import evaluate
    from latentscm.metrics.factor_regressor import FactorRegressor

    world = make("pendulum", size=32)
    learner = make_learner("beta_vae", steps=30, batch_size=32, latent_dim=4, channels=(16, 16, 32),
                           hidden_dim=64, seed=seed, beta=beta)
    learner.fit(world, out=str(out), n_samples=256, progress=False)
    # real metrics of the run, as `latentscm evaluate` writes them (tiny budgets)
    regressor = FactorRegressor(n_train=200, n_test=50, steps=20, seed=0).fit(world)
    metrics = evaluate(learner, world, n=200, seed=3, counterfactuals="traversal", n_counterfactual=8,
                       regressor=regressor, activity=False)
    batch = world.sample(200, seed=3)
    codes = learner.encode(batch.images)
    correlation = np.abs(np.corrcoef(codes.T, batch.factors.T)[: codes.shape[1], codes.shape[1]:])
    metrics["max_abs_correlation"] = float(correlation.max())
    (out / "metrics.json").write_text(json.dumps(metrics))
    return out


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [_train(root / "beta", 4.0, 0), _train(root / "beta1", 1.0, 1)]


@pytest.fixture(scope="module")
def report(run_dirs, tmp_path_factory):
    return build_report(run_dirs, tmp_path_factory.mktemp("report") / "report.html", n_images=4)


def test_report_is_self_contained(report, run_dirs):
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=\"https?://", text)  # nothing fetched from the network
    for section in ("Summary", "Reconstructions", "Latent traversals", "Counterfactuals", "Causal graphs",
                    "Training curves", "All metrics"):
        assert f">{section}<" in text
    # the headline table comes first, the full table last (collapsed)
    assert text.index('id="headline"') < text.index("Reconstructions") < text.index('id="all-metrics"')
    assert text.index('<details id="all-metrics">') < text.index('id="metrics"')
    assert "max_abs_correlation" in text.split('id="all-metrics"', 1)[1]
    headline = text.split('id="headline"', 1)[1].split("</table>", 1)[0]
    rows = headline.split("<tr>")[2:]
    assert {"MIG", "true-CF error", "excess e"} <= {re.search(r">([^<]+)</td>", r).group(1) for r in rows}
    for row in rows:  # the best run is marked, except on the floor row and where the runs tie
        values = re.findall(r"<td(?: class=\"best\")?>(?:<b>)?([-0-9.e]+)", row)
        expected = 0 if "change nothing" in row or len(set(values)) < 2 else 1
        assert row.count("★") == expected, row
    assert "higher is better" in headline and "lower is better" in headline
    # best value really is the best: MIG row
    mig = [json.loads((d / "metrics.json").read_text())["mig"] for d in run_dirs]
    mig_row = next(r for r in rows if ">MIG<" in r)
    assert f"<b>{max(mig):.4g}</b>" in mig_row
    # counterfactual grids for every pendulum factor: labelled rows, do(cause) and do(effect) grouped,
    # each grid's own true-counterfactual error beside it
    for label in ("input", "model", "truth"):
        assert text.count(f'<th scope="row">{label}</th>') == 8  # 4 factors x 2 runs
    assert text.index("do(cause): factors without parents") < text.index("do(effect): factors with parents")
    assert text.count("true-counterfactual error <b>") == 8 and text.count("normalised excess e = ") == 8
    assert text.count("(from metrics.json)") == 4  # the shadows' cause leak, measured by evaluate
    assert text.count('class="how"') >= 6  # one sentence per section on how to read it


def test_report_needs_runs(tmp_path):
    with pytest.raises(ValueError, match="at least one run"):
        build_report([], tmp_path / "r.html")


def test_report_renders_in_a_real_browser(report, browser):
    from selenium.webdriver.common.by import By

    browser.get(report.resolve().as_uri())
    headline = browser.find_element(By.ID, "headline")
    assert "MIG" in headline.text and "★" in headline.text
    table = browser.find_element(By.ID, "metrics")
    assert not table.is_displayed()  # the full table starts collapsed
    browser.find_element(By.CSS_SELECTOR, "#all-metrics summary").click()
    assert table.is_displayed() and "max_abs_correlation" in table.text
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 8
    widths = [browser.execute_script("return arguments[0].complete ? arguments[0].naturalWidth : 0;", image)
              for image in images]
    assert all(width > 0 for width in widths), widths
    grids = browser.find_elements(By.CSS_SELECTOR, "table.cfgrid img")
    assert len(grids) == 24  # 2 runs x 4 factors x (input, model, truth)
    heights = [browser.execute_script("return arguments[0].naturalHeight;", image) for image in grids]
    assert min(heights) >= 96, heights  # 32 px cells upscaled (nearest) to at least 96 px


def test_report_reads_the_metrics_latentscm_evaluate_writes(run_dirs, tmp_path):
    import shutil

    from latentscm.cli.train import evaluate_run

    run = shutil.copytree(run_dirs[0], tmp_path / "evaluated")
    (run / "metrics.json").unlink()
    summary = evaluate_run(run, n=200, seed=5)
    assert isinstance(json.loads((run / "metrics.json").read_text())["metrics"], dict)  # the nested form
    text = build_report([run], tmp_path / "r.html", n_images=2).read_text()
    headline = text.split('id="headline"', 1)[1].split("</table>", 1)[0]
    mig_row = next(r for r in headline.split("<tr>") if ">MIG<" in r)
    assert f"{summary['metrics']['mig']:.4g}" in mig_row
    assert "reconstruction.mse" in text.split('id="all-metrics"', 1)[1]
