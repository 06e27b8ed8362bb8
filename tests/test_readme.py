"""The README's SCM example runs as written (the learner tour is exercised by the quickstart test)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_scm_example_runs(capsys):
    block = next(b for b in _python_blocks() if "smoking_cancer_model" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["counterfactual"]["light"].tolist() == [0.3] * 1000
    assert "P(cancer | do(smoking))" in capsys.readouterr().out


def test_readme_quick_start_has_exactly_two_commands():
    quick = README.read_text().split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quick.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert [c.split("#")[0].strip() for c in commands] == ["make quickstart", "make test"]


def test_readme_interventional_example_runs():
    """The regimes / additive decoder / fine-tuning block, shrunk to tiny sizes, runs as written."""
    from latentscm.learners import make as make_learner
    from latentscm.worlds import make

    block = next(b for b in _python_blocks() if "interventional_mixture" in b)
    tiny = (block.replace("steps=3000", "steps=2").replace("n_samples=6000", "n_samples=64")
            .replace("CounterfactualFineTuning(steps=300)", "CounterfactualFineTuning(steps=2, predictor_steps=5)"))
    assert tiny != block
    namespace: dict = {"world": make("pendulum", size=16, noise_std=0.3, grid=False), "make_learner": make_learner}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["mixed"].targets.shape == (1000, 4) and namespace["mixed"].targets.sum() == 300
    assert namespace["shadowy"].targets[:, 2].all()
    assert len(namespace["model"].cf_finetune_history_) == 2


def test_readme_bring_your_own_model_example_runs():
    """The wrapped PyTorch module of "Bring your own model", at 16 pixels and 64 images."""
    import torch

    block = next(b for b in _python_blocks() if "class Encoder(torch.nn.Module)" in b)
    tiny = block.replace("64 * 64", "16 * 16").replace("size=64", "size=16").replace("n=2000", "n=64")
    assert tiny != block
    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    results = namespace["results"]
    assert 0.0 <= results["mig"] <= 1.0 and any("counterfactual" in note for note in results.notes)


def test_readme_concept_conditioned_diffusion_example_runs(tmp_path):
    """The CausalDiffAE-on-CausalVAE-concepts block, at 16 pixels and a few steps, runs as written."""
    from latentscm.learners import make as make_learner
    from latentscm.worlds import make

    world = make("pendulum", size=16, noise_std=0.3, grid=False)
    run = tmp_path / "causal"
    make_learner("causal_vae", channels=(8, 16), hidden_dim=32, steps=3, batch_size=16).fit(
        world, out=str(run), n_samples=32, progress=False)
    block = next(b for b in _python_blocks() if 'condition="concepts"' in b)
    tiny = (block.replace('"runs/causal"', repr(str(run))).replace("steps=3000", "steps=2, batch_size=8")
            .replace("unet_channels=16", "unet_channels=8").replace("n_samples=6000", "n_samples=16, progress=False")
            .replace("timesteps=300, ddim_steps=20", "timesteps=40, ddim_steps=4")
            .replace("num_steps=20", "num_steps=4"))
    assert tiny != block
    namespace: dict = {"world": world, "make_learner": make_learner, "batch": world.sample(2, seed=1)}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["cf"].shape == namespace["batch"].images.shape and namespace["dae"].concept_model_.n_steps_ == 3


def test_readme_time_series_examples_run():
    section = README.read_text().split("## Time series", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    factual, changed = namespace["factual"], namespace["changed"]
    assert factual.values.shape == changed.values.shape == (50, 8)
    assert (changed.column("x1")[20:] == 3.0).all()
    assert (changed.values[:20] == factual.values[:20]).all()


def _inline_code() -> list[str]:
    """The README's `inline code` spans outside fenced blocks."""
    return re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", README.read_text(), flags=re.S))


def test_readme_inline_calls_bind_to_their_signatures():
    """Regression: `learners.GCRL(z_dim, s_dim, ...)` and `learners.ILDVAE(latent_dim, k, ...)` were written as
    positional calls of keyword-only constructors. Every inline call of a public name must bind as written
    (positional arguments, keyword names; a `...` leaves the positional ones open)."""
    import ast
    import importlib
    import inspect

    modules = [importlib.import_module(name) for name in (
        "latentscm", "latentscm.learners", "latentscm.probes", "latentscm.discovery", "latentscm.discovery.timeseries",
        "latentscm.rca", "latentscm.timeseries", "latentscm.scm", "latentscm.metrics", "latentscm.worlds",
        "latentscm.worlds.regimes", "latentscm.active")]

    def resolve(name):
        for module in modules:
            try:
                found = getattr(module, name)
            except AttributeError:
                continue
            if callable(found):
                return found
        return None

    checked, wrong = 0, []
    for span in _inline_code():
        try:
            tree = ast.parse(span.strip(), mode="eval")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            target = resolve(name) if name and not name.startswith("_") else None
            if target is None:
                continue
            keywords = {keyword.arg: None for keyword in node.keywords if keyword.arg}
            open_positional = any(isinstance(a, ast.Constant) and a.value is Ellipsis for a in node.args)
            try:
                inspect.signature(target).bind_partial(*([] if open_positional else [None] * len(node.args)),
                                                       **keywords)
            except TypeError as error:
                wrong.append(f"`{span}`: {error}")
            checked += 1
    assert checked >= 15 and not wrong, wrong


def test_readme_active_inference_numbers_are_the_benchmarks():
    """Regression: the README quoted seeds 0-2 ("free energy higher in every seed") after the benchmark's
    docstring had measured seeds 0-4 (lower in 2 of 5). The README must quote the docstring's seeds and means."""
    import ast

    bench = README.parent / "benchmarks" / "bench_active.py"
    doc = ast.get_docstring(ast.parse(bench.read_text()))
    rows = re.findall(r"^\s*0\.01 8000\s+(\d)\s+(\d\.\d+) / (\d\.\d+) / (\d\.\d+)", doc, flags=re.M)
    assert len(rows) >= 3
    seeds = sorted(int(row[0]) for row in rows)
    means = [sum(float(row[i]) for row in rows) / len(rows) for i in (1, 2, 3)]
    section = README.read_text().split("## Active inference", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    assert f"seeds {seeds[0]}–{seeds[-1]}" in flat and f"mean of {len(seeds)} seeds" in flat
    for label, mean in zip(("entangled", "factorised", "random"), means):
        assert f"{label} {mean:.2f}" in flat, (label, mean)
    assert "every seed (by" not in flat


def test_readme_identification_example_runs(capsys):
    from latentscm.scm import NonIdentifiableError

    first = next(b for b in _python_blocks() if "smoking_cancer_model" in b)
    block = next(b for b in _python_blocks() if "identify(" in b)
    namespace: dict = {}
    exec(compile(first, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    with pytest.raises(NonIdentifiableError, match=r"hedge F = \{x, y\}, F' = \{y\}"):
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - its last line raises, as documented
    out = capsys.readouterr().out
    assert "sum_{tar} P(tar|smoking) sum_{smoking'} P(smoking') P(cancer|smoking',tar)" in out
    truth = namespace["model"].interventional("cancer", {"smoking": 1}).values
    np.testing.assert_allclose(namespace["estimand"].evaluate(namespace["observed"]).values[1], truth, atol=1e-12)


def test_readme_contrastive_example_runs(capsys):
    """The content/style block, shrunk to tiny sizes, runs as written and prints both halves' R²."""
    from latentscm.learners import make as make_learner
    from latentscm.worlds import make

    block = next(b for b in _python_blocks() if "content_style_r2" in b)
    tiny = (block.replace("steps=3000", "steps=3").replace("n_samples=50_000", "n_samples=600")
            .replace("sample(4000", "sample(100"))
    assert tiny.count("steps=3") == 1 and "n_samples=600" in tiny and "sample(100" in tiny
    namespace: dict = {"make": make, "make_learner": make_learner}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out
    assert "'content':" in printed and "'style':" in printed


def test_readme_multiview_example_runs(capsys):
    """The multi-view block, shrunk to tiny sizes, runs as written; the atoms it prints are the algebra's."""
    block = next(b for b in _python_blocks() if "multi_view_r2" in b)
    tiny = (block.replace("steps=3000", "steps=3").replace("n_samples=50_000", "n_samples=600")
            .replace("n=4000", "n=100"))
    assert tiny.count("steps=3") == 1 and "n_samples=600" in tiny and "n=100" in tiny
    namespace: dict = {}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "[['c0', 'c1'], ['c2'], ['s0'], ['s1'], ['s2']]"
    content, style = map(float, printed[1].split())
    assert np.isfinite(content) and np.isfinite(style)


def test_readme_citris_example_runs(capsys):
    """The temporal block, shrunk to tiny sizes, runs as written."""
    block = next(b for b in _python_blocks() if "discover_latent_temporal_graph" in b)
    tiny = (block.replace("steps=10_000", "steps=3").replace("n_samples=10_000", "n_samples=64")
            .replace("size=32", "size=16").replace("n=2000", "n=100").replace("n=4000", "n=200"))
    assert tiny.count("steps=3") == 1 and "n_samples=64" in tiny and "n=200" in tiny
    namespace: dict = {}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["batch"].images.shape == (8, 50, 3, 16, 16)
    truth, batch = namespace["truth"], namespace["batch"]
    np.testing.assert_array_equal(truth.state[:, :20], batch.state[:, :20])
    printed = capsys.readouterr().out
    assert "[" in printed.splitlines()[0]
    assert namespace["graph"]["adjacency"].shape == (4, 4)


def test_readme_tdrl_example_runs(capsys):
    """The TDRL block, shrunk to tiny sizes, runs as written."""
    block = next(b for b in _python_blocks() if "temporal_counterfactual_scores" in b)
    tiny = (block.replace("steps=8_000", "steps=3").replace("n_samples=10_000", "n_samples=64")
            .replace("size=32", "size=16").replace("n=4000", "n=200").replace("n=200,", "n=12, length=6,")
            .replace("FactorRegressor(seed=0)", "FactorRegressor(seed=0, n_train=300, n_test=100, steps=20)"))
    assert tiny.count("steps=3") == 1 and "n=12, length=6," in tiny and "n_train=300" in tiny
    namespace: dict = {}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["frames"].shape == (4, 10, 3, 16, 16)
    assert namespace["graph"]["weights"].shape == (4, 4)
    printed = capsys.readouterr().out
    assert "'model'" in printed and "'floor'" in printed


def test_readme_tdrl_on_vectors_example_runs():
    """The nonlinear-ica TDRL block at 2 steps and 200 transitions."""
    from latentscm.learners import make as make_learner
    from latentscm.worlds import TemporalWorld, make

    block = next(b for b in _python_blocks() if 'make("nonlinear-ica", latents=8)' in b)
    tiny = block.replace("steps=40_000", "steps=2").replace("transitions(20_000", "transitions(200")
    assert tiny != block
    namespace: dict = {"TemporalWorld": TemporalWorld, "make": make, "make_learner": make_learner}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["model"].hidden_dim == (128, 128, 128, 128)
    assert namespace["x0"].shape[1:] == (8, 1, 1)


def test_readme_linear_causal_disentanglement_example_runs(capsys):
    """The linear causal disentanglement block runs as written (20,000 rows per context take a second) and prints
    the world's graph, as its comment says."""
    block = next(b for b in _python_blocks() if "linear_causal_disentanglement(" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip() == "[('z0', 'z1'), ('z0', 'z2'), ('z1', 'z2')]"


def test_readme_llc_example_runs(capsys):
    """The LLC block runs as written and prints the cycle, the confounder and the 2-cycle's effects its comments
    give."""
    block = next(b for b in _python_blocks() if "pair_condition_experiments(" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == ["['a --> b', 'b --> c', 'c --> b', 'a <-> c']",
                                                            "[[0.0, 0.6], [-0.5, 0.0]]"]


def test_readme_contrastive_causal_disentanglement_example_runs(capsys):
    """The contrastive causal disentanglement block runs as written (about 10 s) and prints the true DAG, as its
    comment says; its latents correlate with the true ones."""
    block = next(b for b in _python_blocks() if "contrastive_causal_disentanglement(" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == ["[('a', 'b'), ('c', 'a'), ('c', 'b')]"] * 2
    assert namespace["refit"].info["mechanisms"]["marginals"] == "gaussian"
    truth = namespace["model"].weights
    assert truth[0, 1] != 0 and truth[2, 0] != 0 and truth[2, 1] != 0 and (truth != 0).sum() == 3
    correlation = np.corrcoef(namespace["z"].T, namespace["z_obs"].T)[:3, 3:]
    assert np.abs(np.diag(correlation)).min() > 0.9


def test_readme_balls_contrastive_example_runs(capsys):
    """The balls block runs as written (about 15 s) and its two latents follow the coordinates, as its comment says."""
    block = next(b for b in _python_blocks() if 'make("balls"' in b and "encoder=\"conv\"" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    printed = [float(v) for v in capsys.readouterr().out.strip().strip("[]").split()]
    assert len(printed) == 2 and min(printed) > 0.85
    assert abs(printed[0] - 0.96) < 0.03 and abs(printed[1] - 0.92) < 0.03  # the numbers the comment states


def test_readme_score_matching_example_runs(capsys):
    """The SCORE / NoGAM block runs as written and prints the orders and edges its comments give."""
    block = next(b for b in _python_blocks() if "nogam, score_matching" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "['a', 'c', 'b', 'd'] [('a', 'b'), ('b', 'd'), ('c', 'b'), ('c', 'd')]",
        "['a', 'b', 'c', 'd'] [('a', 'b'), ('b', 'c'), ('b', 'd'), ('c', 'd')]"]


def test_readme_pag_effect_example_runs(capsys):
    """The PAG block runs as written: FCI's PAG, its visible edge and sets, and the estimate the naive slope misses."""
    block = next(b for b in _python_blocks() if "pag_adjustment_set, visible_edges" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "['a o-> x', 'b o-o c', 'b o-> x', 'c --> y', 'x --> y']", "[('x', 'y')] ('b',)",
        "('a', 'b', 'c') 1.51 [1.496, 1.523]", "2.006"]


def test_readme_effects_example_runs(capsys):
    """The causal-effects block runs as written and prints what its comments give."""
    block = next(b for b in _python_blocks() if "optimal_adjustment_set, true_effect" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "('age', 'diet')", "1.0", "linear 3.01 [2.8, 3.21]", "forest 0.88 [0.56, 1.21]"]


def test_readme_sensitivity_example_runs(capsys):
    """The sensitivity block runs as written: the biased estimate, its robustness value, the benchmark bounds and the
    hidden confounder's own strength, which recovers the true effect 0.3."""
    block = next(b for b in _python_blocks() if "confounder_strength, sensitivity_analysis" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "0.46 0.386", "0.5x income 0.179 0.132 0.3", "1x income 0.357 0.298 0.08", "[0.207, 0.096] 0.31"]


def test_readme_front_door_example_runs(capsys):
    """The front-door block runs as written: adjustment refused, the set named, the one-step estimate covering."""
    block = next(b for b in _python_blocks() if "front_door_effect, true_effect" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "2.83", "The mediators ['tar'] satisfy the front-door criterion", "regression 3.11 [2.96, 3.26]",
        "aipw 2.76 [2.61, 2.91]", "5.32"]


def test_readme_instrument_example_runs(capsys):
    """The instruments block runs as written: adjustment refused with the instruments named, 2SLS covering 0.5."""
    block = next(b for b in _python_blocks() if "instrumental_effect, true_effect" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "0.5", "['distance'] are instruments given the covariates ['region']",
        "['distance'] ['region'] 0.519 [0.427, 0.611]", "457 [[0.423, 0.607]]", "0.965"]


def test_readme_cauca_example_runs():
    """The CauCA block, shrunk to a few steps (its numbers are test_cauca's), runs as written."""
    block = next(b for b in _python_blocks() if "fit_restarts(" in b)
    tiny = block.replace("steps=1500", "steps=3").replace("restarts=3", "restarts=2")
    assert tiny != block
    namespace: dict = {}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["z"].shape == (1000, 3) and namespace["cf"].shape == (1000, 3, 1, 1)
    assert len(namespace["model"].restarts_) == 2


def test_readme_mediation_example_runs(capsys):
    """The mediation block runs as written: the graph's covariates, intervals that cover the exact natural effects,
    and the refusal when an unmeasured confounder that the treatment affects joins the graph."""
    block = next(b for b in _python_blocks() if "mediation_analysis, true_mediation" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert capsys.readouterr().out.strip().splitlines() == [
        "('age',)", "total 1.02 [0.93, 1.1] 1.02", "direct 0.28 [0.2, 0.36] 0.3", "indirect 0.74 [0.67, 0.81] 0.72",
        "0.73", "a back-door path from the mediators ['skills'] to the outcome 'wage' stays open given the treatment "
        "and ['age']"]


def test_readme_conditional_effects_example_runs(capsys):
    """The heterogeneous-effect block runs as written and prints what the README shows below it."""
    block = next(b for b in _python_blocks() if "conditional_effects, true_conditional_effects" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out.strip().splitlines()
    shown = [line[2:] for line in block.strip().splitlines() if line.startswith("# ")]
    assert printed == shown == ["('age', 'motivation') 1.01 1.01", "age -0.78 [-0.89, -0.67]",
                                "[-0.2, 0.5, 1.1, 1.4, 2.1]", "0.03 0.8", "AUTOC 0.71", "0.91 0.05"]
