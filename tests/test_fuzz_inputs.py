"""Hypothesis-fuzzed user input: intervention strings, graph text, KEY=VALUE options, CSV tables
and run directories give a clear error (ValueError/TypeError naming the input) or a result,
never a traceback from deep inside numpy or torch, and never a half-written output."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.cli.assignments import parse_assignments
from latentscm.graph import CausalGraph
from latentscm.interventions import parse_interventions

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=st.sampled_from(list("ab_x1 .,;:=+*-><()[]{}'\"\\\n\t\u00e9nan")), max_size=40)


@FAST
@given(TEXT)
def test_intervention_strings(text):
    try:
        parsed = parse_interventions(text)
    except ValueError as error:
        assert str(error)
    else:
        assert isinstance(parsed, dict)


@FAST
@given(TEXT)
def test_graph_text(text):
    try:
        graph = CausalGraph.from_text(text)
    except ValueError as error:
        assert str(error)
    else:
        graph.topological_order()


@FAST
@given(st.lists(TEXT, max_size=4))
def test_assignments(items):
    try:
        parsed = parse_assignments(items, option="--set")
    except ValueError as error:
        assert "--set" in str(error)
    else:
        assert set(parsed) <= {item.partition("=")[0].strip() for item in items}


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["", "x", "1e400", "-0"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=6),
       constant=st.booleans(), duplicate=st.booleans())
def test_discover_csv(tmp_path_factory, rows, constant, duplicate):
    folder = tmp_path_factory.mktemp("csv")
    if constant:
        rows = [[row[0], "1.0", row[2]] for row in rows]
    header = "a,a,c" if duplicate else "a,b,c"
    (folder / "data.csv").write_text(header + "\n" + "\n".join(",".join(row) for row in rows) + "\n")
    out = folder / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(folder / "data.csv"), "--ci", "fisherz", "--out", str(out)])
    if result.exit_code == 0:
        json.loads(out.read_text())  # whole, valid JSON
    else:
        assert result.exit_code == 2, (result.exit_code, result.output, repr(result.exception))
        assert "Error" in result.output and not out.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporaries


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_tampered_run_config(tmp_path_factory, data):
    """config.json cut short or with entries of the wrong type: a clear error from load."""
    import latentscm

    folder = tmp_path_factory.mktemp("run")
    config = {"learner": {"class": "latentscm.learners.vae:BetaVAE", "params": {"latent_dim": 3}},
              "data": {"kind": "world", "world": "sprites", "options": {"size": 16}}}
    text = json.dumps(config)
    choice = data.draw(st.sampled_from(["truncate", "learner", "params", "class"]))
    if choice == "truncate":
        text = text[: data.draw(st.integers(0, len(text) - 1))]
    else:
        junk = data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)))
        if choice == "learner":
            config["learner"] = junk
        elif choice == "params":
            config["learner"]["params"] = junk
        else:
            config["learner"]["class"] = junk
        text = json.dumps(config)
    (folder / "config.json").write_text(text)
    try:
        latentscm.load(folder)
    except (ValueError, TypeError, FileNotFoundError) as error:
        assert str(error)
    else:
        raise AssertionError("a tampered run directory loaded")


def test_nan_csv_is_named(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n" + "\n".join(f"{v},1" for v in np.r_[np.arange(20.0), np.nan]))
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "d.csv"), "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2 and "Error" in result.output


@pytest.mark.parametrize("codes", [np.ones((20, 2)) + 0.5j, np.full((20, 2), "1.5")])
def test_metrics_refuse_complex_and_text_codes(codes):
    """check_array cast complex codes to float with only a ComplexWarning (the imaginary part dropped)
    and read numeric text as numbers, so every metric scored them."""
    from latentscm.metrics import mig

    factors = np.repeat(np.arange(4.0), 5)[:, None]
    with pytest.raises(TypeError, match="must be real numbers"):
        mig(codes, factors)
