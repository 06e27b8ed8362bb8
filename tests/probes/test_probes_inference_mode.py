"""Probes that train or differentiate give the same results when the caller runs them under
``torch.inference_mode()`` (they failed there: tensors made in inference mode cannot join a graph)."""

import numpy as np
import torch

from latentscm.probes import AttributeControls
from latentscm.probes.interchange import interchange_accuracy
from latentscm.probes.interchange_tasks import HierarchicalEquality, equality_mlp, train_network


def _attribute_controls():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 3)).astype(np.float32)
    factors = np.column_stack([codes[:, 0], -codes[:, 1]])
    controls = AttributeControls(steps=5, seed=0).fit(codes, factors, ["a", "b"])
    return controls.gradient(codes[:4], "a"), controls.direction(codes[:4], "a")


def _interchange(net):
    task = HierarchicalEquality(4)
    net = train_network(net, task, steps=3, batch_size=16, seed=0)
    result = interchange_accuracy(net, "block1", task, alignment="revnet", n_blocks=2, width=8, steps=3,
                                  n_train=32, n_test=32, seed=0)
    return result.iia, result.control_iia, result.history


def test_attribute_controls_under_inference_mode():
    plain = _attribute_controls()
    with torch.inference_mode():
        quiet = _attribute_controls()
    for a, b in zip(plain, quiet):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not torch.is_inference_mode_enabled()


def test_interchange_under_inference_mode():
    # the network is the caller's, made as usual; training it and searching a map run inside their inference mode
    plain = _interchange(equality_mlp(16, 16, 2, seed=0))
    net = equality_mlp(16, 16, 2, seed=0)
    with torch.inference_mode():
        quiet = _interchange(net)
    assert quiet == plain


def test_alignment_curve_checks_every_maps_sizes_before_running_any(monkeypatch):
    import pytest

    import latentscm.probes.interchange as interchange

    calls = []
    monkeypatch.setattr(interchange, "control_copy", lambda *a, **k: calls.append("control") or a[0])
    net, task = equality_mlp(16, 16, 2, seed=0), HierarchicalEquality(4)
    for bad, name in (({"alignment": "revnet", "width": 0}, "maps\\[1\\].width"),
                      ({"alignment": "linear", "subspace_dim": 2.5}, "maps\\[1\\].subspace_dim")):
        with pytest.raises((TypeError, ValueError), match=f"'{name}' parameter of alignment_curve"):
            interchange.alignment_curve(net, "block1", task, maps=["identity", bad], steps=1, n_train=8, n_test=8)
    assert calls == []  # refused before the control network was built
