"""`latentscm axioms show | train | evaluate` with tiny sizes, and the HTML report piece."""

import json
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.report.axioms import write_axioms_report

runner = CliRunner()
TINY = ["--d-model", "16", "--layers", "1", "--heads", "2", "--d-ff", "32", "--batch-size", "8", "--quiet"]


class _Page(HTMLParser):
    """Collects images, table cells and headings of a page."""

    def __init__(self):
        super().__init__()
        self.images, self.cells, self.headings, self._where = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("td", "h1", "h2"):
            self._where = tag

    def handle_endtag(self, tag):
        if tag == self._where:
            self._where = None

    def handle_data(self, data):
        if self._where == "td":
            self.cells.append(data.strip())
        elif self._where in ("h1", "h2"):
            self.headings.append(data.strip())


def test_show_prints_demonstrations():
    result = runner.invoke(app, ["axioms", "show", "--n", "2", "--seed", "1", "--tokens"])
    assert result.exit_code == 0, result.output
    assert result.output.count("causes") >= 2 and ("? " in result.output or "dsep" in result.output)
    bad = runner.invoke(app, ["axioms", "show", "--min-length", "1"])
    assert bad.exit_code == 2 and "min_length" in bad.output


def test_train_resume_and_evaluate(tmp_path):
    perturbed, plain = tmp_path / "perturbed", tmp_path / "plain"
    first = runner.invoke(app, ["axioms", "train", "--out", str(perturbed), "--steps", "2", *TINY])
    assert first.exit_code == 0, first.output
    assert (perturbed / "model.pt").is_file() and (perturbed / "train.jsonl").is_file()
    again = runner.invoke(app, ["axioms", "train", "--out", str(perturbed), "--steps", "2", *TINY])
    assert again.exit_code == 2 and "already holds a run" in again.output
    resumed = runner.invoke(app, ["axioms", "train", "--out", str(perturbed), "--steps", "2", "--resume", *TINY])
    assert resumed.exit_code == 0, resumed.output
    assert runner.invoke(app, ["axioms", "train", "--out", str(plain), "--steps", "2", "--no-perturb",
                               *TINY]).exit_code == 0
    out, report = tmp_path / "metrics.json", tmp_path / "axioms.html"
    result = runner.invoke(app, ["axioms", "evaluate", str(perturbed), str(plain), "--out", str(out), "--report",
                                 str(report), "--n-per-set", "4", "--max-length", "8"])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert set(payload["accuracy"]) == {"perturbed", "plain"}
    assert set(payload["accuracy"]["plain"]) == set(payload["chance"])
    assert {"length_3", "length_8", "reversed", "branched", "dsep_long"} <= set(payload["chance"])
    page = _Page()
    page.feed(report.read_text())
    assert page.images and page.images[0].startswith("data:image/png;base64,")
    assert "length_8" in page.cells and "dsep_branched" in page.cells
    # the summary's long group is what --max-length makes it: lengths 7..8 here, the rest short
    accuracy = payload["accuracy"]["plain"]
    long = [accuracy[f"length_{n}"] for n in (7, 8)]
    short = [accuracy[f"length_{n}"] for n in range(3, 7)]
    assert payload["summary"]["plain"]["length_mean_long"] == pytest.approx(sum(long) / 2)
    assert payload["summary"]["plain"]["length_mean_short"] == pytest.approx(sum(short) / 4)
    missing = runner.invoke(app, ["axioms", "evaluate", str(tmp_path / "nope"), "--out", str(out)])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    folder = runner.invoke(app, ["axioms", "evaluate", str(plain), "--out", str(tmp_path)])
    assert folder.exit_code == 2 and "--out" in folder.output and "is a directory" in folder.output


def test_train_rejects_bad_options(tmp_path):
    result = runner.invoke(app, ["axioms", "train", "--out", str(tmp_path / "x"), "--positional", "rotary", *TINY])
    assert result.exit_code == 2 and "'positional'" in result.output
    diverged = runner.invoke(app, ["axioms", "train", "--out", str(tmp_path / "y"), "--steps", "3", "--lr", "1e38",
                                   *TINY])
    assert diverged.exit_code == 2 and "lower 'lr'" in diverged.output


def test_report_is_self_contained_and_marks_the_best(tmp_path):
    scores = {"perturbed": {"length_3": 0.9, "length_7": 0.8, "branched": 0.7},
              "unperturbed": {"length_3": 0.95, "length_7": 0.6, "branched": 0.5}}
    chance = {"length_3": 0.5, "length_7": 0.52, "branched": 0.51}
    path = write_axioms_report(scores, chance, tmp_path / "r.html", params={"perturbed": {"lr": 0.001}})
    text = path.read_text()
    page = _Page()
    page.feed(text)
    assert "http://" not in text and "https://" not in text  # no network resources
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    assert page.cells[:4] == ["length_3", "0.900", "0.950", "0.500"]
    assert '<td class="best"><b>0.800</b></td>' in text and '<td class="best"><b>0.950</b></td>' in text
    assert "Accuracy by chain length" in page.headings
    with pytest.raises(ValueError, match="'perturbed' on set 'length_3'"):
        write_axioms_report({"perturbed": {"length_3": 1.5}}, chance, tmp_path / "bad.html")
    with pytest.raises(ValueError, match="at least one model"):
        write_axioms_report({}, chance, tmp_path / "bad.html")
