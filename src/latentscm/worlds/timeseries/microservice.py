"""A microservice system: a call DAG of services, several metrics per service, lagged saturating
propagation of anomalies from callees to their callers, and faults with known root causes.

Variables are ``"<service>.<metric>"`` for metrics ``cpu``, ``latency`` and ``errors``. With
``sat(x) = cap * tanh(x / cap)`` and all effects at lag 1:

    cpu_s     <- a cpu_s
    latency_s <- a latency_s + w sat(cpu_s) + sum_{callee c of s} w_c sat(latency_c)
    errors_s  <- a errors_s  + w sat(latency_s) + sum_{callee c of s} w_c sat(errors_c)

plus Gaussian noise: a slow callee slows its callers (the direction anomalies travel in real
systems, opposite to the calls). Weights are scaled so that each metric's Lipschitz-weighted inputs
sum to at most ``contraction`` < 1 (stable). A **fault** is a soft intervention on one metric's
mechanism (a :class:`~latentscm.interventions.Shift` of ``magnitude`` noise standard deviations)
from a known onset to the end: :meth:`Microservice.inject` returns a trajectory whose
``root_causes`` and ``fault_onset`` are the ground truth for root-cause analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.graph import UnknownNodeError
from latentscm.interventions import Shift
from latentscm.worlds.timeseries.base import TimeIntervention, TimeSeriesWorld, Trajectory
from latentscm.worlds.timeseries.lagged_scm import EdgeMechanisms

__all__ = ["Microservice"]

METRICS = ("cpu", "latency", "errors")


class Microservice(TimeSeriesWorld):
    """Services on a random call DAG with cpu / latency / error metrics.

    Parameters
    ----------
    n_services: number of services; ``s0`` is the entry point (frontend).
    max_callers: each service ``s_k`` (k >= 1) is called by 1..max_callers earlier services (a DAG).
    autocorrelation: the lag-1 self weight ``a`` of every metric.
    cap: saturation level of the propagation.
    contraction: stability bound < 1.
    noise_std: noise standard deviation.
    seed: seed of the random call graph and weights.
    burn_in: steps dropped before ``t = 0``.
    """

    name = "microservice"

    def __init__(self, n_services: int = 6, *, max_callers: int = 2, autocorrelation: float = 0.5,
                 cap: float = 3.0, contraction: float = 0.9, noise_std: float = 0.3, seed: int = 0,
                 burn_in: int = 50) -> None:
        owner = "Microservice"
        n = int(check_number(n_services, "n_services", owner, low=2, integer=True))
        max_callers = int(check_number(max_callers, "max_callers", owner, low=1, integer=True))
        contraction = check_number(contraction, "contraction", owner, low=0, high=1, low_inclusive=False,
                                   high_inclusive=False)
        a = check_number(autocorrelation, "autocorrelation", owner, low=0, high=contraction, high_inclusive=False)
        self.cap = check_number(cap, "cap", owner, low=0, low_inclusive=False)
        self.noise_std = check_number(noise_std, "noise_std", owner, low=0, low_inclusive=False)
        rng = as_generator(seed)
        self.services = tuple(f"s{k}" for k in range(n))
        calls = np.zeros((n, n), dtype=np.int64)  # calls[caller, callee]
        for callee in range(1, n):
            callers = rng.choice(callee, size=min(callee, int(rng.integers(1, max_callers + 1))), replace=False)
            calls[callers, callee] = 1
        self.call_graph = calls
        self.call_graph.setflags(write=False)
        names = [f"{s}.{m}" for s in self.services for m in METRICS]
        index = {name: k for k, name in enumerate(names)}
        src, dst, weight, kind = [], [], [], []

        def edge(a_name: str, b_name: str, w: float, nonlinear: bool) -> None:
            src.append(index[a_name])
            dst.append(index[b_name])
            weight.append(w)
            kind.append(1 if nonlinear else 0)

        for s in self.services:
            for m in METRICS:
                edge(f"{s}.{m}", f"{s}.{m}", a, False)
            edge(f"{s}.cpu", f"{s}.latency", rng.uniform(0.5, 1.0), True)
            edge(f"{s}.latency", f"{s}.errors", rng.uniform(0.5, 1.0), True)
        for caller, callee in zip(*np.nonzero(calls)):
            for m in ("latency", "errors"):
                edge(f"s{callee}.{m}", f"s{caller}.{m}", rng.uniform(0.5, 1.0), True)
        self.edges = EdgeMechanisms(np.array(src, np.intp), np.ones(len(src), np.intp), np.array(dst, np.intp),
                                    np.array(weight, np.float64), np.array(kind, np.intp), ("linear", "tanh"))
        # Cross inputs share what the self weight leaves (tanh is 1-Lipschitz, so is cap*tanh(x/cap)).
        cross = self.edges.src != self.edges.dst
        total = np.bincount(self.edges.dst[cross], weights=self.edges.weight[cross], minlength=len(names))
        budget = contraction - a
        factor = np.where(total > budget, budget / np.maximum(total, 1e-300), 1.0)
        self.edges.weight[cross] *= factor[self.edges.dst[cross]]
        super().__init__(names, self.edges.window(1, len(names)), burn_in=burn_in)

    def service_graph(self) -> np.ndarray:
        """Int array (S, S): ``[c, s] = 1`` if anomalies propagate from service c to s (c is called by s)."""
        return np.array(self.call_graph.T)

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        # w cap tanh(x / cap) for the propagation edges and w x for the linear self edges, both as
        # cap * (edge effect on x / cap).
        loc = self.edges.loc(nodes, past / self.cap, current / self.cap)
        return loc * self.cap, np.full(len(nodes), self.noise_std)

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        return rng.standard_normal((n_steps, self.n_vars))

    def inject(self, T: int, *, seed: int | np.random.Generator, root_causes: Sequence[str] | str | None = None,
               onset: int | None = None, magnitude: float = 8.0) -> Trajectory:
        """A trajectory with a fault: ``Shift(magnitude * noise_std)`` on each root cause from ``onset`` on.

        Parameters
        ----------
        T: number of steps.
        seed: seed of the noise (and of the root cause and onset when not given).
        root_causes: faulty variable name(s) (``"s3.cpu"``); default one ``cpu`` or ``latency`` metric at random.
        onset: first faulty step (default: uniform in the middle half of the trajectory).
        magnitude: size of the shift in noise standard deviations.

        Returns
        -------
        Trajectory with ``root_causes`` and ``fault_onset`` set.
        """
        owner = "Microservice.inject"
        T = int(check_number(T, "T", owner, low=2, integer=True))
        magnitude = check_number(magnitude, "magnitude", owner)
        rng = as_generator(seed)
        if root_causes is None:
            candidates = [n for n in self.var_names if not n.endswith(".errors")]
            causes: tuple[str, ...] = (candidates[int(rng.integers(0, len(candidates)))],)
        else:
            causes = (root_causes,) if isinstance(root_causes, str) else tuple(root_causes)
            if not causes:
                raise ValueError(f"The 'root_causes' argument of {owner} is empty.")
            for cause in causes:
                if cause not in self.var_names:
                    raise UnknownNodeError(cause, self.var_names, what=f"root cause ('root_causes' of {owner})")
            repeated = sorted({cause for cause in causes if causes.count(cause) > 1})
            if repeated:  # the fault would be injected twice, a shift of twice the magnitude
                raise ValueError(f"The 'root_causes' argument of {owner} names {', '.join(map(repr, repeated))} more "
                                 f"than once.")
        if onset is None:
            onset = int(rng.integers(T // 4, max(T // 4 + 1, 3 * T // 4)))
        onset = int(check_number(onset, "onset", owner, low=0, high=T - 1, integer=True))
        faults = [TimeIntervention(c, Shift(magnitude * self.noise_std), start=onset) for c in causes]
        trajectory = self.sample(T, seed=rng, interventions=faults)
        return Trajectory(trajectory.values, trajectory.noise, trajectory.initial, self.var_names,
                          trajectory.interventions, trajectory.context, causes, onset)
