"""A real headless Chromium for the report pages (skips, saying why, where none is installed), and a tiny
trained run to build pages from."""

import shutil

import pytest


@pytest.fixture
def browser():
    """A selenium Chrome driver on Debian's chromium + chromedriver, quit after the test."""
    chromium, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver to run this test")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[dev])")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A beta_vae run directory on 16-pixel sprites, trained for 4 steps (one per test module)."""
    from latentscm.learners import make as make_learner
    from latentscm.worlds import make

    out = tmp_path_factory.mktemp("tiny") / "run"
    learner = make_learner("beta_vae", steps=4, batch_size=8, latent_dim=3, channels=(4, 8), hidden_dim=16, seed=0)
    learner.fit(make("sprites", size=16), out=str(out), n_samples=32, progress=False)
    return out
