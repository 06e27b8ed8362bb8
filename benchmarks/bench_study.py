"""Study throughput (trials/hour) with the Ray executor against the sequential executor on this
machine, and the scheduling overhead per trial.

The same study runs once per executor, each into a fresh directory: β-VAEs on sprites,
``--betas`` × ``--seeds`` trials of ``--steps`` steps (``--size`` pixels, ``--n-samples``
training images, a two-metric evaluation on 500 images). Columns:

* ``wall s`` — the whole ``study.run`` call (Ray: starting the local instance included, shown
  apart as ``start s``);
* ``trials/h`` — trials divided by wall time;
* ``trial s`` — the mean time a trial spends inside :func:`~latentscm.study.execute.execute_trial`
  (its ``status.json``: training + evaluation);
* ``overhead/trial s`` — slot time not spent inside a trial, per trial:
  ``(wall × slots − Σ trial s) / trials``: driver bookkeeping, Ray scheduling, and the start-up
  of Ray's worker processes (each imports torch and latentscm once), plus idle slots at the end.

``--overhead`` also runs ``--overhead-trials`` trivial trials (1 step, 32 images — one batch —, no evaluation)
per executor, where nearly all of the time is overhead. The load average is printed: on a shared
machine wall times move with it.

Run: ``.venv/bin/python benchmarks/bench_study.py [--steps 200 --betas 1 4 --seeds 0 1 --overhead]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from latentscm import study
from latentscm.study.status import trial_dir


def spec(args: argparse.Namespace, *, steps: int, n_samples: int, evaluate: bool, name: str) -> dict:
    return {
        "name": name, "preset": None, "steps": steps, "seeds": list(args.seeds),
        "learners": {"beta_vae": {"params": {"latent_dim": 6, "channels": [16, 16, 32], "hidden_dim": 64,
                                             "batch_size": 32, "lr": 1e-3}, "grid": {"beta": list(args.betas)}}},
        "worlds": {"sprites": {"size": args.size}},
        "training": {"n_samples": n_samples, "checkpoint_every": max(1, steps // 2)},
        "evaluation": {"suite": ["mig", "mcc"], "n": 500, "activity": False} if evaluate else False,
    }


def measure(executor: str, the_spec: dict, root: Path, workers: int, sequential_threads: int) -> dict:
    out = root / f"{the_spec['name']}-{executor}"
    shutil.rmtree(out, ignore_errors=True)
    start_s = 0.0
    clock = time.perf_counter()
    if executor == "ray":
        from latentscm.study.ray_executor import RayExecutor

        engine = RayExecutor(workers=workers)
        start_s = time.perf_counter() - clock
        slots = engine.prepare(1, 0)
        try:
            result = study.run(the_spec, out, executor=engine, threads=1, progress=False)
        finally:
            engine.close()
    else:
        slots = 1
        result = study.run(the_spec, out, executor="sequential", threads=sequential_threads, progress=False)
    wall = time.perf_counter() - clock
    seconds = [json.loads((trial_dir(out, r["trial"]) / "status.json").read_text())["seconds"] for r in result.rows]
    n = len(result.rows)
    threads = 1 if executor == "ray" else sequential_threads
    return {"executor": executor, "slots": slots, "threads": threads, "trials": n,
            "done": result.counts()["done"], "wall": wall, "start": start_s, "per_hour": 3600 * n / wall,
            "trial": sum(seconds) / n, "overhead": (wall * slots - sum(seconds)) / n}


def table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'executor':11s} {'slots':>5s} {'threads':>7s} {'trials':>6s} {'done':>4s} {'wall s':>8s} "
          f"{'start s':>7s} {'trials/h':>9s} {'trial s':>8s} {'overhead/trial s':>16s}")
    for r in rows:
        print(f"{r['executor']:11s} {r['slots']:5d} {r['threads']:7d} {r['trials']:6d} {r['done']:4d} "
              f"{r['wall']:8.1f} {r['start']:7.1f} {r['per_hour']:9.0f} {r['trial']:8.2f} {r['overhead']:16.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--betas", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--workers", type=int, default=None, help="CPUs (default: the free cores)")
    parser.add_argument("--sequential-threads", type=int, default=None,
                        help="torch threads of the sequential executor's trial (default: the CPUs, as study.run "
                             "does; 1 compares equal work per trial, and on an overloaded machine two spinning "
                             "threads can be far slower than one)")
    parser.add_argument("--executors", nargs="+", default=["sequential", "ray"], choices=["sequential", "ray"])
    parser.add_argument("--overhead", action="store_true", help="also time trivial trials")
    parser.add_argument("--overhead-trials", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="where the studies go (default: a temp dir)")
    args = parser.parse_args()
    workers = args.workers or study.available_cores()
    sequential_threads = args.sequential_threads or workers
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_study_"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {workers} cores; "
          f"Ray installed: {study.ray_available()}")
    rows = []
    for executor in args.executors:
        if executor == "ray" and not study.ray_available():
            print("ray: not installed (pip install 'latentscm[ray]'), skipped")
            continue
        try:
            rows.append(measure(executor, spec(args, steps=args.steps, n_samples=args.n_samples, evaluate=True,
                                               name="throughput"), root, workers, sequential_threads))
        except Exception as error:  # e.g. Ray failing to start on an overloaded machine: say so, go on
            print(f"{executor}: failed: {type(error).__name__}: {error}")
    table(f"throughput: {len(args.betas) * len(args.seeds)} β-VAE trials of {args.steps} steps on {args.size}px "
          f"sprites ({args.n_samples} images, MIG + MCC on 500)", rows)
    if args.overhead:
        args.betas = [float(b) for b in range(1, args.overhead_trials + 1)]
        args.seeds = [0]
        small = []
        for executor in args.executors:
            if executor == "ray" and not study.ray_available():
                continue
            try:
                small.append(measure(executor, spec(args, steps=1, n_samples=32, evaluate=False,
                                                    name="overhead"), root, workers, sequential_threads))
            except Exception as error:
                print(f"{executor}: failed: {type(error).__name__}: {error}")
        table(f"overhead: {args.overhead_trials} trivial trials (1 step, 32 images, no evaluation)", small)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; studies in {root}")


if __name__ == "__main__":
    main()
