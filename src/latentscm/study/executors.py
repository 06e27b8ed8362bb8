"""The executors by name: ``make_executor("auto" | "ray" | "sequential")``.

``"auto"`` takes Ray when it is installed (and always when a cluster ``address`` is given) and
the sequential executor otherwise; asking for Ray without it installed raises an ``ImportError``
that says how to install it.
"""

from __future__ import annotations

from latentscm._validation import check_choice
from latentscm.study.executor import RAY_INSTALL_HINT, Executor, ray_available

__all__ = ["EXECUTORS", "make_executor"]

EXECUTORS = ("auto", "ray", "sequential")


def make_executor(name: str = "auto", *, address: str | None = None, workers: int | None = None) -> Executor:
    """The executor called ``name``.

    Parameters
    ----------
    name : {"auto", "ray", "sequential"}, default "auto"
        ``"auto"``: Ray when installed (and always when ``address`` is given), else sequential.
    address : str or None, default None
        A Ray cluster: ``"auto"`` (the cluster this machine belongs to) or ``"ray://host:10001"``
        (Ray Client). ``None``: a local Ray instance.
    workers : int or None, default None
        Local Ray: CPUs of the local instance (default: the free cores, see
        :func:`available_cores`).

    Raises
    ------
    ImportError
        ``"ray"`` (or an ``address``) without Ray installed; the message says how to install it.
    ValueError
        An unknown name, or an ``address`` with the sequential executor.
    """
    check_choice(name, "executor", "make_executor", EXECUTORS)
    if name == "sequential":
        if address is not None:
            raise ValueError(f"The sequential executor runs in this process; --address {address!r} needs the Ray "
                             f"executor.")
        from latentscm.study.sequential import SequentialExecutor

        return SequentialExecutor()
    if not ray_available():
        if name == "ray" or address is not None:
            raise ImportError(RAY_INSTALL_HINT)
        from latentscm.study.sequential import SequentialExecutor

        return SequentialExecutor()
    from latentscm.study.ray_executor import RayExecutor

    return RayExecutor(address=address, workers=workers)
