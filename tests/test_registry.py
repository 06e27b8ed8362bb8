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
