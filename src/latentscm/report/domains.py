"""The domain-counterfactual page: grids (input | model | truth) per domain pair, with numbers.

For a domain-counterfactual model (anything with ``domain_counterfactual(x, source, target)``,
e.g. :class:`~latentscm.learners.ild.ILD` or :class:`~latentscm.learners.ild_vae.ILDVAE`) and a
multi-domain world, each ordered pair ``(d, d')`` gets the labelled rows of the run report's
intervention grids (:mod:`latentscm.report.html`): ``d`` inputs, the model's counterfactuals to
``d'`` and the world's exact ones, with the pair's error, identity floor and normalised error
from :func:`~latentscm.metrics.domain_counterfactual.domain_counterfactual_error`. Vector
observations (``ild-linear``: (N, m, 1, 1)) are drawn as one grey strip of m cells per sample.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._validation import check_number, check_sequence
from latentscm.metrics.domain_counterfactual import domain_counterfactual_error, domain_pairs
from latentscm.report.images import atomic_write_bytes, check_output_file
from latentscm.report.page import PAGE_STYLE, counterfactual_grid_html, page_bytes

__all__ = ["domain_counterfactual_rows", "domain_counterfactual_section", "write_domain_report"]


def _drawable(images: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) the grid can draw: 1 or 3 channels as they are, anything else
    (vectors such as (N, m, 1, 1)) as a grey strip (N, 1, 1, C * H * W)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[1] in (1, 3):
        return images
    flat = images.reshape(images.shape[0], -1)
    return flat[:, None, None, :]


def domain_counterfactual_rows(model: Any, world: Any, source: int, target: int, *, n_images: int = 8,
                               seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """``[("input (domain d)", x), ("model -> d'", model's), ("truth -> d'", exact)]`` for
    ``n_images`` samples of domain ``source`` (seeded), each (n_images, C, H, W)."""
    owner = "domain_counterfactual_rows"
    n_images = check_number(n_images, "n_images", owner, low=1, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    batch = world.sample(n_images, seed=seed, domain=source)
    truth = world.domain_counterfactual(batch, to_domain=target).images
    method = getattr(model, "domain_counterfactual", model)
    produced = np.asarray(method(batch.images, source, target))
    if produced.shape != batch.images.shape:
        raise ValueError(f"The model's domain_counterfactual returned shape {produced.shape} for inputs of shape "
                         f"{batch.images.shape}.")
    return [(f"input (domain {source})", batch.images), (f"model \u2192 {target}", produced),
            (f"truth \u2192 {target}", truth)]


def domain_counterfactual_section(model: Any, world: Any, *, pairs: Sequence[tuple[int, int]] | None = None,
                                  n_images: int = 8, n_eval: int = 128, seed: int = 0,
                                  metrics: Mapping[str, float] | None = None) -> str:
    """HTML: one grid per ordered domain pair (default: all), each with its numbers.

    ``metrics`` (from :func:`domain_counterfactual_error` with the same pairs) is computed on
    ``n_eval`` samples per source domain when not given.
    """
    owner = "domain_counterfactual_section"
    n_images, n_eval, seed = _check_counts(n_images, n_eval, seed, owner)
    shift = getattr(world, "domains", None)
    if shift is None:
        raise ValueError(f"{owner} needs a multi-domain world (worlds.make(name, domains=...)).")
    chosen = domain_pairs(shift.n_domains, pairs, owner)
    if metrics is None:
        metrics = domain_counterfactual_error(model, world, n=n_eval, seed=seed, pairs=chosen)
    parts = ['<p class="how">Each grid: samples of one domain (top), the model\'s domain counterfactuals '
             '(middle) and the world\'s exact ones — same exogenous noise, the other domain\'s mechanisms '
             '(bottom). The error is the mean squared distance to the truth; the floor is that of '
             'changing nothing; normalised = error / floor (0 exact, 1 no better than the input).</p>']
    for source, target in chosen:
        rows = domain_counterfactual_rows(model, world, source, target, n_images=n_images, seed=seed)
        key = f"{source}->{target}"
        facts = " · ".join(f"{label} {metrics[f'dcf.{name}.{key}']:{form}}"  # the numbers ``metrics`` has
                           for label, name, form in (("error", "error", ".4g"), ("floor", "identity", ".4g"),
                                                     ("normalised", "normalised", ".3f"))
                           if metrics.get(f"dcf.{name}.{key}") is not None)
        parts.append(f"<h4>domain {source} \u2192 {target}</h4>")
        parts.append(counterfactual_grid_html([(label, _drawable(images)) for label, images in rows],
                                          f"domain {source} \u2192 {target}", html.escape(facts)))
    return "".join(parts)


def _check_counts(n_images: int, n_eval: int, seed: int, owner: str) -> tuple[int, int, int]:
    """The page's counts and seed, checked under the names the caller gave them (passed on unchecked, a bad
    ``n_eval`` would be refused as the ``n`` of domain_counterfactual_error)."""
    return (int(check_number(n_images, "n_images", owner, low=1, integer=True)),
            int(check_number(n_eval, "n_eval", owner, low=1, integer=True)),
            int(check_number(seed, "seed", owner, low=0, integer=True)))


def _summary_table(metrics: Mapping[str, float]) -> str:
    rows = "".join(f"<tr><td>{html.escape(key)}</td><td>{metrics[key]:.4g}</td></tr>"
                   for key in ("dcf.error", "dcf.identity", "dcf.normalised") if key in metrics)
    return f'<table class="metrics"><tr><th>metric (lower is better)</th><th>value</th></tr>{rows}</table>'


def write_domain_report(model: Any, world: Any, out: str | os.PathLike, *,
                        pairs: Sequence[tuple[int, int]] | None = None, n_images: int = 8, n_eval: int = 128,
                        seed: int = 0, title: str = "latentscm domain counterfactuals",
                        notes: Sequence[str] = ()) -> tuple[Path, dict[str, float]]:
    """Write the self-contained page atomically to ``out``.

    Returns
    -------
    path : Path
        The page written.
    metrics : dict
        :func:`domain_counterfactual_error` over ``pairs`` (``n_eval`` samples per source domain).
    """
    owner = "write_domain_report"
    out = check_output_file(out, "out", owner)
    n_images, n_eval, seed = _check_counts(n_images, n_eval, seed, owner)
    notes = check_sequence(notes, "notes", owner, what="notes")
    shift = getattr(world, "domains", None)
    if shift is None:
        raise ValueError(f"{owner} needs a multi-domain world (worlds.make(name, domains=...)).")
    chosen = domain_pairs(shift.n_domains, pairs, owner)
    metrics = domain_counterfactual_error(model, world, n=n_eval, seed=seed, pairs=chosen)
    section = domain_counterfactual_section(model, world, pairs=chosen, n_images=n_images, seed=seed,
                                            metrics=metrics)
    note_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    described = html.escape(", ".join(f"{k}={v}" for k, v in shift.describe().items()))
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{note_html}"
            f'<p class="note">world {html.escape(str(getattr(world, "name", "?")))}; domains: {described}</p>'
            f"{_summary_table(metrics)}<h2>Domain counterfactuals</h2>{section}</body></html>")
    return atomic_write_bytes(out, page_bytes(page)), metrics
