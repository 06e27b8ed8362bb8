"""The exceptions of latentscm, under one base class.

Catch :class:`LatentSCMError` to handle any error the library raises on purpose. Each concrete
error also derives from the built-in it refines (``ValueError``, ``TypeError``, ...), so code
that catches those keeps working. This module imports nothing from the library, so every module
can import it. Errors that belong to one module are defined there:

- :class:`latentscm.graph.CycleError` (``ValueError``)
- :class:`latentscm._registry.UntrustedClassError` — a recorded class path that may not be imported
- :class:`latentscm.interventions.InterventionParseError` (``ValueError``)
- :class:`latentscm.training.checkpoint.CheckpointError` (``ValueError``)
- :class:`latentscm.scm.NonIdentifiableError` (``ValueError``) — a causal effect no formula gives
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LatentSCMError", "UnknownNodeError", "UnknownNameError", "TooFewSamplesError"]


class LatentSCMError(Exception):
    """Base class of the errors latentscm raises on purpose."""


class UnknownNodeError(LatentSCMError, ValueError):
    """A node (factor, latent, variable) name the graph does not have; the message lists the valid
    names. Also importable as ``latentscm.graph.UnknownNodeError``."""

    def __init__(self, name: object, valid: Sequence[str], what: str = "node"):
        self.name = name
        self.valid = list(valid)
        super().__init__(f"Unknown {what} {name!r}. Valid names: {', '.join(self.valid) or '(none)'}")


class UnknownNameError(UnknownNodeError):
    """A name that no registry holds (learner, world, CI test, preset); the message lists the
    valid names. It subclasses :class:`UnknownNodeError` only so that code written before the
    registries had their own error keeps catching it."""


class TooFewSamplesError(LatentSCMError, ValueError):
    """A conditional-independence test asked to condition on more variables than its ``n`` samples
    allow (``n - |Z| - margin < 1``). ``n``, ``conditions`` (|Z|) and ``needed`` (the smallest n)
    let a caller say which of its own arguments to change."""

    def __init__(self, test: str, n: int, conditions: int, margin: int):
        self.n, self.conditions, self.needed = int(n), int(conditions), int(conditions) + int(margin) + 1
        super().__init__(f"{test} needs n - |Z| - {margin} >= 1 samples. Got n={n} with |Z|={conditions}.")
