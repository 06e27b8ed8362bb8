"""The latent flow of CITRIS-VAE: exact inverse, log-determinant, autoregressive structure, ActNorm's start."""

from __future__ import annotations

import torch

from latentscm.nn.autoregressive_flow import AutoregressiveFlow, MaskedLinear


def test_masked_linear_reads_only_earlier_blocks():
    strict = MaskedLinear(3, 2, 4, inclusive=False)
    inclusive = MaskedLinear(3, 2, 4, inclusive=True)
    x = torch.randn(1, 6, dtype=torch.float64)
    for layer, allowed in ((strict, lambda i, j: j < i), (inclusive, lambda i, j: j <= i)):
        layer = layer.double()
        jacobian = torch.autograd.functional.jacobian(layer, x)[0, :, 0]  # (12, 6)
        for out in range(12):
            for inp in range(6):
                if not allowed(out // 4, inp // 2):
                    assert jacobian[out, inp] == 0


def test_flow_inverts_exactly_and_reports_its_log_determinant():
    torch.manual_seed(0)
    flow = AutoregressiveFlow(5, layers=3, hidden_per_unit=8).double()
    flow.train()
    flow(torch.randn(64, 5, dtype=torch.float64) * 3 + 2)  # ActNorm's data-dependent start
    flow.eval()
    x = torch.randn(7, 5, dtype=torch.float64)
    y, log_det = flow(x)
    torch.testing.assert_close(flow.reverse(y), x)
    for row in range(3):
        jacobian = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[row])
        torch.testing.assert_close(torch.linalg.slogdet(jacobian)[1], log_det[row])


def test_actnorm_standardises_the_first_training_batch_only():
    torch.manual_seed(1)
    flow = AutoregressiveFlow(4, layers=1)
    batch = torch.randn(256, 4) * torch.tensor([1.0, 2.0, 0.5, 3.0]) + 5.0
    normalised, _ = flow.blocks[0](batch)
    torch.testing.assert_close(normalised.mean(0), torch.zeros(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalised.std(0), torch.ones(4), atol=1e-3, rtol=0)
    assert bool(flow.blocks[0].initialised)
    again, _ = flow.blocks[0](batch * 2)  # later batches do not re-initialise
    assert again.mean().abs() > 1.0
    state = flow.state_dict()
    assert "blocks.0.initialised" in state  # saved, so a resumed run does not start it again
