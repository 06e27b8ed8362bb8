"""Names and class paths to classes: one :class:`Registry`, behind one trust rule.

A :class:`Registry` maps names (what the CLI and configs use) to classes, lazily: entries are
``"module:Class"`` strings until asked for, so listing names imports nothing heavy. Learners,
worlds, CI tests, metrics and training presets each have one, with the same verbs: ``names()``,
``get(name)``, ``make(name, **params)``, ``register(name, target)``; unknown names raise
:class:`~latentscm.exceptions.UnknownNameError`. A registry of classes (learners, worlds, CI
tests) checks every entry against a base class and ``make`` calls it; a registry of other objects
(metric functions, presets) passes a ``build`` rule that says what ``make`` returns (a metric
with its options bound, a preset with fields replaced).

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
import importlib.util
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from latentscm.exceptions import LatentSCMError, UnknownNameError

__all__ = ["Registry", "RegistryView", "TrustCode", "UnknownNameError", "UntrustedClassError", "class_path",
           "check_trust_code", "resolve_class"]

#: ``False`` (registered classes only), ``True`` (any module) or module names to allow.
TrustCode = bool | Iterable[str]

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_CLASS_PATH = re.compile(rf"^({_DOTTED}):({_DOTTED})$")


class UntrustedClassError(LatentSCMError, ValueError):
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


def _import_path(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _call(target: Any, params: dict[str, Any]) -> Any:
    return target(**params)


def _module_present(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (``find_spec`` of ``pkg.sub`` raises when ``pkg``
    itself is missing: that is absent too)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class Registry:
    """Names to entries of one kind (``"learner"``, ``"metric"``), imported on first use.

    Parameters
    ----------
    kind : str
        What the registry holds, for messages (``"learner"``).
    base : str or None
        ``"module:Class"`` of the class every entry must subclass (imported when needed), or
        ``None`` for a registry of objects that are not classes (metric functions, presets).
    entries : dict of str to object, optional
        Initial names and their classes, objects or ``"module:Class"`` paths.
    build : callable, optional
        ``build(entry, params) -> object``: what :meth:`make` returns for an entry and keyword
        parameters. Default: ``entry(**params)`` (a class called with its constructor arguments).
    """

    def __init__(self, kind: str, base: str | None, entries: Mapping[str, Any] | None = None, *,
                 build: Callable[[Any, dict[str, Any]], Any] | None = None):
        self.kind = kind
        self._base_path = base
        self._build = build if build is not None else _call
        self._entries: dict[str, Any] = {}
        for name, target in (entries or {}).items():
            self.register(name, target)

    @property
    def base(self) -> type | None:
        """The class every entry must subclass (``None`` for a registry of plain objects)."""
        return _import_path(self._base_path) if self._base_path is not None else None

    def register(self, name: str, target: Any) -> None:
        """Register ``target`` under ``name``.

        Parameters
        ----------
        name : str
            A non-empty name without ``':'`` (a later registration of the same name replaces it).
        target : type, str or object
            A class or a ``"module:Class"`` path; in a registry without a base class, any object
            (a function, a preset) as well.

        Raises
        ------
        ValueError
            The name is empty or contains ``':'``, or a string target is not a ``"module:Class"`` path.
        TypeError
            A registry of classes was given something that is neither a class nor a path.
        """
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(f"{self.kind.capitalize()} names must be non-empty strings without ':'. Got {name!r}.")
        if isinstance(target, str):
            if not _CLASS_PATH.match(target):
                raise ValueError(f"Register a {self.kind} as a class or a 'module:Class' path. Got {target!r}.")
        elif self._base_path is not None and not isinstance(target, type):
            raise TypeError(f"Register a {self.kind} as a class or a 'module:Class' path. Got {target!r}.")
        self._entries[name] = target

    def names(self) -> list[str]:
        """Registered names whose module is present (in registration order)."""
        available = []
        for name, target in self._entries.items():
            if isinstance(target, str) and not _module_present(target.partition(":")[0]):
                continue
            available.append(name)
        return available

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def paths(self) -> list[str]:
        """``"module:Class"`` of every registered class."""
        return [target if isinstance(target, str) else class_path(target) for target in self._entries.values()
                if isinstance(target, (str, type))]

    def get(self, name: str) -> Any:
        """The entry registered as ``name`` (:class:`UnknownNameError` lists the valid names)."""
        if not isinstance(name, str) or name not in self._entries:
            raise UnknownNameError(name, self.names(), what=self.kind)
        target = self._entries[name]
        if isinstance(target, str) and not _module_present(target.partition(":")[0]):
            raise ImportError(f"The {self.kind} {name!r} is registered as {target!r}, but its module is not "
                              "installed.")
        entry = _import_path(target) if isinstance(target, str) else target
        base = self.base
        if base is not None and (not isinstance(entry, type) or not issubclass(entry, base)):
            raise TypeError(f"The {self.kind} registered as {name!r} ({target!r}) is not a {base.__name__} subclass.")
        return entry

    def make(self, name: str, **params: Any) -> Any:
        """The entry registered as ``name`` built with ``params`` (see the ``build`` rule)."""
        return self._build(self.get(name), params)

    def resolve(self, name_or_path: str, *, trust_code: TrustCode = False, source: str | None = None) -> type:
        """A registered name, or a ``"module:Class"`` path under the trust rule of this module."""
        if isinstance(name_or_path, str) and ":" not in name_or_path:
            return self.get(name_or_path)
        for target in self._entries.values():
            if isinstance(target, type) and class_path(target) == name_or_path:
                return target  # registered object (possibly not importable by path, e.g. a local class)
        base = self.base
        if base is None:
            raise ValueError(f"{self.kind.capitalize()}s are looked up by registered name only. Got {name_or_path!r}.")
        return resolve_class(name_or_path, base=base, registered=self.paths(), trust_code=trust_code,
                             what=self.kind, source=source)

    def view(self) -> RegistryView:
        """A live, read-only mapping of names to entries (for module constants such as ``METRICS``)."""
        return RegistryView(self)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={list(self._entries)})"


class RegistryView(Mapping[str, Any]):
    """A read-only ``Mapping`` view of a :class:`Registry`: ``view[name]`` is ``registry.get(name)``
    and registrations made later show up in it."""

    def __init__(self, registry: Registry):
        self._registry = registry

    def __getitem__(self, name: str) -> Any:
        if name not in self._registry:
            raise KeyError(name)
        return self._registry.get(name)

    def __contains__(self, name: object) -> bool:  # a registered name, without importing its class
        return name in self._registry

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.names())

    def __len__(self) -> int:
        return len(self._registry.names())

    def __repr__(self) -> str:
        return f"RegistryView({self._registry.kind!r}, names={self._registry.names()})"
