"""seeded_torch: seeded module construction that leaves the caller's random streams alone."""

import pytest
import torch
from torch import nn

from latentscm._seeding import seeded_torch


def test_same_seed_same_weights_whatever_ran_before_and_the_callers_stream_continues():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with seeded_torch(7):
        first = nn.Linear(4, 3).weight.detach().clone()
    assert torch.equal(torch.rand(3), expected_next)  # the build did not consume the caller's stream
    torch.rand(11)
    with seeded_torch(7):
        again = nn.Linear(4, 3).weight.detach().clone()
    with seeded_torch(8):
        other = nn.Linear(4, 3).weight.detach().clone()
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_the_state_is_restored_when_the_block_raises():
    torch.manual_seed(5)
    expected_next = torch.rand(2)
    torch.manual_seed(5)
    with pytest.raises(RuntimeError, match="boom"), seeded_torch(1):
        torch.rand(4)
        raise RuntimeError("boom")
    assert torch.equal(torch.rand(2), expected_next)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_generators_are_not_reseeded():
    torch.cuda.manual_seed_all(99)
    expected = torch.rand(3, device="cuda")
    torch.cuda.manual_seed_all(99)
    with seeded_torch(1):
        nn.Linear(2, 2)
    assert torch.equal(torch.rand(3, device="cuda"), expected)


def test_a_negative_seed_is_named():
    import numpy as np

    from latentscm._validation import as_generator
    from latentscm.metrics import mig

    with pytest.raises(ValueError, match="seed must be a non-negative int.*Got -1"):
        as_generator(-1)
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 3, size=(50, 2)).astype(float)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        mig(factors + 0.1 * rng.standard_normal((50, 2)), factors, seed=-1)


def test_a_seed_beyond_torch_range_is_named():
    """torch failed with 'Overflow when unpacking long long' for seeds >= 2**64, naming no seed (s23)."""
    with seeded_torch(2**64 - 1):
        nn.Linear(2, 2)
    with pytest.raises(ValueError, match="seed 18446744073709551616 is outside torch's seed range"):
        with seeded_torch(2**64):
            pass
