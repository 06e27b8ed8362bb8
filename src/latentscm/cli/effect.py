"""``latentscm effect``: the average causal effect of one column on another, from a CSV and a causal graph.

    latentscm effect data.csv --graph "Z -> T; Z -> Y; T -> Y" --treatment T --outcome Y
        [--method auto|regression|ipw|aipw|dml] [--adjustment optimal|minimal|parents|canonical|Z,W]
        [--contrast 0,1] [--learner linear|forest|boosting] [--refute] [--out effect.json]
    latentscm effect data.csv --graph "U -> T; U -> Y; T -> M; M -> Y" --treatment T --outcome Y --front-door
        [--mediators minimal|maximal|M1,M2] [--covariates W1,W2]
    latentscm effect data.csv --graph "Z -> T; U -> T; U -> Y; T -> Y" --treatment T --outcome Y --instrument
        [--instruments Z1,Z2] [--covariates W1,W2] [--std-error robust|classical] [--method 2sls|liml|fuller|dml]
    latentscm effect data.csv --graph "..." --treatment T --outcome Y --id [--pseudocount 0.5]   # discrete columns
    latentscm effect data.csv --graph "W -> T; W -> M; T -> M; M -> Y; T -> Y; W -> Y" --treatment T --outcome Y
        --mediation --mediators M [--covariates minimal|ancestral|W] [--method regression|multiply_robust]
    latentscm effect data.csv --graph "X -> T; X -> Y; T -> Y" --treatment T --outcome Y --heterogeneity
        [--modifiers X] [--method dr|r|t|s|x] [--effect-learner linear|forest|boosting] [--groups 5] [--splits 20]
        [--plot g.png]
    latentscm effect --world flow --treatment water_height --outcome flow   # against the world's true effect
    latentscm effect [data.csv] --graph "..." --treatment T --outcome Y --identify [--hidden U1,U2]

``--graph`` is graph text or a JSON file: a graph (``{"nodes", "edges"}``) or what ``latentscm discover
--out`` writes. A discovered CPDAG is used when it identifies the effect (amenable); otherwise ``--ida`` gives
the possible effects over its equivalence class. A PAG (``latentscm discover --method fci``, hidden confounders
allowed) is used when every DAG of its class gives the same adjustment formula. When a DAG's hidden nodes (nodes
that are not columns) leave no adjustment set, ``--front-door`` estimates the effect through mediators that
satisfy the front-door criterion, and ``--instrument`` by two-stage least squares with conditional instruments
(a linear model; the first-stage F, the Anderson-Rubin set and the over-identification test are printed too).
Prints the estimate, and writes it (with the refutation checks) to ``--out`` atomically. ``--identify`` estimates
nothing: it lists every route into the effect (adjustment, front door, instruments, the ID algorithm) for the
observed columns (the CSV's header, or the graph's nodes less ``--hidden``). ``--mediation`` splits the effect into
its natural direct and indirect parts through ``--mediators`` (the graph checks the mediation formula's conditions
and picks the covariates; without ``--graph``, ``--covariates`` is your claim). ``--heterogeneity`` estimates how
the effect of a two-valued treatment varies with ``--modifiers`` (conditional average effects by a meta-learner).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

__all__ = ["register", "read_graph_option"]


def read_graph_option(value: str) -> Any:
    """``--graph``: graph text (``"a -> b; b -> c"``), or a JSON file holding a graph dict (``nodes`` and
    ``edges``), a discovered graph (``nodes`` and ``adjacency``) or a PAG (``nodes`` and ``marks``). Returns a
    CausalGraph, DiscoveredGraph or PartialAncestralGraph."""
    from latentscm.discovery.pag import PartialAncestralGraph
    from latentscm.discovery.result import DiscoveredGraph
    from latentscm.graph import CausalGraph

    path = Path(value)
    if not path.is_file() and ("->" in value or not path.suffix):
        return CausalGraph.from_text(value)
    if not path.is_file():
        raise ValueError(f"--graph {value!r} is neither graph text (with '->') nor an existing file.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"--graph {path}: not a JSON file ({error}).") from None
    if not isinstance(data, dict):
        raise ValueError(f"--graph {path}: expected a JSON object, got {type(data).__name__}.")
    try:
        if "marks" in data:
            return PartialAncestralGraph.from_dict(data)
        if "adjacency" in data:
            return DiscoveredGraph.from_dict(data)
        return CausalGraph.from_dict(data)
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"--graph {path}: {error}") from None


def _numbers(value: str | None, flag: str) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{flag} must be two numbers 't0,t1'. Got {value!r}.") from None
    if len(numbers) != 2:
        raise ValueError(f"{flag} must be two numbers 't0,t1'. Got {value!r}.")
    return numbers[0], numbers[1]


def _adjustment(value: str | None) -> Any:
    """``--adjustment``: None (the graph's default), a set kind, or a comma list of columns."""
    if value is None or value in ("optimal", "minimal", "parents", "canonical"):
        return value
    return [a.strip() for a in value.split(",") if a.strip()]


def _diagnostics(result: Any) -> str:
    """The instrumental estimate's diagnostics in one line each: first stage, Anderson-Rubin set, Sargan."""
    info = result.info
    first = info["first_stage"]
    f_value = first["f_effective"] if info["std_error"] == "robust" else first["f"]
    kind = "effective, robust" if info["std_error"] == "robust" else "classical"
    lines = [f"  first stage: F = {f_value:.4g} ({kind}), partial R^2 = {first['partial_r2']:.3g}"
             + (" -- weak instruments: read the Anderson-Rubin set" if first["weak"] else "")]
    shown = " U ".join(f"[{low:.4g}, {high:.4g}]" for low, high in info["anderson_rubin"]["intervals"]) or "(empty)"
    lines.append(f"  Anderson-Rubin {100 * result.level:g}% set: {shown} ({info['anderson_rubin']['shape']})")
    if "sargan" in info:
        sargan = info["sargan"]
        robust = info["overid_robust"]
        lines.append(f"  over-identification: Sargan chi2({sargan['df']}) = {sargan['statistic']:.4g}, "
                     f"p = {sargan['p_value']:.3g}; robust score test {robust['statistic']:.4g}, "
                     f"p = {robust['p_value']:.3g}")
    lines.append(f"  regression on the covariates alone (biased if the graph is right): {info['ols']:.4g}")
    return "\n".join(lines)


def _csv_header(path: Path) -> list[str]:
    """The column names in the first line of a CSV (the rows are not read: --identify needs only the names)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the CSV's header ({error}).") from None
    if not header:
        raise ValueError(f"{path}: the CSV has no header row.")
    return [name.strip() for name in header]


def _identify(data: Path | None, graph: str | None, hidden: str | None, treatment: str, outcome: str,
              out: Path | None, flags: dict[str, bool]) -> None:
    """``--identify``: print (and write) every route into the effect; ``flags`` are the estimating flags given."""
    from latentscm._io import atomic_write_json
    from latentscm.effects import identify_effect
    from latentscm.effects.estimate import as_causal_dag

    given = [flag for flag, on in flags.items() if on]
    if given:
        raise ValueError(f"--identify lists the routes into the effect and estimates nothing; {', '.join(given)} "
                         f"do{'es' if len(given) == 1 else ''} not apply.")
    if graph is None:
        raise ValueError("--identify needs --graph (and a CSV or --hidden to say which nodes have data).")
    if data is not None and hidden is not None:
        raise ValueError("--hidden and a CSV both say which nodes have data; give one.")
    causal = as_causal_dag(read_graph_option(graph), "--identify")
    roles = {"--treatment": treatment, "--outcome": outcome}
    if data is not None:
        seen = _csv_header(data)
        strangers = [v for v in seen if v not in causal.nodes]
        if strangers:
            raise ValueError(f"{data}: the CSV's columns {strangers} are not nodes of --graph.")
        for flag, name in roles.items():
            if name not in seen:
                raise ValueError(f"{data}: the CSV has no column {name!r} ({flag}); its columns: {seen}.")
    else:
        gone = {a.strip() for a in (hidden or "").split(",") if a.strip()}
        unknown = sorted(gone - set(causal.nodes))
        if unknown:
            raise ValueError(f"--hidden names {unknown}, which are not nodes of the graph.")
        for flag, name in roles.items():
            if name in gone:
                raise ValueError(f"--hidden names {name!r}, the {flag[2:]}; it must have data.")
        seen = [v for v in causal.nodes if v not in gone]
    report = identify_effect(causal, treatment, outcome, observed=seen)
    typer.echo(str(report))
    if out is not None:
        atomic_write_json(out, report.to_dict())
        typer.echo(f"-> {out}")


def _sensitivity(table: dict, causal: Any, treatment: str, outcome: str, *, adjustment: Any, level: float,
                 contrast: Any, benchmark: str | None, kd: str | None, ky: str | None, q: float, plot: Path | None,
                 method: str, learner: str, folds: int, seed: int, refused: dict[str, bool]) -> Any:
    """``effect --sensitivity``: the library's sensitivity analysis, its contour plot written when asked."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.effects import sensitivity_analysis

    named = [flag for flag, given in refused.items() if given]
    if named:
        raise ValueError(f"--sensitivity analyses an adjustment estimate (regression, DML or AIPW); it cannot be "
                         f"combined with {', '.join(named)}.")
    if plot is not None:
        check_output_path(plot, "--plot", suffixes=(".png",))
    if benchmark is None and (kd is not None or ky is not None):
        raise ValueError("--kd and --ky are multiples of a benchmark's strength; give --benchmark.")
    groups = None if benchmark is None else [[p.strip() for p in item.split("+")] if "+" in item else item
                                             for item in (a.strip() for a in benchmark.split(",")) if item]
    multiples = {}
    for flag, text in (("--kd", kd), ("--ky", ky)):
        if text is not None:
            try:
                multiples[flag] = [float(a) for a in text.split(",") if a.strip()]
            except ValueError:
                raise ValueError(f"{flag} must be comma-separated numbers. Got {text!r}.") from None
    result = sensitivity_analysis(table, causal, treatment, outcome, adjustment=adjustment, benchmark=groups,
                                  kd=multiples.get("--kd", (1.0, 2.0, 3.0)), ky=multiples.get("--ky"), q=q,
                                  level=level, contrast=contrast, method=method, outcome_learner=learner,
                                  treatment_learner=learner, n_folds=folds, seed=seed)
    if plot is not None:
        _write_png(result.plot(), plot)
    return result


def _write_png(figure: Any, path: Path) -> None:
    """Write a matplotlib figure as PNG atomically (temporary file, then rename), and close it."""
    import io

    import matplotlib.pyplot as plt

    from latentscm._io import atomic_write

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    atomic_write(path, buffer.getvalue())


def _controlled_option(controlled: str | None) -> dict[str, float] | None:
    """``--controlled M1=0,M2=1.5`` as ``{mediator: value}``, or None."""
    if controlled is None:
        return None
    fixed = {}
    for item in (a.strip() for a in controlled.split(",") if a.strip()):
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--controlled takes 'mediator=value' pairs, comma-separated. Got {item!r}.")
        if name in fixed:
            raise ValueError(f"--controlled names mediator {name!r} twice ({controlled!r}); give each one value.")
        fixed[name] = number
    return fixed


def _mediation_method(method: str, learner: str, folds: int, interaction: bool) -> str:
    """The estimator ``--mediation`` runs (``auto`` is ``regression``), with the options that apply only to the other
    one refused by name."""
    if method not in ("auto", "regression", "multiply_robust"):
        raise ValueError(f"--mediation estimates by the linear mediation formula (--method regression, the default) "
                         f"or the cross-fitted multiply robust estimator (--method multiply_robust); --method "
                         f"{method!r} does not apply.")
    chosen = "regression" if method == "auto" else method
    if chosen == "regression" and (learner != "linear" or folds != 5):
        raise ValueError("--learner and --folds apply to --mediation with --method multiply_robust.")
    if not interaction and chosen != "regression":
        raise ValueError("--no-interaction applies to --mediation with --method regression.")
    return chosen


def _mediation(table: dict, causal: Any, treatment: str, outcome: str, *, mediators: str | None,
               covariates: str | None, intermediates: str | None, controlled: str | None, method: str, learner: str,
               folds: int,
               contrast: Any, level: float, seed: int, interaction: bool, sensitivity: bool, plot: Path | None,
               refused: dict[str, bool]) -> Any:
    """``effect --mediation``: the natural (or interventional) direct and indirect effects through ``--mediators``;
    with ``--sensitivity``, the indirect effect against the mediator-outcome error correlation (and its plot)."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.effects import mediation_analysis, mediation_sensitivity

    clash = [flag for flag, given in refused.items() if given]
    if clash:
        raise ValueError(f"--mediation cannot be combined with {', '.join(clash)}: it splits the effect through "
                         f"--mediators, with covariates the graph (or --covariates) gives.")
    if mediators is None or mediators in ("minimal", "maximal"):
        raise ValueError("--mediation needs --mediators as a comma list of columns (the mediators whose share of the "
                         "effect is wanted; 'minimal' and 'maximal' choose front-door sets).")
    chosen = _mediation_method(method, learner, folds, interaction)
    split = [a.strip() for a in mediators.split(",") if a.strip()]
    given: Any = covariates
    if covariates is not None and covariates not in ("minimal", "ancestral"):
        given = [a.strip() for a in covariates.split(",") if a.strip()]
    if sensitivity:
        if plot is not None:
            check_output_path(plot, "--plot", suffixes=(".png",))
        if method not in ("auto", "regression") or intermediates is not None or controlled is not None \
                or len(split) != 1:
            raise ValueError("--mediation --sensitivity takes one mediator and the linear models without interaction "
                             "(Imai, Keele & Yamamoto 2010): no --method other than regression, no --intermediates "
                             "or --controlled, and --mediators with one column.")
        result = mediation_sensitivity(table, causal, treatment, outcome, split[0], covariates=given,
                                       contrast=contrast, level=level)
        if plot is not None:
            _write_png(result.plot().figure, plot)
        return result
    ell = None if intermediates is None else [a.strip() for a in intermediates.split(",") if a.strip()]
    fixed = _controlled_option(controlled)
    if plot is not None:
        check_output_path(plot, "--plot", suffixes=(".png",))
    result = mediation_analysis(table, causal, treatment, outcome, split, method=chosen, covariates=given,
                                intermediate_confounders=ell, controlled=fixed, contrast=contrast,
                                interaction=interaction, level=level, outcome_learner=learner,
                                treatment_learner=learner, n_folds=folds, seed=seed)
    if plot is not None:
        _write_png(result.plot().figure, plot)
    return result


def _heterogeneity(table: dict, causal: Any, treatment: str, outcome: str, *, modifiers: str | None, method: str,
                   learner: str, effect_learner: str, folds: int, groups: int, splits: int, adjustment: Any,
                   level: float,
                   seed: int, plot: Path | None, refused: dict[str, bool]) -> Any:
    """``effect --heterogeneity``: the conditional average effect given ``--modifiers`` by a meta-learner, with the
    calibration test, the sorted group effects and the linear projection (and their plot)."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.effects import CATE_METHODS, conditional_effects

    clash = [flag for flag, given in refused.items() if given]
    if clash:
        raise ValueError(f"--heterogeneity cannot be combined with {', '.join(clash)}: it estimates how the "
                         f"effect of a two-valued treatment varies with --modifiers, adjusting as the graph says.")
    if method != "auto" and method not in CATE_METHODS:
        raise ValueError(f"--heterogeneity estimates with the DR-learner (--method dr, the default) or the R-, T-, S- "
                         f"or X-learner (--method r, t, s, x); --method {method!r} does not apply.")
    if method in ("t", "s") and effect_learner != "linear":
        raise ValueError(f"--effect-learner applies to --method dr, r and x; the {method.upper()}-learner's effect is "
                         f"the difference of its outcome models (--learner).")
    if plot is not None:
        check_output_path(plot, "--plot", suffixes=(".png",))
    split = None if modifiers is None else [a.strip() for a in modifiers.split(",") if a.strip()]
    result = conditional_effects(table, causal, treatment, outcome, modifiers=split,
                                 method="dr" if method == "auto" else method, adjustment=adjustment,
                                 outcome_learner=learner, treatment_learner=learner, effect_learner=effect_learner,
                                 n_folds=folds, n_groups=groups, n_splits=splits, level=level, seed=seed)
    if plot is not None:
        _write_png(result.plot().figure, plot)
    return _WithRate(result, result.rate(seed=seed))


class _WithRate:
    """A conditional-effects result printed and written with its rank-weighted average effect (AUTOC)."""

    def __init__(self, result: Any, rate: Any):
        self.result, self.rate = result, rate

    def __str__(self) -> str:
        r = self.rate
        return (f"{self.result}\n  targeting by the estimated effects: AUTOC {r.estimate:.4g} (s.e. {r.std_error:.3g}; "
                f"{100 * self.result.level:g}% CI [{r.ci_low:.4g}, {r.ci_high:.4g}]; p = {r.p_value:.3g} for 'no "
                f"better than treating at random')")

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "rate_autoc": self.rate.to_dict()}


def register(app: typer.Typer) -> None:
    @app.command("effect")
    def effect_command(
        data: Path = typer.Argument(None, help="CSV with a header row; every column a node of the graph."),
        graph: str = typer.Option(None, "--graph", help="Graph text ('Z -> T; Z -> Y; T -> Y') or a JSON graph "
                                  "file (a graph dict, or the output of 'latentscm discover --out')."),
        world: str = typer.Option(None, "--world", help="Instead of a CSV and a graph: sample this world's "
                                  "factors, estimate on them with its graph, and compare with its true effect."),
        samples: int = typer.Option(2000, "--samples", help="Samples of --world."),
        treatment: str = typer.Option(..., "--treatment", help="The treatment column."),
        outcome: str = typer.Option(..., "--outcome", help="The outcome column."),
        method: str = typer.Option("auto", "--method", help="auto (aipw for a binary treatment, else dml), "
                                   "regression, ipw, aipw or dml; with --front-door auto, regression or aipw; "
                                   "with --instrument 2sls (auto), liml, fuller or dml; with --heterogeneity dr "
                                   "(auto), r, t, s or x."),
        adjustment: str = typer.Option(None, "--adjustment", help="optimal, minimal, parents (a DAG or CPDAG), "
                                       "canonical, minimal (a PAG), or a comma list of columns (checked against "
                                       "the graph). Default: optimal, canonical for a PAG."),
        contrast: str = typer.Option(None, "--contrast", help="Treatment values 't0,t1' (default: the two values "
                                     "of a binary treatment, else 0,1)."),
        learner: str = typer.Option("linear", "--learner", help="Nuisance learner for outcome and treatment: "
                                    "linear, forest or boosting."),
        folds: int = typer.Option(5, "--folds", help="Cross-fitting folds (aipw, dml)."),
        level: float = typer.Option(0.95, "--level", help="Confidence level."),
        seed: int = typer.Option(0, "--seed", help="Seed of folds, learners and refutations."),
        front_door: bool = typer.Option(False, "--front-door", help="Estimate through front-door mediators (a DAG "
                                        "whose hidden confounders leave no adjustment set; method auto: aipw for a "
                                        "binary treatment, else regression)."),
        mediators: str = typer.Option(None, "--mediators", help="With --front-door: minimal (default), maximal, or "
                                      "a comma list of columns (checked against the graph). With --mediation: a "
                                      "comma list of columns."),
        covariates: str = typer.Option(None, "--covariates", help="With --front-door: a comma list of observed "
                                       "pre-treatment columns to condition on (the conditional front-door "
                                       "criterion). With --instrument: the columns to condition on (default: the "
                                       "graph's choice). With --mediation: minimal (default), ancestral or a comma "
                                       "list (checked against the graph; required without --graph)."),
        mediation: bool = typer.Option(False, "--mediation", help="Split the effect into natural direct and "
                                       "indirect effects through --mediators (method regression, the default, or "
                                       "multiply_robust for a binary treatment)."),
        intermediates: str = typer.Option(None, "--intermediates", help="With --mediation: observed mediator-outcome "
                                          "confounders the treatment affects (comma list); the result is then the "
                                          "interventional effects."),
        controlled: str = typer.Option(None, "--controlled", help="With --mediation: 'M=value' for every mediator "
                                       "(comma-separated) adds the controlled direct effect at those values."),
        interaction: bool = typer.Option(True, "--interaction/--no-interaction", help="With --mediation and method "
                                         "regression: a treatment-mediator interaction in the outcome model."),
        heterogeneity: bool = typer.Option(False, "--heterogeneity", help="How the effect of a two-valued "
                                           "treatment varies: the conditional average effect given --modifiers by a "
                                           "meta-learner (--method dr, the default, r, t, s or x), with a "
                                           "calibration test, sorted group effects and a linear projection."),
        modifiers: str = typer.Option(None, "--modifiers", help="With --heterogeneity: the columns the effect may "
                                      "vary with (comma list; default: the adjustment set)."),
        effect_learner: str = typer.Option("linear", "--effect-learner", help="With --heterogeneity: the final "
                                           "effect model (linear, forest or boosting)."),
        groups: int = typer.Option(5, "--groups", help="With --heterogeneity: rows sorted by estimated effect into "
                                   "this many groups."),
        splits: int = typer.Option(20, "--splits", help="With --heterogeneity: random halvings for the calibration, "
                                   "group and targeting inference (each refits the learner on half the rows)."),
        instrument: bool = typer.Option(False, "--instrument", help="Estimate by two-stage least squares with "
                                        "conditional instruments (a DAG whose hidden confounders leave no "
                                        "adjustment set; a linear model)."),
        instruments: str = typer.Option(None, "--instruments", help="With --instrument: a comma list of columns "
                                        "(checked against the graph). Default: every instrument the graph allows "
                                        "together."),
        std_error: str = typer.Option(None, "--std-error", help="With --instrument: robust (HC1, the default) or "
                                      "classical."),
        id_formula: bool = typer.Option(False, "--id", help="Estimate by the ID algorithm's formula on frequency "
                                        "tables (discrete columns; effects no adjustment set, front door or "
                                        "instrument reaches)."),
        pseudocount: float = typer.Option(0.0, "--pseudocount", help="With --id: added to every cell of the "
                                          "frequency table."),
        max_levels: int = typer.Option(None, "--max-levels", help="With --id: the most distinct values a column may "
                                       "take (default 20)."),
        identify: bool = typer.Option(False, "--identify", help="List the routes into the effect (adjustment, "
                                      "front door, instruments, ID algorithm) instead of estimating it."),
        hidden: str = typer.Option(None, "--hidden", help="With --identify and no CSV: a comma list of the graph's "
                                   "nodes without data."),
        ida: bool = typer.Option(False, "--ida", help="The graph is a CPDAG: report IDA's possible effects over "
                                 "its equivalence class (method regression by default)."),
        refute: bool = typer.Option(False, "--refute", help="Also run the refutation checks (placebo, random "
                                    "common cause, subsets)."),
        simulations: int = typer.Option(20, "--simulations", help="Runs per refutation check."),
        sensitivity: bool = typer.Option(False, "--sensitivity", help="The regression (or, with --method dml or "
                                         "aipw, that estimator's) effect and how strong a confounder the graph "
                                         "leaves out would have to be to change it (robustness values; Cinelli & "
                                         "Hazlett 2020, Chernozhukov et al. 2022). With --mediation: the indirect "
                                         "effect against the mediator-outcome error correlation (Imai et al. 2010)."),
        benchmark: str = typer.Option(None, "--benchmark", help="With --sensitivity: adjustment-set columns to "
                                      "compare a confounder with, comma-separated; 'a+b' is one group."),
        kd: str = typer.Option(None, "--kd", help="With --sensitivity: multiples of each benchmark's strength with "
                               "the treatment, comma-separated (default 1,2,3)."),
        ky: str = typer.Option(None, "--ky", help="With --sensitivity: multiples with the outcome, paired with --kd "
                               "(default: --kd)."),
        q: float = typer.Option(1.0, "--q", help="With --sensitivity: the fraction of the estimate a confounder "
                                "would remove (1: all of it)."),
        plot: Path = typer.Option(None, "--plot", help="Write a PNG here: with --sensitivity, the contour plot of "
                                  "the adjusted effect; with --mediation, the effects with their intervals (with "
                                  "--sensitivity too, the indirect effect against rho; with --world, beside the "
                                  "world's true effects)."),
        out: Path = typer.Option(None, "--out", help="Write the result as JSON here."),
    ) -> None:
        """Estimate the average causal effect of --treatment on --outcome from a CSV and a causal graph: the
        graph picks the adjustment set, the estimator gives the number with a confidence interval."""
        from latentscm._io import atomic_write_json
        from latentscm.cli.discover import read_csv_table
        from latentscm.cli.output_paths import check_output_path
        from latentscm.effects import (
            estimate_effect,
            front_door_effect,
            id_effect,
            instrumental_effect,
            refute_effect,
            world_effect,
            world_mediation,
        )
        from latentscm.effects import ida as run_ida

        try:
            if out is not None:
                check_output_path(out, "--out")
            if hidden is not None and not identify:
                raise ValueError("--hidden needs --identify (with a CSV, the columns it lacks are the hidden nodes).")
            if identify:
                _identify(data, graph, hidden, treatment, outcome, out, {
                    "--world": world is not None, "--front-door": front_door, "--instrument": instrument,
                    "--id": id_formula, "--ida": ida, "--refute": refute, "--instruments": instruments is not None,
                    "--covariates": covariates is not None, "--mediators": mediators is not None,
                    "--std-error": std_error is not None, "--adjustment": adjustment is not None,
                    "--contrast": contrast is not None, "--pseudocount": pseudocount != 0.0,
                    "--max-levels": max_levels is not None,
                    "--method": method != "auto", "--learner": learner != "linear", "--sensitivity": sensitivity,
                    "--benchmark": benchmark is not None, "--kd": kd is not None, "--ky": ky is not None,
                    "--q": q != 1.0, "--plot": plot is not None, "--mediation": mediation,
                    "--no-interaction": not interaction, "--intermediates": intermediates is not None,
                    "--controlled": controlled is not None, "--heterogeneity": heterogeneity,
                    "--modifiers": modifiers is not None, "--effect-learner": effect_learner != "linear",
                    "--groups": groups != 5, "--splits": splits != 20})
                return
            heterogeneity_flags = {"--modifiers": modifiers is not None, "--effect-learner": effect_learner != "linear",
                                   "--groups": groups != 5, "--splits": splits != 20}
            if any(heterogeneity_flags.values()) and not heterogeneity:
                flags = [k for k, v in heterogeneity_flags.items() if v]
                raise ValueError(f"{', '.join(flags)} {'needs' if len(flags) == 1 else 'need'} --heterogeneity.")
            if world is not None and heterogeneity:
                raise ValueError("--heterogeneity needs a CSV with a two-valued treatment; --world's treatments are "
                                 "its factors, which take many values.")
            if world is not None:
                mediation_flags = mediators is not None or not interaction or controlled is not None
                if (data is not None or graph is not None or ida or refute or front_door or covariates is not None
                        or instrument or instruments is not None or std_error is not None or id_formula
                        or intermediates is not None or (mediation_flags and not mediation)):
                    raise ValueError("--world takes no CSV, --graph, --ida, --refute, --front-door, --covariates, "
                                     "--instrument, --instruments, --std-error, --id or --intermediates, and "
                                     "--mediators, --controlled and --no-interaction only with --mediation: the world "
                                     "gives the data, the graph and the true effect.")
                if pseudocount != 0.0 or max_levels is not None:
                    raise ValueError("--pseudocount and --max-levels need --id, which --world does not take.")
                if sensitivity or benchmark is not None or kd is not None or ky is not None or q != 1.0:
                    raise ValueError("--world takes no --sensitivity (nor --benchmark, --kd, --ky, --q): the "
                                     "world's graph names every confounder and its true effect is known.")
                if plot is not None and not mediation:
                    raise ValueError("--plot with --world draws a mediation analysis beside the world's true "
                                     "effects; it needs --mediation.")
                if simulations != 20:
                    raise ValueError("--simulations needs --refute, which --world does not take.")
                if plot is not None:
                    check_output_path(plot, "--plot", suffixes=(".png",))
                if mediation:
                    if adjustment is not None:
                        raise ValueError("--mediation cannot be combined with --adjustment: the world's graph picks "
                                         "the covariates of the mediation formula.")
                    if mediators is None:
                        raise ValueError("--mediation needs --mediators as a comma list of the world's factors.")
                    chosen = _mediation_method(method, learner, folds, interaction)
                    fixed = _controlled_option(controlled)
                    result: Any = world_mediation(
                        world, treatment, outcome, [a.strip() for a in mediators.split(",") if a.strip()], n=samples,
                        seed=seed, method=chosen,
                        contrast=_numbers(contrast, "--contrast"), interaction=interaction, level=level,
                        outcome_learner=learner, treatment_learner=learner, n_folds=folds,
                        **({"controlled": fixed} if fixed is not None else {}))
                else:
                    adjust_world: Any = "optimal" if adjustment is None else _adjustment(adjustment)
                    result = world_effect(world, treatment, outcome, n=samples, seed=seed, method=method,
                                          adjustment=adjust_world, contrast=_numbers(contrast, "--contrast"),
                                          outcome_learner=learner, treatment_learner=learner, n_folds=folds,
                                          level=level)
                typer.echo(str(result))
                if out is not None:
                    atomic_write_json(out, result.to_dict())
                    typer.echo(f"-> {out}")
                if plot is not None:
                    _write_png(result.plot().figure, plot)
                    typer.echo(f"-> {plot}")
                return
            if data is None or (graph is None and not mediation):
                raise ValueError("Give a CSV and --graph, or --world.")
            if samples != 2000:
                raise ValueError("--samples sets the size of --world's sample; with a CSV the data are its rows.")
            if simulations != 20 and not refute:
                raise ValueError("--simulations needs --refute.")
            given_sensitivity = {"--benchmark": benchmark is not None, "--kd": kd is not None,
                                 "--ky": ky is not None, "--q": q != 1.0,
                                 "--plot": plot is not None and not mediation and not heterogeneity}
            if any(given_sensitivity.values()) and not sensitivity:
                flags = [k for k, v in given_sensitivity.items() if v]
                raise ValueError(f"{', '.join(flags)} {'needs' if len(flags) == 1 else 'need'} --sensitivity.")
            matrix, names = read_csv_table(data)
            table = {name: matrix[:, j] for j, name in enumerate(names)}
            causal = None if graph is None else read_graph_option(graph)
            adjust: Any = _adjustment(adjustment)
            options = dict(contrast=_numbers(contrast, "--contrast"), outcome_learner=learner,
                           treatment_learner=learner, n_folds=folds, level=level)
            if sum((front_door, instrument, id_formula)) > 1:
                raise ValueError("--front-door, --instrument and --id are different ways to identify the effect; "
                                 "choose one.")
            if (pseudocount != 0.0 or max_levels is not None) and not id_formula:
                raise ValueError("--pseudocount and --max-levels need --id.")
            if mediators is not None and not (front_door or mediation):
                raise ValueError("--mediators needs --front-door or --mediation.")
            if covariates is not None and not (front_door or instrument or mediation):
                raise ValueError("--covariates needs --front-door, --instrument or --mediation.")
            only_mediation = {"--intermediates": intermediates is not None, "--controlled": controlled is not None,
                              "--no-interaction": not interaction}
            if any(only_mediation.values()) and not mediation:
                flags = [k for k, v in only_mediation.items() if v]
                raise ValueError(f"{', '.join(flags)} {'needs' if len(flags) == 1 else 'need'} --mediation.")
            if (instruments is not None or std_error is not None) and not instrument:
                raise ValueError("--instruments and --std-error need --instrument.")
            if heterogeneity:
                result = _heterogeneity(table, causal, treatment, outcome, modifiers=modifiers, method=method,
                                        learner=learner, effect_learner=effect_learner, folds=folds, groups=groups,
                                        splits=splits,
                                        adjustment=adjust, level=level, seed=seed, plot=plot,
                                        refused={"--mediation": mediation, "--sensitivity": sensitivity,
                                                 "--front-door": front_door, "--instrument": instrument,
                                                 "--id": id_formula, "--ida": ida, "--refute": refute,
                                                 "--contrast": contrast is not None,
                                                 "--mediators": mediators is not None,
                                                 "--covariates": covariates is not None,
                                                 "--benchmark": benchmark is not None, "--kd": kd is not None,
                                                 "--ky": ky is not None, "--q": q != 1.0})
            elif mediation:
                result = _mediation(table, causal, treatment, outcome, mediators=mediators, covariates=covariates,
                                    intermediates=intermediates, controlled=controlled, method=method,
                                    learner=learner, folds=folds,
                                    contrast=options["contrast"], level=level, seed=seed, interaction=interaction,
                                    sensitivity=sensitivity, plot=plot,
                                    refused={"--front-door": front_door, "--instrument": instrument,
                                             "--id": id_formula, "--ida": ida, "--refute": refute,
                                             "--adjustment": adjustment is not None,
                                             "--benchmark": benchmark is not None, "--kd": kd is not None,
                                             "--ky": ky is not None, "--q": q != 1.0})
            elif sensitivity:
                if method not in ("auto", "regression", "dml", "aipw"):
                    raise ValueError(f"--sensitivity bounds the regression estimate (--method regression, the "
                                     f"default), the partially linear DML one (--method dml) or the doubly robust "
                                     f"ATE of a binary treatment (--method aipw); --method {method!r} does not "
                                     f"apply.")
                if method in ("auto", "regression") and (learner != "linear" or folds != 5):
                    raise ValueError("--learner and --folds apply to --sensitivity with --method dml or aipw.")
                result = _sensitivity(table, causal, treatment, outcome, adjustment=adjust, level=level,
                                      contrast=options["contrast"], benchmark=benchmark, kd=kd, ky=ky, q=q, plot=plot,
                                      method="regression" if method == "auto" else method, learner=learner,
                                      folds=folds, seed=seed,
                                      refused={"--front-door": front_door, "--instrument": instrument,
                                               "--id": id_formula, "--ida": ida, "--refute": refute})
            elif id_formula:
                if (ida or refute or adjustment is not None or covariates is not None or method != "auto"
                        or learner != "linear" or folds != 5):
                    raise ValueError("--id cannot be combined with --ida, --refute, --adjustment, --covariates, "
                                     "--method, --learner or --folds: it evaluates the ID algorithm's formula on "
                                     "frequency tables.")
                result = id_effect(table, causal, treatment, outcome, contrast=options["contrast"], level=level,
                                   pseudocount=pseudocount, seed=seed,
                                   max_levels=20 if max_levels is None else max_levels)
            elif instrument:
                if ida or refute or adjustment is not None:
                    raise ValueError("--instrument cannot be combined with --ida, --refute or --adjustment: it "
                                     "estimates with instruments, not by adjustment.")
                if method not in ("auto", "2sls", "liml", "fuller", "dml"):
                    raise ValueError(f"--instrument estimates by two-stage least squares (--method 2sls, the default), "
                                     f"LIML, Fuller's LIML or the partially linear IV model (--method liml, fuller, "
                                     f"dml); --method {method!r} does not apply.")
                iv_method = "2sls" if method == "auto" else method
                if iv_method != "dml" and learner != "linear":
                    raise ValueError(f"--learner {learner!r} applies to --instrument with --method dml; "
                                     f"{iv_method} is linear.")
                result = instrumental_effect(
                    table, causal, treatment, outcome, method=iv_method, std_error=std_error or "robust",
                    outcome_learner=learner, treatment_learner=learner, n_folds=folds, seed=seed,
                    contrast=options["contrast"], level=level,
                    instruments=None if instruments is None else [a.strip() for a in instruments.split(",")
                                                                  if a.strip()],
                    covariates=None if covariates is None else [a.strip() for a in covariates.split(",")
                                                                if a.strip()])
            elif front_door:
                if ida or refute or adjustment is not None:
                    raise ValueError("--front-door cannot be combined with --ida, --refute or --adjustment: it "
                                     "estimates through mediators, not by adjustment.")
                chosen: Any = mediators if mediators in (None, "minimal", "maximal") else [
                    a.strip() for a in mediators.split(",") if a.strip()]
                given = [a.strip() for a in (covariates or "").split(",") if a.strip()]
                result = front_door_effect(table, causal, treatment, outcome, mediators=chosen, covariates=given,
                                           method=method, seed=seed, **options)
            elif ida:
                if refute:
                    raise ValueError("--refute cannot be combined with --ida (refute one DAG's estimate).")
                if adjustment is not None:
                    raise ValueError("--adjustment cannot be combined with --ida: IDA adjusts for each possible "
                                     "parent set of the treatment.")
                result = run_ida(table, causal, treatment, outcome, seed=seed,
                                      method="regression" if method == "auto" else method, **options)
            elif refute:
                result = refute_effect(table, causal, treatment, outcome, method=method, adjustment=adjust,
                                       n_simulations=simulations, seed=seed, **options)
            else:
                result = estimate_effect(table, causal, treatment, outcome, method=method, adjustment=adjust,
                                         seed=seed, **options)
        except (ValueError, TypeError, OSError) as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(2) from None
        typer.echo(str(result))
        if instrument:
            typer.echo(_diagnostics(result))
        if (sensitivity or mediation or heterogeneity) and plot is not None:
            typer.echo(f"-> {plot}")
        if out is not None:
            atomic_write_json(out, result.to_dict())
            typer.echo(f"-> {out}")
