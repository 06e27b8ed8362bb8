"""Causal-axiom training (Vashishtha et al. 2024) at CPU scale: perturbed vs unperturbed vs chance.

Trains the same transformer twice from scratch on short chains (3–6 nodes) — once on the
perturbed distribution (node-name shuffling, edge reversal, some branching) and once without
perturbations (forward chains, fixed names) — then scores both, and the chance baseline, on the
same evaluation sets: transitivity on chains of 3–15 nodes, reversed and shuffled statements,
branched DAGs, and d-separation against the exact oracle.

    python benchmarks/bench_axioms.py                                   # the default CPU size
    python benchmarks/bench_axioms.py --steps 300 --n-per-set 50        # a quick look
    python benchmarks/bench_axioms.py --out /tmp/axioms --report        # keep runs, write the HTML report
    python benchmarks/bench_axioms.py --device cuda --steps 20000 --d-model 256 --layers 8

The issue's target: > 0.8 accuracy on chains of 7–15 nodes for the perturbed model, where the
unperturbed one does worse. The table says whether that reproduces at the size run.

Measured 2026-12-02 (one thread, 2-core CPU at load ~2; 203k parameters: ``--d-model 64 --layers 4 --d-ff 256
--batch-size 64 --lr 1e-3 --warmup 200 --steps 4000``; the defaults now are these with rotary positions and 8,000
steps; evaluation seed 12345, 200 per set). Positional encodings compared at 4,000 steps (each column one trained
model, seed 0 unless stated; the unperturbed models fit their own data perfectly)::

    set                   sinusoidal  NoPE   rope   rope s1  rope unpert.  sinus. unpert.  chance
    lengths 3-6                0.923  0.746  0.928    0.895         0.489           0.496   0.528
    lengths 7-15               0.640  0.556  0.733    0.661         0.488           0.487   0.514
    (7 / 10 / 15 nodes)   .80/.63/.56  .59/.59/.56  .80/.69/.69  .72/.64/.66
    reversed                   0.635  0.550  0.760    0.675         0.535           0.515   0.520
    shuffled                   0.645  0.605  0.690    0.690         0.555           0.430   0.505
    branched                   0.705  0.605  0.735    0.720         0.470           0.520   0.605
    d-separation               0.535  0.503  0.595    0.542         0.493           0.500   0.538
    train accuracy              0.86   0.69   0.89       0.83          1.00            1.00

With rotary positions and 8,000 steps (1,480 s, training accuracy 0.92) the same model reaches 0.939 on lengths
3-6 and **0.782 on 7-15** (0.83 / 0.775 / 0.755 at 7 / 10 / 15 nodes), reversed 0.810, shuffled 0.745, branched
0.765, d-separation 0.658 (0.875 on short chains).

Perturbations help, as the paper says (every unperturbed model is at chance off its own distribution), and rotary
positions generalise best, as the paper's later version reports; the > 0.8 on chains of 7-15 is approached but not
reached at this size (0.782 at 8,000 steps; 0.733 / 0.661 for two seeds at 4,000). Depth did not help (8 layers,
403k parameters, sinusoidal: 0.883 / 0.616), nor did a longer schedule with sinusoidal positions (8,000 steps:
0.78 / 0.57) or the 1.2M-parameter size at this budget (sinusoidal, batch 64, lr 1e-3, 4,000 steps: 0.635 /
0.553). NoPE learns the training distribution slowest (0.69 after 4,000 steps). The paper trains a 67M model.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from latentscm.axioms import AxiomModel, chance_accuracy, evaluate, evaluation_sets, summarise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-ff", type=int, default=256)
    parser.add_argument("--positional", default="rope", choices=["none", "sinusoidal", "learned", "rope"])
    parser.add_argument("--dsep-fraction", type=float, default=0.25)
    parser.add_argument("--n-per-set", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-seed", type=int, default=12345)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="Keep the run directories here.")
    parser.add_argument("--report", action="store_true", help="Also write OUT/axioms.html.")
    parser.add_argument("--json", type=Path, default=None, help="Write every number to this JSON file.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_axioms_"))
    sizes = {"d_model": args.d_model, "n_layers": args.layers, "n_heads": args.heads, "d_ff": args.d_ff,
             "positional": args.positional, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
             "warmup": args.warmup, "dsep_fraction": args.dsep_fraction, "seed": args.seed, "device": args.device}
    load_before = os.getloadavg()
    models, seconds = {}, {}
    for name, perturb in (("perturbed", True), ("unperturbed", False)):
        start = time.perf_counter()
        model = AxiomModel(perturb=perturb, **sizes)
        model.fit(out / name, progress=True, log_every=max(1, args.steps // 10))
        seconds[name] = time.perf_counter() - start
        models[name] = model
        print(f"{name}: {model.network_.n_parameters():,} parameters, {args.steps} steps in {seconds[name]:.0f} s "
              f"(training accuracy over the last log window {model.history_[-1]['accuracy']:.3f})", flush=True)

    sets = evaluation_sets(n_per_set=args.n_per_set, seed=args.eval_seed)
    start = time.perf_counter()
    scores = {name: evaluate(model, sets) for name, model in models.items()}
    eval_seconds = time.perf_counter() - start
    chance = chance_accuracy(sets)
    load_after = os.getloadavg()

    columns = [*scores, "chance"]
    print(f"\naccuracy ({args.n_per_set} demonstrations per set; training chains 3-6 nodes)")
    print(f"{'set':16s}" + "".join(f"{c:>13s}" for c in columns))
    for name in sets:
        print(f"{name:16s}" + "".join(f"{scores[m][name]:13.3f}" for m in scores) + f"{chance[name]:13.3f}")
    summaries = {m: summarise(s) for m, s in scores.items()}
    summaries["chance"] = summarise(chance)
    for key in ("length_mean_short", "length_mean_long", "dsep_mean"):
        print(f"{key:16s}" + "".join(f"{summaries[c].get(key, np.nan):13.3f}" for c in columns))
    long_perturbed = summaries["perturbed"]["length_mean_long"]
    long_plain = summaries["unperturbed"]["length_mean_long"]
    verdict = ("reproduces" if long_perturbed > 0.8 and long_plain < long_perturbed else "does NOT reproduce")
    print(f"\ntarget (perturbed > 0.8 on lengths 7-15 and better than unperturbed): {verdict} "
          f"(perturbed {long_perturbed:.3f}, unperturbed {long_plain:.3f})")
    print("training time: " + ", ".join(f"{m} {s:.0f} s" for m, s in seconds.items())
          + f"; evaluation {eval_seconds:.0f} s; load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
          f"on {os.cpu_count()} CPUs; torch threads {args.threads}")

    if args.report:
        from latentscm.report.axioms import write_axioms_report

        path = write_axioms_report(scores, chance, out / "axioms.html",
                                   params={m: model.get_params() for m, model in models.items()},
                                   intro=f"benchmarks/bench_axioms.py, {args.steps} steps per model.")
        print(f"report -> {path}")
    if args.json is not None:
        from latentscm._io import atomic_write_json

        atomic_write_json(args.json, {"args": {k: str(v) for k, v in vars(args).items()}, "accuracy": scores,
                                      "chance": chance, "summary": summaries, "train_seconds": seconds,
                                      "eval_seconds": eval_seconds, "load_before": load_before,
                                      "load_after": load_after})
        print(f"numbers -> {args.json}")
    if args.out is None:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
    else:
        print(f"runs -> {out}")
    print(json.dumps({"verdict": verdict}))


if __name__ == "__main__":
    main()
