"""Names and class paths to classes, behind one trust rule.

Run directories (``config.json``) and stored datasets record the class that made them as
``"module:QualName"``. Importing a module runs its code, and a run directory is shared like a
checkpoint, so a recorded path is resolved only when

- it is the path of a registered class (``latentscm.learners.register`` /
  ``latentscm.worlds.register``: registering is the caller's explicit trust), or
- the caller passed ``trust_code=True`` (every module) or ``trust_code=["mypackage", ...]``
  (those modules and their submodules), the counterpart of ``trust_remote_code`` elsewhere;

and the object found must be a subclass of the expected base class (``Learner``, ``World``).
Everything else raises :class:`UntrustedClassError` naming the path, before any import.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable

__all__ = ["TrustCode", "UntrustedClassError", "class_path", "check_trust_code", "resolve_class"]

#: ``False`` (registered classes only), ``True`` (any module) or module names to allow.
TrustCode = bool | Iterable[str]

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_CLASS_PATH = re.compile(rf"^({_DOTTED}):({_DOTTED})$")


class UntrustedClassError(ValueError):
    """A class path read from a file is neither registered nor in a module the caller trusts."""

    def __init__(self, path: str, what: str, source: str | None = None):
        self.path = path
        where = f" in {source}" if source else ""
        super().__init__(
            f"Refusing to import {what} class {path!r}{where}: it is not a registered {what}, and importing it "
            f"would run its code. If you trust this code, pass trust_code=True (command line: --trust-code), "
            f"or register the class with latentscm.{what}s.register(name, cls).")


def class_path(cls: type) -> str:
    """``"module:QualName"`` of a class (how runs and datasets record their class)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def check_trust_code(trust_code: object, owner: str) -> bool | frozenset[str]:
    """Validate a ``trust_code`` argument: ``True``/``False`` or a collection of module names."""
    if isinstance(trust_code, bool):
        return trust_code
    if isinstance(trust_code, (str, bytes)) or not isinstance(trust_code, Iterable):
        raise TypeError(f"The 'trust_code' parameter of {owner} must be a bool or a list of module names. "
                        f"Got {trust_code!r} instead.")
    modules = frozenset(trust_code)
    for module in modules:
        if not isinstance(module, str) or not re.fullmatch(_DOTTED, module):
            raise ValueError(f"The 'trust_code' parameter of {owner} must list module names such as 'mypackage'. "
                             f"Got {module!r}.")
    return modules


def _trusted(module: str, trust: bool | frozenset[str]) -> bool:
    if isinstance(trust, bool):
        return trust
    return any(module == allowed or module.startswith(allowed + ".") for allowed in trust)


def resolve_class(path: object, *, base: type, registered: Iterable[str], trust_code: TrustCode = False,
                  what: str = "class", source: str | None = None) -> type:
    """The class named by ``"module:QualName"``, under the trust rule of this module.

    Parameters
    ----------
    path : str
        The recorded class path.
    base : type
        The class the result must subclass (``Learner``, ``World``).
    registered : iterable of str
        Class paths of registered classes; these resolve without ``trust_code``.
    trust_code : bool or iterable of str
        ``True`` to allow any module, or the module names (with their submodules) to allow.
    what : str
        What is being resolved, for messages (``"learner"``, ``"world"``).
    source : str, optional
        Where the path was read from (a file name), for messages.

    Returns
    -------
    type
        A subclass of ``base``.

    Raises
    ------
    UntrustedClassError
        The path is neither registered nor trusted (nothing is imported).
    ValueError
        The path is malformed, cannot be imported, or does not name a subclass of ``base``.
    """
    where = f" in {source}" if source else ""
    if not isinstance(path, str) or not _CLASS_PATH.match(path):
        raise ValueError(f"The {what} class{where} must be recorded as 'module:ClassName'. Got {path!r}.")
    trust = check_trust_code(trust_code, "resolve_class")
    module_name, _, qualname = path.partition(":")
    if path not in set(registered) and not _trusted(module_name, trust):
        raise UntrustedClassError(path, what, source)
    try:
        target: object = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"Cannot import {what} class {path!r}{where}: {error}") from None
    if not isinstance(target, type) or not issubclass(target, base):
        raise ValueError(f"{path!r}{where} is not a {base.__name__} subclass (it is {target!r}); refusing to "
                         f"call it.")
    return target
