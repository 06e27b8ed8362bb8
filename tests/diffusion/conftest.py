"""Shared pieces of the diffusion tests.

The samplers run hundreds of steps on tiny tensors; on a busy 2-core machine torch's intra-op
threads turn each microsecond op into tens of milliseconds of barrier waiting, so every test
here runs single-threaded (restored afterwards, so other suites are unaffected).
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


_TOLERANCES = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5), torch.float32: (1.3e-6, 1e-5),
               torch.float64: (1e-7, 1e-7)}


def _assert_close(actual, expected, *, rtol=None, atol=None):
    """torch.testing.assert_close without its first-call import of sympy (~5 s on a busy machine):
    same shape and dtype, then |actual - expected| <= atol + rtol * |expected|."""
    assert isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor), (type(actual), type(expected))
    assert actual.shape == expected.shape, f"shapes differ: {tuple(actual.shape)} vs {tuple(expected.shape)}"
    assert actual.dtype == expected.dtype, f"dtypes differ: {actual.dtype} vs {expected.dtype}"
    default_rtol, default_atol = _TOLERANCES.get(actual.dtype, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    difference = (actual - expected).abs()
    bad = difference > atol + rtol * expected.abs()
    assert not bad.any(), (f"{int(bad.sum())} of {bad.numel()} elements differ; largest difference "
                           f"{difference.max().item():.3g} (atol={atol}, rtol={rtol})")


@pytest.fixture
def assert_close():
    return _assert_close
