"""The study report, built from a real (tiny) study and opened in a real headless Chromium when
one is installed (Debian's chromium + chromium-driver; .ci/run installs them)."""

import re

import numpy as np
import pytest

from latentscm import study
from latentscm.report.study import build_study_report, metric_correlations, rank_table, study_metrics
from latentscm.worlds import make as make_world

TINY = {"latent_dim": 3, "channels": [4, 8], "hidden_dim": 16, "batch_size": 8, "lr": 1e-3}
SPEC = {
    "name": "report-test", "preset": None, "steps": 6, "seeds": [0, 1],
    "learners": {"beta_vae": {"params": dict(TINY), "variants": [{"beta": 1.0}, {"beta": 4.0}, {"beta": -1.0}]},
                 "beta_tcvae": {"params": dict(TINY), "grid": {"beta": [1.0, 4.0]}}},
    "worlds": {"sprites": {"size": 16}},
    "training": {"n_samples": 64, "checkpoint_every": 6},
    "evaluation": {"suite": ["mig", "dci", "mcc"], "n": 100, "activity": False},
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    result = study.run(SPEC, out, executor="sequential", threads=1, retries=0, progress=False)
    return out, result


@pytest.fixture(scope="module")
def report(finished):
    out, _ = finished
    return build_study_report(out, n_images=3)


def test_study_report_sections_and_numbers(report, finished):
    out, result = finished
    rows = result.rows
    assert result.counts() == {"done": 8, "failed": 2, "running": 0, "pending": 0}
    text = report.read_text()
    assert report == out / "report.html" and text.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=\"https?://", text)  # nothing fetched from the network
    for section in ("Summary", "World: sprites", "Metrics against each hyperparameter", "Rank table",
                    "Do the metrics agree?", "Best run per learner"):
        assert f">{section}<" in text, section
    # failures are listed with their message
    failed = text.split('id="failed"', 1)[1].split("</table>", 1)[0]
    assert failed.count("<tr>") == 3 and "must be a float &gt;= 0. Got -1.0" in failed

    # rank table: one row per learner setting, #1 in MIG is the setting with the highest mean MIG
    table = text.split('id="ranks-sprites"', 1)[1].split("</table>", 1)[0]
    settings = re.findall(r"<tr><td>([^<]+)</td><td>2</td>", table)
    assert sorted(settings) == ["beta_tcvae (beta=1)", "beta_tcvae (beta=4)", "beta_vae (beta=1)", "beta_vae (beta=4)"]
    done = [r for r in rows if r["status"] == "done"]
    means = {(r["learner"], r["param.beta"]): np.mean([s["mig"] for s in done if (s["learner"], s["param.beta"]) ==
                                                       (r["learner"], r["param.beta"])]) for r in done}
    learner, beta = max(means, key=means.get)
    best_row = next(r for r in re.findall(r"<tr>.*?</tr>", table) if f"<td>{learner} (beta={beta:g})</td>" in r)
    mig_cell = re.findall(r"<td(?: class=\"best\")?>([^<]*)<span class=\"rank\">#([0-9.]+)</span>", best_row)[0]
    assert mig_cell[1] == "1" and mig_cell[0].startswith(f"{means[(learner, beta)]:.4g}")

    # best run per learner: the run with the highest MIG, with its counterfactual grid (input / model / truth)
    for name in ("beta_vae", "beta_tcvae"):
        best = max((r for r in done if r["learner"] == name), key=lambda r: r["mig"])
        heading = text.split(f'id="best-sprites-{name}"', 1)[1].split("</h3>", 1)[0]
        assert best["trial"] in heading
    factors = len(make_world("sprites", size=16).factor_names)
    for label in ("input", "model", "truth"):
        assert text.count(f'<th scope="row">{label}</th>') == 2 * factors
    assert text.count('alt="metric correlations on sprites"') == 1
    assert text.count(": metrics against beta on sprites") == 2


def test_rank_table_and_correlations_by_hand(finished):
    _, result = finished
    rows = result.rows
    metrics = study_metrics(rows)
    assert [key for key, _, _ in metrics][:2] == ["mig", "dci.disentanglement"]
    entries = rank_table(rows, {"beta_vae": ("beta",), "beta_tcvae": ("beta",)}, metrics)
    assert len(entries) == 4 and all(e["seeds"] == 2 for e in entries)
    assert sorted(e["rank"]["mig"] for e in entries)[0] <= 1.5 and sum(e["rank"]["mig"] for e in entries) == 10
    for a in entries:  # a higher mean MIG is a better (smaller) rank; lower is better for reconstruction
        for b in entries:
            if a["mean"]["mig"] > b["mean"]["mig"]:
                assert a["rank"]["mig"] < b["rank"]["mig"]
            if "reconstruction.mse" in a["mean"] and a["mean"]["reconstruction.mse"] < b["mean"]["reconstruction.mse"]:
                assert a["rank"]["reconstruction.mse"] < b["rank"]["reconstruction.mse"]
    mean_ranks = [e["mean_rank"] for e in entries]
    assert mean_ranks == sorted(mean_ranks)
    matrix, labels = metric_correlations(rows, ["mig", "mcc", "dci.disentanglement"])
    assert labels == ["mig", "mcc", "dci.disentanglement"]
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    from scipy.stats import spearmanr

    done = [r for r in rows if r["status"] == "done"]
    expected = spearmanr([r["mig"] for r in done], [r["mcc"] for r in done]).statistic
    assert matrix[0, 1] == pytest.approx(expected)


def test_study_report_errors(finished, tmp_path):
    out, _ = finished
    with pytest.raises(FileNotFoundError, match="not a study directory"):
        build_study_report(tmp_path)
    with pytest.raises(ValueError, match="'metric' argument of build_study_report must be a metric"):
        build_study_report(out, tmp_path / "r.html", metric="nope")


def test_study_report_renders_in_a_real_browser(report, browser):
    from selenium.webdriver.common.by import By

    browser.get(report.resolve().as_uri())
    ranks = browser.find_element(By.ID, "ranks-sprites")
    assert ranks.is_displayed() and "#1" in ranks.text and "beta_tcvae (beta=4)" in ranks.text
    assert "must be a float >= 0" in browser.find_element(By.ID, "failed").text
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 6  # 2 hyperparameter plots, 1 correlation map, grids of the best runs
    widths = [browser.execute_script("return arguments[0].complete ? arguments[0].naturalWidth : 0;", image)
              for image in images]
    assert all(width > 0 for width in widths), widths
    grids = browser.find_elements(By.CSS_SELECTOR, "table.cfgrid img")
    heights = [browser.execute_script("return arguments[0].naturalHeight;", image) for image in grids]
    assert grids and min(heights) >= 96, heights  # 16 px cells upscaled (nearest) to at least 96 px
