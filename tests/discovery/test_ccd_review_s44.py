"""Review of the commits after af3cbd4 (s44: balls world, world_structure, balls read-out, convolutional contrastive
causal disentanglement): one test per confirmed defect, each failing on the reviewed code."""

from __future__ import annotations

import numpy as np

from latentscm.discovery.contrastive_causal_disentanglement import (
    ContrastiveCausalDisentanglement,
    contrastive_causal_disentanglement,
)
from latentscm.testing.interventional_latents import simulate_interventional_latents
from latentscm.training.checkpoint import load_checkpoint, save_checkpoint


def test_a_saved_fit_from_before_input_shape_was_recorded_still_loads(tmp_path):
    """Defect: ``load`` now builds the encoder with ``_encoder``, which reads ``info["input_shape"]``. Fits saved in
    the same format ("latentscm.contrastive_causal_disentanglement/1") before rows of any shape were accepted
    (commit 25f0fc0) have no ``input_shape`` in their info; af3cbd4's ``load`` built the MLP from
    ``input_mean.shape[0]`` and ``encode`` falls back to ``(p,)``, so those files loaded. Now they raise
    ``KeyError: 'input_shape'``: an old MLP file (no network kind recorded) no longer loads.

    The old file is made by removing from a fresh save what 70f7d83's ``save`` did not write (checked by hand: a file
    written by the 70f7d83 code itself fails the same way on this code and loads on af3cbd4's)."""
    model = simulate_interventional_latents(2, p=3, hidden=8, layers=1, seed=0)
    x_obs, x_int, _, _ = model.sample(40, seed=1)
    fit = contrastive_causal_disentanglement(x_obs, x_int, hidden=(4,), epochs=1, seed=0)
    path = tmp_path / "old.ckpt"
    fit.save(path)
    state = dict(load_checkpoint(path))
    state.pop("network", None)
    state["info"] = {k: v for k, v in state["info"].items()
                     if k not in ("input_shape", "encoder", "channels", "log_odds_learning_rate")}
    save_checkpoint(path, state)

    loaded = ContrastiveCausalDisentanglement.load(path)
    np.testing.assert_array_equal(loaded.encode(x_obs), fit.encode(x_obs))
