"""Report pages say where an image holds non-finite pixels (drawn black) instead of showing black silently."""

import shutil
import warnings
from html.parser import HTMLParser

import numpy as np
import torch

from latentscm.report.html import build_report
from latentscm.report.images import to_uint8
from latentscm.report.page import non_finite_note


class _Figures(HTMLParser):
    """The non-finite warnings of a page, per section (the <h3> above them)."""

    def __init__(self):
        super().__init__()
        self.section, self.warnings, self._inside = "", {}, None

    def handle_starttag(self, tag, attrs):
        if tag == "h3":
            self._inside = "h3"
            self.section = ""
        elif tag == "span" and "nonfinite" in (dict(attrs).get("class") or "").split():
            self._inside = "span"
            self.warnings.setdefault(self.section, []).append("")

    def handle_data(self, data):
        if self._inside == "h3":
            self.section += data
        elif self._inside == "span":
            self.warnings[self.section][-1] += data

    def handle_endtag(self, tag):
        if tag in ("h3", "span"):
            self._inside = None


def _warnings(path):
    parser = _Figures()
    parser.feed(path.read_text())
    return parser.warnings


def test_a_diverged_decoder_is_named_under_its_pictures(tiny_run, tmp_path):
    from latentscm.run import load, save_learner

    run = tmp_path / "diverged"
    shutil.copytree(tiny_run, run)
    learner = load(run)
    with torch.no_grad():
        for parameter in learner.decoder_.parameters():
            parameter.fill_(float("nan"))
    save_learner(learner, run)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _warnings(build_report([run], tmp_path / "diverged.html", n_images=4))
    assert not [w for w in caught if "invalid value encountered in cast" in str(w.message)]
    reconstruction = found["Reconstructions"]
    assert len(reconstruction) == 1 and "of reconstructions" in reconstruction[0] and "inputs" not in reconstruction[0]
    assert "drawn black" in reconstruction[0]
    counterfactuals = found["Counterfactuals"]
    assert counterfactuals and all("of model" in w and "truth" not in w and "input" not in w for w in counterfactuals)
    assert "of unit" in found["Latent traversals"][0]

    healthy = _warnings(build_report([tiny_run], tmp_path / "healthy.html", n_images=4))
    assert healthy == {}


def test_note_counts_each_row_and_the_drawing_is_defined():
    images = np.full((2, 1, 2, 2), 0.5, dtype=np.float32)
    broken = images.copy()
    broken[0, 0, 0, :] = [np.nan, np.inf]
    assert non_finite_note([("input", images)]) == ""
    assert non_finite_note([("input", images), ("model", broken)]) == (
        "non-finite: 2 of 8 pixel values of model (NaN and -inf drawn black, +inf white)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawn = to_uint8(broken)
    assert drawn[0, 0, 0].tolist() == [0, 0, 0] and drawn[0, 0, 1].tolist() == [255, 255, 255]


def test_probe_pages_name_the_flow_with_non_finite_pixels():
    from latentscm.report.probes import flows_section

    images = np.full((2, 3, 1, 4, 4), 0.5, dtype=np.float32)
    assert "nonfinite" not in flows_section(images)
    images[1, 2, 0, 0, 0] = np.nan
    page = flows_section(images)
    assert "non-finite: 1 of 48 pixel values of flow 1 (" in page and "flow 0" not in page.split("nonfinite")[1]
