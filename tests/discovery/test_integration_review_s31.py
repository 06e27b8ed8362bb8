"""Review (s31): end-to-end CLI checks of the new discovery features that found defects, kept as regression tests
(gfci pairs its CI test with --param score=bdeu; BDeu on fractional columns names the score)."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from latentscm.cli import app


def _text_csv(path):
    """A small text-category table x -> y -> z (n = 600) written to ``path``."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 600)
    y = (x + (rng.random(600) < 0.2)) % 3
    z = (y + (rng.random(600) < 0.2)) % 2
    labels = np.array(["lo", "mid", "hi"])
    rows = ["x,y,z"] + [f"{labels[a]},{labels[b]},{'yes' if c else 'no'}" for a, b, c in zip(x, y, z)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_gfci_with_bdeu_on_text_categories_runs_or_says_which_ci_test_to_use(tmp_path):
    # README: "the three searches (and gfci) take score="bdeu" (numbers or text; discover --param score=bdeu)", and the
    # CLI's own hint for text says "the categorical score of ... gfci: --param score=bdeu". Following it must either
    # work or name the CI test gfci then needs, not fail with "The 'data' argument of gfci must be real numbers".
    data = _text_csv(tmp_path / "survey.csv")
    result = CliRunner().invoke(app, ["discover", str(data), "--method", "gfci", "--param", "score=bdeu",
                                      "--out", str(tmp_path / "pag.json")])
    assert result.exit_code == 0, result.output


def test_bdeu_on_fractional_columns_names_the_score_not_a_ci_test(tmp_path):
    rng = np.random.default_rng(1)
    data = tmp_path / "floats.csv"
    data.write_text("a,b\n" + "\n".join(f"{u},{v}" for u, v in rng.normal(size=(50, 2))) + "\n")
    result = CliRunner().invoke(app, ["discover", str(data), "--method", "ges", "--param", "score=bdeu",
                                      "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2
    assert "score" in result.output.replace(str(tmp_path), ""), result.output
