"""Every public module of latentscm declares its public names in ``__all__``, and each exists."""

import importlib
import pkgutil

import pytest

import latentscm


def _public_modules() -> list[str]:
    names = ["latentscm"]
    for info in pkgutil.walk_packages(latentscm.__path__, "latentscm."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts[1:]):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _public_modules())
def test_public_module_declares_all(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [item for item in module.__all__ if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names {missing}, which the module does not define"
