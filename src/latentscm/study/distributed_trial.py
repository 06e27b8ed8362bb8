"""Entry point of a trial that trains on several processes (not called directly).

:func:`latentscm.study.execute.execute_trial` launches, for a trial with ``processes: P``::

    python -m torch.distributed.run --standalone --nproc-per-node P \\
        -m latentscm.study.distributed_trial STUDY_DIR TRIAL_ID [--trust-code]

Every process reads ``trial.json``, builds the same learner and world and calls ``fit`` on the
run directory (resuming from its newest checkpoint); the training loop joins the process group
from the ``torchrun`` environment, wraps the modules in DistributedDataParallel and lets rank 0
alone write. The evaluation runs afterwards in the launching process.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Train the trial ``TRIAL_ID`` of ``STUDY_DIR`` in this process (one rank of the group)."""
    parser = argparse.ArgumentParser(prog="python -m latentscm.study.distributed_trial")
    parser.add_argument("study_dir")
    parser.add_argument("trial_id")
    parser.add_argument("--trust-code", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from latentscm.study.execute import train_trial
    from latentscm.study.status import TRIAL_NAME, read_json, trial_dir
    from latentscm.study.trials import Trial

    torch.set_num_threads(int(os.environ.get("LATENTSCM_STUDY_THREADS", "1")))
    directory = trial_dir(args.study_dir, args.trial_id)
    recorded = read_json(directory / TRIAL_NAME)
    if recorded is None:
        raise SystemExit(f"'{directory / TRIAL_NAME}' is missing; is '{args.study_dir}' a study directory?")
    train_trial(Trial.from_dict(recorded), directory, trust_code=args.trust_code)


def _exit_now() -> None:
    """Leave this worker at once, skipping interpreter and C++ static teardown.

    Once ``fit`` has returned, the run is saved, every rank has passed the closing barrier and the process group is
    destroyed, so nothing is left to do. Letting the interpreter tear down anyway made a rank abort, rarely ("terminate
    called without an active exception": a joinable C++ thread destroyed at exit; PyTorch issue 190489 shows the same
    message), after the run directory was complete; torchrun then reported the trial failed (2 clean-clone CI runs
    of about 40, sessions 30-31)."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
    _exit_now()
