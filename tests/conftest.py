"""Suite-wide settings: one torch thread per test process (CI runs two processes with
pytest-xdist on two cores, and small tensors gain nothing from more threads)."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
