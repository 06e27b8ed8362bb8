"""One Registry class for learners and worlds; one UnknownNameError; one LatentSCMError base."""

import pytest

from latentscm import learners, worlds
from latentscm._registry import Registry, UntrustedClassError
from latentscm.exceptions import LatentSCMError, UnknownNameError, UnknownNodeError
from latentscm.graph import CausalGraph, CycleError
from latentscm.graph import UnknownNodeError as GraphUnknownNodeError
from latentscm.worlds import World


def test_same_verbs_for_learners_and_worlds():
    for module, name in ((learners, "beta_vae"), (worlds, "sprites")):
        assert name in module.names() and name in module.REGISTRY
        assert module.REGISTRY.get(name) is module.get(name)
        assert type(module.make(name)).__name__ == module.get(name).__name__


@pytest.mark.parametrize("module, kind", [(learners, "learner"), (worlds, "world")])
def test_unknown_names_raise_unknown_name_error(module, kind):
    with pytest.raises(UnknownNameError, match=f"Unknown {kind} 'nope'. Valid names: .*") as caught:
        module.make("nope")
    assert isinstance(caught.value, LatentSCMError) and isinstance(caught.value, ValueError)
    assert isinstance(caught.value, GraphUnknownNodeError)  # code catching the old error keeps working


def test_errors_share_one_base():
    assert GraphUnknownNodeError is UnknownNodeError
    with pytest.raises(LatentSCMError):
        CausalGraph.from_text("a -> b; b -> a")
    with pytest.raises(LatentSCMError):
        CausalGraph.from_text("a -> b").parents("c")
    assert issubclass(CycleError, ValueError) and issubclass(UntrustedClassError, LatentSCMError)
    from latentscm.interventions import InterventionParseError, parse_interventions
    from latentscm.scm.scm import NotInvertibleError
    from latentscm.training.checkpoint import CheckpointError
    from latentscm.worlds.store import CorruptDatasetError

    for error in (InterventionParseError, NotInvertibleError, CheckpointError, CorruptDatasetError):
        assert issubclass(error, LatentSCMError), error
    with pytest.raises(LatentSCMError):
        parse_interventions("light_position = = 2")


def test_register_resolve_and_trust():
    class Local(World):  # not importable by path: registering the object makes it resolvable
        name = "local"

    registry = Registry("world", "latentscm.worlds.base:World", {"sprites": "latentscm.worlds.sprites:Sprites"})
    registry.register("local", Local)
    assert registry.names() == ["sprites", "local"]
    assert registry.resolve("local") is Local
    assert registry.resolve(f"{Local.__module__}:{Local.__qualname__}") is Local
    assert registry.resolve("latentscm.worlds.sprites:Sprites").__name__ == "Sprites"
    with pytest.raises(UntrustedClassError, match="'subprocess:Popen'"):
        registry.resolve("subprocess:Popen")
    with pytest.raises(ValueError, match="not a World subclass"):
        registry.resolve("subprocess:Popen", trust_code=True)


@pytest.mark.parametrize("name, target, error", [("", "a:B", ValueError), ("a:b", "a:B", ValueError),
                                                 ("x", "not a path", ValueError), ("x", 3, TypeError)])
def test_bad_registrations(name, target, error):
    with pytest.raises(error):
        Registry("world", "latentscm.worlds.base:World").register(name, target)


def test_missing_modules_are_not_listed_and_wrong_classes_are_refused():
    registry = Registry("learner", "latentscm.learners.base:Learner",
                        {"gone": "no_such_module_xyz:Model", "wrong": "collections:OrderedDict"})
    assert registry.names() == ["wrong"]
    with pytest.raises(TypeError, match="not a Learner subclass"):
        registry.get("wrong")


# ---------------------------------------------------------------------- CI tests, metrics, presets
def _registries():
    from latentscm.discovery import ci_tests
    from latentscm.metrics import suite
    from latentscm.training import presets

    return {"CI test": ci_tests.REGISTRY, "metric": suite.REGISTRY, "preset": presets.REGISTRY,
            "learner": learners.REGISTRY, "world": worlds.REGISTRY}


@pytest.mark.parametrize("kind", ["CI test", "metric", "preset", "learner", "world"])
def test_every_kind_is_one_registry_with_one_error(kind):
    registry = _registries()[kind]
    assert isinstance(registry, Registry) and registry.kind == kind and registry.names()
    for verb in ("names", "get", "make", "register"):
        assert callable(getattr(registry, verb))
    with pytest.raises(UnknownNameError, match=f"Unknown {kind} 'nope'. Valid names: "):
        registry.make("nope")


def test_public_wrappers_raise_unknown_name_error():
    from latentscm.discovery import make_ci_test
    from latentscm.metrics import compute_metric
    from latentscm.training import get_preset

    with pytest.raises(UnknownNameError, match="Unknown preset 'gpu'. Valid names: cpu-small, cpu-64, paper"):
        get_preset("gpu")
    with pytest.raises(UnknownNameError, match="Unknown CI test 'nope'. Valid names: .*fisherz"):
        make_ci_test("nope")
    with pytest.raises(UnknownNameError, match="Unknown metric 'nope'. Valid names: .*mig"):
        compute_metric("nope", [[0.0], [1.0]], [[0.0], [1.0]])


def test_ci_test_registry_verbs_and_wrappers_agree():
    from latentscm.discovery.ci_tests import KCI, REGISTRY, ci_test_names, make_ci_test, register_ci_test

    assert ci_test_names() == sorted(REGISTRY.names())
    built = REGISTRY.make("kci", width="median")
    assert isinstance(built, KCI) and built.width == "median"
    assert repr(make_ci_test("kci", width="median")) == repr(built)
    with pytest.raises(ValueError, match="already registered"):
        register_ci_test("kci")(type("OtherKCI", (KCI,), {}))
    with pytest.raises(TypeError, match="class or a 'module:Class' path"):
        REGISTRY.register("f", lambda: None)  # a registry of classes refuses plain functions


def test_timeseries_module_registers_parcorr_once():
    import importlib

    import latentscm.discovery.timeseries.parcorr as parcorr_module
    from latentscm.discovery.ci_tests import REGISTRY, ci_test_names, make_ci_test

    assert "parcorr" in ci_test_names()
    assert type(make_ci_test("parcorr")) is parcorr_module.ParCorr
    importlib.reload(parcorr_module)  # a second import must not fail on the existing registration
    assert "parcorr" in REGISTRY.names()


def test_metric_registry_binds_options_and_the_view_is_live():
    import numpy as np

    from latentscm.metrics import METRICS, compute_metric, mig
    from latentscm.metrics.suite import REGISTRY

    assert REGISTRY.get("mig") is mig and METRICS["mig"] is mig and set(METRICS) == set(REGISTRY.names())
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(200, 2)).astype(float)
    codes = factors + 0.1 * rng.normal(size=factors.shape)
    knn = REGISTRY.make("mig", estimator="knn")
    assert knn(codes, factors) == pytest.approx(compute_metric("mig_knn", codes, factors)["mig_knn"])
    try:
        REGISTRY.register("first_code_mean", lambda codes, factors: float(np.mean(codes[:, 0])))
        assert "first_code_mean" in METRICS
        expected = {"first_code_mean": pytest.approx(codes[:, 0].mean())}
        assert compute_metric("first_code_mean", codes, factors) == expected
    finally:
        REGISTRY._entries.pop("first_code_mean", None)
    with pytest.raises(TypeError):
        METRICS["x"] = mig  # a read-only view


def test_preset_registry_make_replaces_fields():
    from latentscm.training import PRESETS, Preset, get_preset
    from latentscm.training.presets import REGISTRY

    short = REGISTRY.make("cpu-small", steps=10)
    assert isinstance(short, Preset) and short.steps == 10 and get_preset("cpu-small").steps == 3000
    assert PRESETS["paper"] is get_preset("paper") and list(PRESETS) == REGISTRY.names()
    with pytest.raises(TypeError):
        REGISTRY.make("cpu-small", no_such_field=1)


def test_a_plugin_whose_package_is_missing_is_left_out_not_a_crash():
    registry = Registry("world", "latentscm.worlds.base:World", {"sprites": "latentscm.worlds.sprites:Sprites"})
    registry.register("plugin", "no_such_package.models:Model")
    assert registry.names() == ["sprites"]
    with pytest.raises(ImportError, match="'plugin' is registered as 'no_such_package.models:Model'.*not installed"):
        registry.get("plugin")
    with pytest.raises(UnknownNameError, match="sprites"):
        registry.get("gone")


def test_check_number_names_an_integer_too_large_for_a_float():
    from latentscm._validation import check_number

    with pytest.raises(ValueError, match="'services' parameter of rca must be"):
        check_number(10 ** 400, "services", "rca", low=2, integer=True)


def test_a_registry_view_answers_membership_without_importing():
    registry = Registry("thing", None, {"missing": "no_such_module_anywhere:Thing"})
    view = registry.view()
    assert "missing" in view and "other" not in view  # no ImportError: the module is not imported to say so
    with pytest.raises(ImportError):
        view["missing"]
