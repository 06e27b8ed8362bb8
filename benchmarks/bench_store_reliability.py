"""Reliability of the dataset store (issue 17), measured with real processes.

1. ``kill -9`` at random points of ``latentscm worlds generate`` (``--trials`` times): after each
   kill the store is never readable-and-wrong (the final directory is absent or verifies and
   equals a reference copy), and the next ``generate`` call regenerates or reuses a verified
   copy. Temporary directories left by killed processes are counted.
2. Two processes generating the same dataset at once: both succeed and one verified copy remains.
3. Memory of ``worlds generate sprites`` and of opening the stored dataset plus reading 200
   random minibatches of 64, at two sizes N and 4N (Linux ``/proc/self/status`` of the child:
   peak RSS, and at the end anonymous memory and file-backed mapped pages). Flat anonymous memory
   means the images are memory-mapped, not loaded; mapped file pages are reclaimable page cache.
4. Memory of training from the store at N/4 and N: the training tensor plus 200 minibatches of 64,
   once with the old conversion of every image to float32 and once with the uint8 tensor
   ``as_training_set`` keeps now (converted per minibatch), and a tiny ``BetaVAE.fit`` (20 steps)
   on the store. ``--only-training-memory`` runs this section alone.

Run: ``.venv/bin/python benchmarks/bench_store_reliability.py [--trials 20] [--n 40000]``
(section 4 alone: ``--only-training-memory --memory-n 20000 --memory-size 64``).

Measured (2 shared cores, defaults: sprites 32 px, N=40,000 per generate; memory at 64 px):

- kill -9, 20 trials: 19 left no dataset, 1 finished before the kill (complete, verified);
  0 readable-and-wrong; every next ``generate`` returned the reference images. 9 of the 20
  kills left a ``.tmp-*`` directory behind (nothing removes temporaries of dead processes yet).
- two processes at once: both exit 0, one verified copy, no temporaries left.
- memory, N=20,000 -> 80,000 (78 -> 312 MB of uint8 images): ``generate`` anonymous memory
  48 -> 55 MB (flat; peak RSS 335 -> 582 MB is dirty memory-mapped file pages); reading 200
  random minibatches 36 -> 40 MB anonymous (flat). ``as_training_set`` on a store was **not**
  flat: 237 -> 472 MB anonymous for N=5,000 -> 20,000 (it converted every image to float32).
- training from the store, N=5,000 -> 20,000 at 64 px (19.5 -> 78.1 MB of uint8 images), same run:
  old float32 conversion: peak RSS 409 -> 700 MB, anonymous 244 -> 477 MB (grows with N);
  uint8 training tensor (now): peak RSS 337 -> 402 MB, anonymous 167 -> 173 MB (flat; the images
  are copy-on-write memory-mapped file pages, 170 -> 228 MB, reclaimable and shared between
  processes). Peak RSS grows 4.3 KB per image instead of 19.4 KB (4.5x less). A tiny
  ``BetaVAE.fit`` on the store: peak RSS 667 -> 725 MB, anonymous 254 -> 257 MB (flat).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLI = [sys.executable, "-c", "from latentscm.cli import main; main()"]


def _generate_cmd(root: Path, n: int, size: int) -> list[str]:
    return [*CLI, "worlds", "generate", "sprites", "--set", f"size={size}", "--n", str(n), "--root", str(root)]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def kill_trials(trials: int, n: int, size: int, seed: int) -> dict:
    from latentscm.worlds import make
    from latentscm.worlds.store import CorruptDatasetError, generate, load

    world = make("sprites", size=size)
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        reference = generate(world, n, root=scratch / "reference")
        started = time.perf_counter()
        subprocess.run(_generate_cmd(scratch / "timing", n, size), env=_env(), check=True, capture_output=True)
        full = time.perf_counter() - started
        root = scratch / "store"
        outcomes = {"absent": 0, "complete_and_verified": 0, "readable_and_wrong": 0, "finished_before_kill": 0}
        leftovers = 0
        for _ in range(trials):
            shutil.rmtree(root, ignore_errors=True)
            delay = float(rng.uniform(0.2, full))
            child = subprocess.Popen(_generate_cmd(root, n, size), env=_env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if child.poll() is not None:
                outcomes["finished_before_kill"] += 1
            else:
                child.send_signal(signal.SIGKILL)
            child.wait()
            final = root / reference.path.name
            leftovers += len(list(root.glob(".tmp-*"))) if root.exists() else 0
            if not final.exists():
                outcomes["absent"] += 1
            else:
                try:
                    stored = load(final)
                    same = np.array_equal(np.asarray(stored.images), np.asarray(reference.images))
                    outcomes["complete_and_verified" if same else "readable_and_wrong"] += 1
                except CorruptDatasetError:
                    pass  # unreadable is acceptable: the next call regenerates it with a warning
            again = generate(world, n, root=root)  # the next call: reuse a verified copy or regenerate
            if not np.array_equal(np.asarray(again.images), np.asarray(reference.images)):
                outcomes["readable_and_wrong"] += 1
        return {"trials": trials, "n": n, "size": size, "full_generate_s": round(full, 2), **outcomes,
                "temporary_dirs_left_by_kills": leftovers}


def concurrent_generate(n: int, size: int) -> dict:
    from latentscm.worlds.store import load

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        children = [subprocess.Popen(_generate_cmd(root, n, size), env=_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
        codes = [child.wait() for child in children]
        finals = [p for p in root.iterdir() if not p.name.startswith(".")]
        verified = sum(1 for p in finals if load(p) is not None)
        return {"exit_codes": codes, "final_copies": len(finals), "verified_copies": verified,
                "temporaries_left": len([p for p in root.iterdir() if p.name.startswith(".")])}


_READ_CHILD = """
import sys, numpy as np
from latentscm.worlds.store import load
data = load(sys.argv[1])
rng = np.random.default_rng(0)
for _ in range(200):
    batch = data.batch(rng.choice(len(data), size=64, replace=False))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(" ".join(status[k].split()[0] for k in ("VmHWM", "RssAnon", "RssFile")))
"""


_GENERATE_CHILD = """
import sys
from latentscm.cli import app
app(sys.argv[1:], standalone_mode=False)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(" ".join(status[k].split()[0] for k in ("VmHWM", "RssAnon", "RssFile")), file=sys.stderr)
"""


#: Peak resident set, then anonymous (heap) and file-backed (memory-mapped, reclaimable) memory at the end.
_FIELDS = ("peak_rss", "anon", "file_mapped")


def peak_memory(n: int, size: int) -> dict:
    rows = {}
    for count in (n, 4 * n):
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            args = _generate_cmd(root, count, size)[len(CLI):]
            made = subprocess.run([sys.executable, "-c", _GENERATE_CHILD, *args], env=_env(), check=True,
                                  capture_output=True, text=True)
            path = next(p for p in root.iterdir() if not p.name.startswith("."))
            read = subprocess.run([sys.executable, "-c", _READ_CHILD, str(path)], env=_env(), check=True,
                                  capture_output=True, text=True)
            generate_kb = [int(v) for v in made.stderr.strip().splitlines()[-1].split()]
            read_kb = [int(v) for v in read.stdout.strip().split()]
            rows[count] = {"images_mb": round(count * size * size / 2**20, 1),
                           **{f"generate_{k}_mb": round(v / 1024, 1) for k, v in zip(_FIELDS, generate_kb)},
                           **{f"read_{k}_mb": round(v / 1024, 1) for k, v in zip(_FIELDS, read_kb)}}
    return {"size": size, "rows": rows}


_TRAINING_CHILD = """
import sys, numpy as np, torch
from latentscm.training.data import ShardedBatches, as_training_set
from latentscm.worlds.store import load
mode, stored = sys.argv[2], load(sys.argv[1])
if mode == "float32":  # the conversion as_training_set did before: every stored image to float32
    images = torch.from_numpy(stored.batch(slice(0, len(stored))).images)
elif mode == "uint8":  # what as_training_set does now: the store's uint8, memory-mapped
    images = torch.from_numpy(as_training_set(stored, n_samples=None, seed=0, owner="bench").images)
if mode in ("float32", "uint8"):
    batches = ShardedBatches(images, 64, seed=0)
    for step in range(200):
        batch = batches.batch(step)
else:  # "fit": a tiny BetaVAE trained for a few steps on the store (model memory is constant)
    from latentscm.learners.vae import BetaVAE
    from latentscm.testing.learner_checks import tiny_params
    BetaVAE(**tiny_params(BetaVAE, steps=20, batch_size=64)).fit(stored, progress=False)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(" ".join(status[k].split()[0] for k in ("VmHWM", "RssAnon", "RssFile")))
"""

#: What the training-set child does: the old float32 conversion, the uint8 training tensor, a tiny fit.
_TRAINING_MODES = ("float32", "uint8", "fit")


def training_set_memory(n: int, size: int) -> dict:
    """Memory of training from a stored dataset at N and 4N: the training tensor plus 200 minibatches
    of 64, with the old float32 conversion and with the uint8 tensor ``as_training_set`` keeps now,
    and a tiny ``BetaVAE.fit`` on the store (20 steps)."""
    rows = {}
    for count in (n, 4 * n):
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            subprocess.run(_generate_cmd(root, count, size), env=_env(), check=True, capture_output=True)
            path = next(p for p in root.iterdir() if not p.name.startswith("."))
            row = {"images_uint8_mb": round(count * size * size / 2**20, 1)}
            for mode in _TRAINING_MODES:
                out = subprocess.run([sys.executable, "-c", _TRAINING_CHILD, str(path), mode], env=_env(),
                                     check=True, capture_output=True, text=True)
                kb = [int(v) for v in out.stdout.strip().split()]
                row.update({f"{mode}_{k}_mb": round(v / 1024, 1) for k, v in zip(_FIELDS, kb)})
            rows[count] = row
    return {"size": size, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--n", type=int, default=40000, help="samples per generate in the kill trials")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--memory-n", type=int, default=20000)
    parser.add_argument("--memory-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-training-memory", action="store_true",
                        help="measure only the memory of training from the store (section 4)")
    args = parser.parse_args()
    if not args.only_training_memory:
        print(json.dumps({"kill_9": kill_trials(args.trials, args.n, args.size, args.seed)}, indent=2), flush=True)
        print(json.dumps({"two_processes": concurrent_generate(args.n, args.size)}, indent=2), flush=True)
        print(json.dumps({"peak_memory": peak_memory(args.memory_n, args.memory_size)}, indent=2), flush=True)
    print(json.dumps({"training_set_memory": training_set_memory(args.memory_n // 4, args.memory_size)}, indent=2),
          flush=True)


if __name__ == "__main__":
    main()
