"""Suite-wide settings: one torch thread per test process (CI runs two processes with
pytest-xdist on two cores, and small tensors gain nothing from more threads); this folder's
helper modules (``cli_support``) importable by the top-level tests."""

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def renames(monkeypatch):
    """``renames(module)`` -> a list that collects the base names of the paths ``module``'s ``os.replace``
    renames (the temporaries a store moves into place), for the rest of the test."""
    def record(module):
        renamed, replace = [], os.replace

        def recording_replace(src, dst):
            renamed.append(os.path.basename(src))
            return replace(src, dst)

        monkeypatch.setattr(module.os, "replace", recording_replace)
        return renamed

    return record
