"""The Ray executor: trials as Ray tasks, on a local Ray instance or a cluster.

Locally (no address) it starts Ray with ``workers`` CPUs (default: the free cores) and runs one
trial per ``threads`` CPUs, each trial's torch set to that many threads. With ``address="auto"``
(a cluster this machine belongs to) or ``"ray://head:10001"`` (Ray Client, ``pip install
"ray[client]"``) it joins that cluster; every node must see the study directory at the same path
(a shared file system), because each trial writes its run directory there. A trial whose device
is CUDA asks Ray for one GPU per process (``num_gpus``), so Ray places it on a GPU node and sets
``CUDA_VISIBLE_DEVICES``. When Ray was already initialised by the caller (a test, a notebook),
that instance is used and left running.
"""

from __future__ import annotations

from typing import Any

from latentscm._validation import check_number
from latentscm.study.executor import RAY_INSTALL_HINT, TrialJob, available_cores

__all__ = ["RayExecutor"]


def _run_job(trial: dict[str, Any], study_dir: str, threads: int, trust_code: bool) -> dict[str, Any]:
    from latentscm.study.execute import execute_trial

    return execute_trial(trial, study_dir, threads=threads, trust_code=trust_code)


class RayExecutor:
    """Run trials as Ray tasks.

    Parameters
    ----------
    address : str or None, default None
        ``None``: a local Ray instance started here (unless Ray is already initialised);
        ``"auto"`` or ``"ray://host:port"``: join that cluster.
    workers : int or None, default None
        CPUs of a local instance started here (default: :func:`available_cores`).
    init_options : dict or None, default None
        Extra keyword arguments of ``ray.init``.
    """

    name = "ray"

    def __init__(self, *, address: str | None = None, workers: int | None = None,
                 init_options: dict[str, Any] | None = None):
        try:
            import ray
        except ImportError:
            raise ImportError(RAY_INSTALL_HINT) from None
        if workers is not None:
            workers = int(check_number(workers, "workers", "RayExecutor", low=1, integer=True))
        if address is not None and not isinstance(address, str):
            raise TypeError(f"The 'address' parameter of RayExecutor must be 'auto' or 'ray://host:port'. Got "
                            f"{address!r}.")
        self._ray = ray
        self._owns = False
        self._refs: dict[Any, TrialJob] = {}
        self._remote = None
        options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False,
                   **(init_options or {})}
        if not ray.is_initialized():
            if address is None:
                ray.init(num_cpus=workers or available_cores(), **options)
            else:
                ray.init(address=address, **options)
            self._owns = True
        elif workers is not None or address is not None:
            raise ValueError("Ray is already initialised in this process; pass neither 'workers' nor 'address' "
                             "(the running instance is used).")

    def prepare(self, cpus_per_trial: int, gpus_per_trial: int) -> int:
        """Trials that fit at once in the cluster's CPUs (and GPUs, when trials ask for them)."""
        resources = self._ray.cluster_resources()
        slots = int(resources.get("CPU", 1) // max(1, cpus_per_trial))
        if gpus_per_trial:
            gpus = int(resources.get("GPU", 0) // gpus_per_trial)
            if gpus == 0:
                raise RuntimeError(f"The trials ask for {gpus_per_trial} GPU(s) each (device cuda) but the Ray "
                                   f"cluster has {resources.get('GPU', 0)}.")
            slots = min(slots, gpus)
        return max(1, slots)

    def submit(self, job: TrialJob) -> None:
        """Start ``job`` as a Ray task asking for ``job.cpus`` CPUs and ``job.gpus`` GPUs."""
        if self._remote is None:
            self._remote = self._ray.remote(_run_job)
        ref = self._remote.options(num_cpus=job.cpus, num_gpus=job.gpus, max_retries=0).remote(
            job.trial, job.study_dir, job.threads, job.trust_code)
        self._refs[ref] = job

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        """Outcomes of tasks that finished within ``timeout`` seconds; a crashed worker (killed,
        out of memory) becomes a failed outcome with Ray's message."""
        if not self._refs:
            return []
        ready, rest = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready and rest:  # and any others that are finished too, without waiting
            ready += self._ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        outcomes = []
        for ref in ready:
            job = self._refs.pop(ref)
            try:
                outcomes.append(self._ray.get(ref))
            except self._ray.exceptions.RayError as error:
                outcomes.append({"id": job.trial["id"], "status": "failed", "attempts": None,
                                 "error": f"{type(error).__name__}: {str(error).strip().splitlines()[-1]}",
                                 "seconds": None, "resumed_from_step": None, "crashed": True})
        return outcomes

    def close(self) -> None:
        """Cancel unfinished tasks; shut Ray down if this executor started it."""
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
