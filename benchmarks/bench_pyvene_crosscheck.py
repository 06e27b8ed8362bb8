"""Cross-check of our linear DAS against pyvene's rotated-space intervention (issue 13, optional check).

pyvene (Wu et al., NAACL 2024 demo; stanfordnlp/pyvene) is not a latentscm dependency: this script
runs in a separate environment that has it (``pip install pyvene`` beside ``torch==2.13.0`` and
``pip install -e .``). Per seed, on the hierarchical-equality MLP of ``bench_interchange.py``
(embedding 4, three blocks of width 16, trained 800 steps; intervened at ``block1``), aligning the
"left equality" (``--variables left``, the variable of pyvene's DAS tutorial) or both equality
relations (``--variables both``, the paper's setting: one rotation shared by two linked pyvene
interventions, one per variable, each on its own block of rotated coordinates), with one shared
draw of interchange data:

1. **ours**: :func:`latentscm.probes.interchange_accuracy` with ``alignment="linear"`` (an orthogonal
   rotation; variable j owns rotated coordinates ``[j k, (j + 1) k)``, ``k = --subspace-dim``);
2. **transfer**: our trained rotation loaded into a ``pyvene.RotatedSpaceIntervention`` on the same
   layer and scored by pyvene on the same held-out interventions. It must give our IIA exactly,
   prediction for prediction: the two implement one intervention;
3. **pyvene**: pyvene's own rotation trained with the same data, minibatch indices, steps, batch size
   and learning rate (Adam); only its initial rotation differs (drawn by pyvene with the torch RNG
   seeded with the seed).

Run (the pyvene environment): ``OMP_NUM_THREADS=1 PVENV/bin/python benchmarks/bench_pyvene_crosscheck.py``
(``--quick`` for a smoke run). Prints one JSON object with a row per seed.

Measured 2026-12-03 (pyvene 0.1.8, torch 2.13.0+cpu, one thread, this 2-core box with one other
job running; the defaults: 1,000 steps of batch 256 at lr 1e-3, 10,000 training and 2,000 held-out
interventions, subspace 8, seeds 0-4)::

    variables  seed  chance  task acc  IIA ours  IIA transfer  agree  changed  IIA pyvene
    left       0     0.508   0.999     0.915     0.915         1.0    0.496    0.905
    left       1     0.518   0.995     0.907     0.907         1.0    0.472    0.907
    left       2     0.506   0.996     0.834     0.834         1.0    0.444    0.845
    left       3     0.505   0.989     0.771     0.771         1.0    0.446    0.754
    left       4     0.511   0.991     0.708     0.708         1.0    0.467    0.706
    both       0     0.501   0.998     0.910     0.910         1.0    0.503    0.918
    both       1     0.507   0.997     0.922     0.922         1.0    0.498    0.922
    both       2     0.502   0.996     0.822     0.822         1.0    0.472    0.851
    both       3     0.506   0.991     0.768     0.768         1.0    0.444    0.738
    both       4     0.505   0.983     0.710     0.710         1.0    0.459    0.708

("agree": share of held-out interventions where pyvene, running our trained rotation, predicts what
we predict; "changed": share where the intervention changes the network's output, so agreement is
not agreement on untouched outputs.) Transferred, our rotation gives the same IIA in pyvene,
prediction for prediction, in all 10 runs: the two implement one interchange intervention, for one
and for two variables. Trained independently from different initial rotations on the same
minibatches, pyvene's IIA minus ours is -0.004 ± 0.011 (left) and +0.001 ± 0.021 (both), mean ±
sd over 5 seeds: the same search. (1,000 steps leave several seeds short of the 0.97-0.99 of
``bench_interchange.py``'s larger budgets, in both implementations alike.)
"""

from __future__ import annotations

import argparse
import json
import time
from importlib.metadata import version

import numpy as np
import torch
from torch import nn

from latentscm._seeding import seeded_torch
from latentscm.probes import HierarchicalEquality, equality_mlp, interchange_accuracy, train_network


class _Keyword(nn.Module):
    """pyvene calls ``model(**base)`` and reads ``model.config`` and ``model.device``: take the input
    as the keyword ``x`` and carry an empty config."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.net = network
        self.config = None
        self.device = torch.device("cpu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _pyvene_model(network: nn.Module, subspace_dim: int, width: int, n_vars: int, seed: int):
    """One rotation shared by one intervention per variable (pyvene's linked interventions);
    variable j swaps rotated coordinates ``[j * k, (j + 1) * k)``."""
    import pyvene as pv

    partition = [[j * subspace_dim, (j + 1) * subspace_dim] for j in range(n_vars)]
    with seeded_torch(seed):  # pyvene draws its initial rotation from the torch RNG
        intervention = pv.RotatedSpaceIntervention(embed_dim=width, subspace_partition=partition)
    model = pv.IntervenableModel([{"component": "net.block1.output", "unit": "pos", "max_number_of_units": 1,
                                   "intervention": intervention, "intervention_link_key": 0,
                                   "subspace_partition": partition} for _ in range(n_vars)], model=_Keyword(network))
    model.disable_model_gradients()
    return model, intervention


def _cf_logits(model, base: torch.Tensor, sources: torch.Tensor, intervened: torch.Tensor) -> torch.Tensor:
    """pyvene's counterfactual logits (B, 2) for base (B, 16), sources (B, V, 16) and the
    intervened variables (B, V); a variable left alone takes the base as its source (a swap with
    itself). Inputs get a length-1 position axis."""
    batch, n_vars = intervened.shape
    chosen = torch.where(intervened[..., None], sources, base[:, None])
    _, out = model({"x": base[:, None]}, [{"x": chosen[:, j, None]} for j in range(n_vars)],
                   unit_locations={"sources->base": 0}, subspaces=[[[j]] * batch for j in range(n_vars)])
    return out[:, 0]


def _predictions(model, data) -> np.ndarray:
    with torch.no_grad():
        return _cf_logits(model, torch.from_numpy(data.base), torch.from_numpy(data.sources),
                          torch.from_numpy(data.intervened)).argmax(1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--net-steps", type=int, default=800)
    parser.add_argument("--subspace-dim", type=int, default=8)
    parser.add_argument("--variables", default="left", choices=["left", "both"],
                        help="align the left equality (pyvene's tutorial) or both relations (the paper's setting)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.n_train, args.n_test, args.net_steps = [0], 50, 1000, 500, 100
    torch.set_num_threads(1)
    task = HierarchicalEquality(4, variables=args.variables)
    rows = []
    for seed in args.seeds:
        network = equality_mlp(16, 16, 3, seed=seed)
        train_network(network, task, steps=args.net_steps, batch_size=1024, lr=3e-3, seed=seed)
        started = time.time()
        ours = interchange_accuracy(network, "block1", task, alignment="linear", subspace_dim=args.subspace_dim,
                                    control=None, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                    n_train=args.n_train, n_test=args.n_test, seed=seed)
        ours_seconds = time.time() - started
        # the same interchange data interchange_accuracy drew: train, then test, from one generator
        rng = np.random.default_rng(seed)
        train = task.interchange(args.n_train, seed=rng)
        test = task.interchange(args.n_test, seed=rng)
        n_vars, k, width = test.sources.shape[1], args.subspace_dim, network.block1[0].out_features

        # 2. transfer: pyvene's layer computes rotated = h @ W and maps back with W^T; ours phi(h) = h R^T
        model, intervention = _pyvene_model(network, k, width, n_vars, seed)
        with torch.no_grad():
            intervention.rotate_layer.weight = ours.alignment_map.matrix.detach().T.clone()
        transferred = _predictions(model, test)
        transfer_iia = float((transferred == test.labels).mean())
        with torch.no_grad():  # our own predictions, recomputed by hand, to compare one by one
            phi = ours.alignment_map
            z = phi(network.block1(torch.from_numpy(test.base)))
            for j in range(n_vars):
                z_source = phi(network.block1(torch.from_numpy(test.sources[:, j])))
                rows_j = torch.from_numpy(test.intervened[:, j])
                z[rows_j, j * k:(j + 1) * k] = z_source[rows_j, j * k:(j + 1) * k]
            rest = nn.Sequential(*[module for name, module in network.named_children() if name != "block1"])
            own = rest(phi.inverse(z)).argmax(1).numpy()
            factual = network(torch.from_numpy(test.base)).argmax(1).numpy()

        # 3. pyvene trains its own rotation on the same minibatches
        started = time.time()
        model, intervention = _pyvene_model(network, k, width, n_vars, seed)
        optimiser = torch.optim.Adam(intervention.parameters(), lr=args.lr)
        generator = torch.Generator().manual_seed(seed)
        x, sources = torch.from_numpy(train.base), torch.from_numpy(train.sources)
        mask, y = torch.from_numpy(train.intervened), torch.from_numpy(train.labels)
        for _ in range(args.steps):
            index = torch.randint(0, len(train), (min(args.batch_size, len(train)),), generator=generator)
            loss = nn.functional.cross_entropy(_cf_logits(model, x[index], sources[index], mask[index]), y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        pyvene_iia = float((_predictions(model, test) == test.labels).mean())
        rows.append({"seed": seed, "chance": ours.chance, "task_accuracy": ours.task_accuracy, "ours": ours.iia,
                     "transfer": transfer_iia, "transfer_agreement": float((transferred == own).mean()),
                     "own_recomputed": float((own == test.labels).mean()),
                     # agreement means something only where the intervention changes the output
                     "changed_by_intervention": float((own != factual).mean()), "pyvene": pyvene_iia,
                     "ours_seconds": ours_seconds, "pyvene_seconds": time.time() - started})
        print(json.dumps(rows[-1]), flush=True)
    difference = [row["pyvene"] - row["ours"] for row in rows]
    print(json.dumps({"settings": vars(args), "pyvene_version": version("pyvene"),
                      "torch": torch.__version__, "rows": rows,
                      "mean_pyvene_minus_ours": float(np.mean(difference)),
                      "sd_pyvene_minus_ours": float(np.std(difference, ddof=1)) if len(rows) > 1 else None},
                     indent=1))


if __name__ == "__main__":
    main()
