"""``latentscm evaluate --encoder module:function --world NAME``: metrics of your own model.

    latentscm evaluate --encoder mypackage.models:encode --world sprites --world-set size=32 --out results/
    latentscm evaluate --encoder m:encode --decoder m:decode --counterfactual m:counterfactual --world pendulum

The callables are imported from the paths typed on the command line: naming a module there is
choosing to run its code, so (as for ``--world module:Class``) it counts as trusted. Paths read
from files never come through here (see :mod:`latentscm._registry`). The metrics are one call of
:func:`latentscm.metrics.evaluate`; ``OUT/metrics.json`` is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["evaluate_callable"]


def evaluate_callable(encoder: str, world: Any, *, world_name: str | None = None,
                      world_options: dict[str, Any] | None = None, decoder: str | None = None,
                      counterfactual: str | None = None, n: int = 2000, seed: int = 2024,
                      suite: str | list[str] = "disentanglement", out: str | Path = ".") -> dict[str, Any]:
    """Evaluate the callables named by ``"module:function"`` paths on a world; writes
    ``out/metrics.json``.

    Parameters
    ----------
    encoder : str
        ``"module:function"``: images (N, C, H, W) float32 in [0, 1] -> codes (N, D).
    world : World
        The world to evaluate on (built by the CLI from ``--world`` / ``--world-set``).
    world_name, world_options : str and dict, optional
        What ``--world`` / ``--world-set`` said, recorded in ``metrics.json``.
    decoder, counterfactual : str or None
        ``"module:function"`` paths of the optional decoder (codes -> images) and counterfactual
        ((images, interventions) -> images).
    n, seed : int
        Held-out images and their seed.
    suite : str or list of str, default "disentanglement"
        Suite name or metric names.
    out : str or Path, default "."
        Directory of ``metrics.json``.

    Returns
    -------
    dict
        What was written: ``encoder``, ``world``, ``n``, ``seed``, ``metrics`` and ``notes``
        (metric groups skipped because the model lacks what they need).
    """
    from latentscm._io import atomic_write_json
    from latentscm.metrics import evaluate
    from latentscm.metrics.user_model import resolve_callable

    encode = resolve_callable(encoder, option="--encoder")
    decode = resolve_callable(decoder, option="--decoder") if decoder is not None else None
    act = resolve_callable(counterfactual, option="--counterfactual") if counterfactual is not None else None
    results = evaluate(encode, world, suite=suite, n=n, seed=seed, decoder=decode, counterfactual=act)
    summary = {"encoder": encoder, "decoder": decoder, "counterfactual": counterfactual,
               "world": world_name if world_name is not None else getattr(world, "name", None),
               "world_options": dict(world_options or {}), "n": int(n), "seed": int(seed),
               "metrics": dict(results), "notes": list(results.notes)}
    atomic_write_json(Path(out) / "metrics.json", summary)
    return summary
