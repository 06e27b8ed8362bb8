"""Sensitivity of the indirect effect to a hidden mediator-outcome confounder (Imai, Keele & Yamamoto 2010): at the
confounder's true error correlation the analysis recovers the true indirect effect that the plain analysis misses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from latentscm.effects import mediation_analysis, mediation_sensitivity
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Uniform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

A, B = 0.8, 0.6  # the hidden U's loadings on M and Y (unit noise everywhere)
TRUE_RHO = A * B / np.sqrt((A * A + 1) * (B * B + 1))
TRUE_INDIRECT = 0.8 * 0.7
GRAPH = "W -> T; W -> M; T -> M; W -> Y; T -> Y; M -> Y"


def _scm() -> SCM:
    graph = CausalGraph.from_text(GRAPH + "; U -> M; U -> Y")
    return SCM(graph, {
        "W": LinearGaussian(), "U": LinearGaussian(),
        "T": Functional(lambda p, u: (u < 1 / (1 + np.exp(-p[:, 0]))).astype(float), Uniform(0.0, 1.0),
                        parent_names=("W",)),
        "M": LinearGaussian({"T": 0.8, "W": 0.5, "U": A}),
        "Y": LinearGaussian({"T": 1.0, "M": 0.7, "W": 0.6, "U": B}),
    })


def _observed(n: int, seed: int) -> dict[str, np.ndarray]:
    data = _scm().sample(n, seed=seed)
    data.pop("U")
    return data


def test_the_true_error_correlation_recovers_the_indirect_effect():
    data = _observed(20_000, 1)
    result = mediation_sensitivity(data, GRAPH, "T", "Y", "M")
    plain, plain_low, _ = result.at(0.0)
    at_truth, low, high = result.at(TRUE_RHO)
    se = (high - low) / (2 * 1.959964)
    assert abs(at_truth - TRUE_INDIRECT) < 3 * se
    assert plain_low > TRUE_INDIRECT + 5 * se  # ignoring U overstates the indirect effect
    assert result.covariates == ("W",)
    assert abs(result.at(result.rho_at_zero)[0]) < 1e-10
    assert result.r2_residual_product == pytest.approx(result.rho_at_zero ** 2)
    info = result.info
    assert result.r2_total_product == pytest.approx(
        result.rho_at_zero ** 2 * (1 - info["r2_mediator_model"]) * (1 - info["r2_outcome_model"]))
    np.testing.assert_allclose(result.direct + result.indirect, result.total, atol=1e-12)
    grid_value = result.indirect[np.argmin(np.abs(result.rho - 0.3))]
    assert result.at(0.3)[0] == pytest.approx(grid_value, abs=1e-12)


def test_at_zero_it_is_the_product_of_coefficients_with_the_same_error():
    data = _observed(3000, 2)
    result = mediation_sensitivity(data, GRAPH, "T", "Y", "M", rho=[0.0])
    plain = mediation_analysis(data, GRAPH, "T", "Y", "M", interaction=False)
    assert result.indirect[0] == pytest.approx(plain.indirect.estimate, rel=1e-10)
    half = result.indirect_high[0] - result.indirect[0]
    assert half == pytest.approx(plain.indirect.ci_high - plain.indirect.estimate, rel=0.05)
    assert result.total == pytest.approx(plain.total.estimate, rel=0.02)


def test_intervals_at_the_true_correlation_are_calibrated():
    """200 fresh data sets: the interval at the true ρ covers the true indirect effect at about the nominal rate
    (binomial 95 % band for 200 draws: 0.92-0.98); the one at ρ = 0 mostly misses it."""
    covered = covered_at_zero = 0
    for r in range(200):
        result = mediation_sensitivity(_observed(1000, 100 + r), None, "T", "Y", "M", covariates=["W"],
                                       rho=[0.0, TRUE_RHO])
        covered += result.indirect_low[1] <= TRUE_INDIRECT <= result.indirect_high[1]
        covered_at_zero += result.indirect_low[0] <= TRUE_INDIRECT <= result.indirect_high[0]
    assert 0.91 <= covered / 200 <= 0.99, covered
    assert covered_at_zero / 200 < 0.5, covered_at_zero


def test_report_plot_and_bad_input():
    import matplotlib

    matplotlib.use("Agg")
    data = _observed(500, 3)
    result = mediation_sensitivity(data, GRAPH, "T", "Y", "M", rho=np.linspace(-0.5, 0.5, 11))
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert len(payload["rho"]) == 11 and "_parts" not in payload["info"]
    assert "indirect effect is 0 at rho" in str(result)
    ax = result.plot()
    assert ax.get_xlabel().startswith("ρ")
    with pytest.raises(ValueError, match="'rho'"):
        mediation_sensitivity(data, GRAPH, "T", "Y", "M", rho=[0.2, 1.0])
    with pytest.raises(ValueError, match="'mediator'.*single mediator"):
        mediation_sensitivity(data, GRAPH, "T", "Y", ["M"])
    with pytest.raises(ValueError, match="'rho'"):
        result.at(-1.0)
    with pytest.raises(ValueError, match="no set of observed covariates"):
        mediation_sensitivity(data, GRAPH + "; U -> M; U -> Y", "T", "Y", "M")


def test_sensitivity_from_the_command_line(tmp_path):
    data = _observed(600, 4)
    names = list(data)
    rows = np.column_stack([data[k] for k in names])
    (tmp_path / "d.csv").write_text(",".join(names) + "\n" + "\n".join(",".join(f"{v:.10g}" for v in row)
                                                                         for row in rows) + "\n")
    base = ["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y", "--mediation"]
    result = invoke(base + ["--mediators", "M", "--sensitivity", "--plot", tmp_path / "s.png", "--out",
                            tmp_path / "s.json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    payload = json.loads((tmp_path / "s.json").read_text())
    table = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)
    ours = mediation_sensitivity(table, GRAPH, "T", "Y", "M", node_names=names)
    assert payload["rho_at_zero"] == pytest.approx(ours.rho_at_zero, rel=1e-8)
    refused(invoke(base + ["--mediators", "M,W", "--sensitivity"]), "one mediator")
    refused(invoke(base + ["--mediators", "M", "--sensitivity", "--kd", "2"]), "cannot be combined with --kd")
    refused(invoke(base + ["--mediators", "M", "--sensitivity", "--method", "multiply_robust"]), "one mediator")
    refused(invoke(base[:-1] + ["--plot", tmp_path / "p.png"]), "--plot needs --sensitivity")
    assert not (tmp_path / "p.png").exists()
