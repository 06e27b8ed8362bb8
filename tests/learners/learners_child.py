"""Child-process entry of the SIGKILL and DDP tests (not a test module).

    python learners_child.py --out RUN --phases 12 [--sleep S] [--dump DIR --tag NAME]
    torchrun --nproc-per-node 2 learners_child.py --out RUN --phases 3,6 --reference REF --dump DIR

Trains the tiny learner on TinyBlobs (16x16, 64 images). ``--phases 3,6`` trains 3 steps, then
resumes the same run directory up to 6 steps (in the same process group when under torchrun);
``--reference REF`` first trains the final number of steps uninterrupted into REF.
``--sleep`` pauses S seconds after each step on rank 0 (via the eval hook, which does not touch
training) so a test can kill the run midway; ``--dump`` saves this rank's final weights to
DIR/{tag}_rank{RANK}.pt (and DIR/reference_rank{RANK}.pt).
"""

import argparse
import os
import time

import torch
import torch.distributed as dist
from learners_support import TinyBlobs, make_tiny_learner


def dump(learner, directory, tag) -> None:
    if directory:
        weights = {f"{n}.{k}": v for n, m in learner._modules().items() for k, v in m.state_dict().items()}
        torch.save(weights, os.path.join(directory, f"{tag}_rank{os.environ.get('RANK', '0')}.pt"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--phases", default="12")
    parser.add_argument("--learner", default="beta_vae")
    parser.add_argument("--checkpoint-every", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--dump", default=None)
    parser.add_argument("--tag", default="run")
    parser.add_argument("--reference", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")  # held across phases; the loop joins it instead of creating one
    hook = (lambda learner, step: time.sleep(args.sleep)) if args.sleep else None
    phases = [int(s) for s in args.phases.split(",")]
    if args.reference:
        reference = make_tiny_learner(args.learner, steps=phases[-1])
        reference.fit(TinyBlobs(size=16), out=args.reference, n_samples=64, checkpoint_every=args.checkpoint_every,
                      progress=False)
        dump(reference, args.dump, "reference")
    for i, steps in enumerate(phases):
        learner = make_tiny_learner(args.learner, steps=steps)
        learner.fit(TinyBlobs(size=16), out=args.out, resume=i > 0, n_samples=64,
                    checkpoint_every=args.checkpoint_every, eval_every=1 if hook else None, eval_hook=hook,
                    progress=False)
    dump(learner, args.dump, args.tag)
    if dist.is_initialized():
        # both ranks done before either tears down: a rank that left early closed its gloo pairs under the
        # other's feet (one CI run under heavy load: rank 1 aborted, "terminate called without an active exception")
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
