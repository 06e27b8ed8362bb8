"""The HTML report, built from a real (tiny) training run and opened in a real headless
Chromium when one is installed (Debian's chromium + chromium-driver; .ci/run installs them)."""

import json
import re
import shutil

import numpy as np
import pytest

from latentscm.report.html import build_report
from latentscm.worlds import make


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from latentscm.learners import make as make_learner

    out = tmp_path_factory.mktemp("runs") / "beta"
    world = make("pendulum", size=32)
    learner = make_learner("beta_vae", steps=30, batch_size=32, latent_dim=4, channels=(16, 16, 32),
                           hidden_dim=64, seed=0)
    learner.fit(world, out=str(out), n_samples=256, progress=False)
    # a real metric of the run, as `latentscm evaluate` would write it
    batch = world.sample(200, seed=3)
    codes = learner.encode(batch.images)
    correlation = np.abs(np.corrcoef(codes.T, batch.factors.T)[: codes.shape[1], codes.shape[1]:])
    (out / "metrics.json").write_text(json.dumps({"max_abs_correlation": float(correlation.max())}))
    return out


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    return build_report([run_dir], tmp_path_factory.mktemp("report") / "report.html", n_images=4)


def test_report_is_self_contained(report):
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=\"https?://", text)  # nothing fetched from the network
    for section in ("Metrics", "Reconstructions", "Latent traversals", "Counterfactuals", "Causal graphs",
                    "Training curves"):
        assert f">{section}<" in text
    assert 'id="metrics"' in text and "max_abs_correlation" in text
    # counterfactual grids for every pendulum factor: labelled rows, do(cause) and do(effect) grouped,
    # each grid's own true-counterfactual error beside it
    for label in ("input", "model", "truth"):
        assert text.count(f'<th scope="row">{label}</th>') == 4
    assert text.index("do(cause): factors without parents") < text.index("do(effect): factors with parents")
    assert text.count("true-counterfactual error <b>") == 4 and text.count("normalised excess e = ") == 4
    assert text.count("cause leak: run <code>latentscm evaluate</code>") == 2  # the two shadows have parents
    assert text.count("data:image/png;base64,") >= 16


def test_report_needs_runs(tmp_path):
    with pytest.raises(ValueError, match="at least one run"):
        build_report([], tmp_path / "r.html")


def _browser():
    chromium, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver to run this test")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[dev])")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def test_report_renders_in_a_real_browser(report):
    from selenium.webdriver.common.by import By

    browser = _browser()
    try:
        browser.get(report.resolve().as_uri())
        table = browser.find_element(By.ID, "metrics")
        assert "max_abs_correlation" in table.text
        images = browser.find_elements(By.TAG_NAME, "img")
        assert len(images) >= 8
        widths = [browser.execute_script("return arguments[0].complete ? arguments[0].naturalWidth : 0;", image)
                  for image in images]
        assert all(width > 0 for width in widths), widths
        grids = browser.find_elements(By.CSS_SELECTOR, "table.cfgrid img")
        assert len(grids) == 12  # 4 factors x (input, model, truth)
        heights = [browser.execute_script("return arguments[0].naturalHeight;", image) for image in grids]
        assert min(heights) >= 96, heights  # 32 px cells upscaled (nearest) to at least 96 px
    finally:
        browser.quit()
