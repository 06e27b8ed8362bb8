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


@pytest.fixture
def html_ids():
    """``html_ids(page)`` -> the ``id`` attributes of an HTML page's elements, in order."""
    from html.parser import HTMLParser

    class Ids(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids = []

        def handle_starttag(self, tag, attrs):
            self.ids += [value for name, value in attrs if name == "id"]

    def ids(page):
        parser = Ids()
        parser.feed(page)
        return parser.ids

    return ids


@pytest.fixture
def finished_study(tiny_run):
    """``finished_study(directory, spec, metrics={"mig": 0.3})`` -> a study directory whose every trial is done,
    each a copy of ``tiny_run`` with those metrics."""
    import json

    from latentscm._io import atomic_write_json
    from latentscm.study.spec import load_spec
    from latentscm.study.status import trial_dir
    from latentscm.study.trials import expand

    def make(directory, spec, metrics=None):
        directory.mkdir()
        (directory / "study.json").write_text(json.dumps(spec))
        for trial in expand(load_spec(spec)):
            where = trial_dir(directory, trial.id)
            shutil.copytree(tiny_run, where)
            (where / "metrics.json").write_text(json.dumps({"mig": 0.3} if metrics is None else metrics))
            atomic_write_json(where / "status.json", {"status": "done", "attempts": 1})
        return directory

    return make
