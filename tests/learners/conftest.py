"""Shared fixtures of the learner tests: the tiny world, single-threaded torch, subprocess env."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_world():
    from learners_support import TinyBlobs

    return TinyBlobs(size=16)


@pytest.fixture
def subprocess_env():
    """Environment for child Python processes: finds the tiny world, one thread each."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    return env


@pytest.fixture
def loss_drop(tiny_world):
    """Train a learner for a few dozen steps on the tiny world; return (first, last) mean losses."""

    def run(learner, key: str = "loss", steps: int = 40):
        learner.set_params(steps=steps)
        learner.fit(tiny_world, n_samples=256, log_every=1, progress=False)
        values = [r[key] for r in learner.history_ if r["kind"] == "train"]
        return sum(values[:5]) / 5, sum(values[-5:]) / 5

    return run
