"""Where ``deepamp cohort`` runs its tasks: a dask.distributed client.

By default a :class:`distributed.LocalCluster` of worker *processes* on this
machine (``workers`` of them, one thread each: every task is a whole sample
that uses ``--threads`` for its aligner and counting).  With an address
(``tcp://host:8786``) the client connects to a running scheduler instead,
e.g. one started by ``dask-jobqueue`` on SLURM/PBS or by ``dask scheduler``;
its workers must see the same file system paths as this machine (inputs,
reference, output directory) and have deepamp installed.

The dashboard address is given when the scheduler serves one (a local
cluster serves it, on a free port, when ``bokeh`` is installed).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from deepamp.errors import InputFileError, OptionError

__all__ = ["dask_client", "dashboard_link"]

log = logging.getLogger("deepamp.cohort")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputFileError("deepamp cohort needs dask.distributed: pip install 'deepamp[cohort]' "
                             "(or pip install distributed)") from None
    return distributed


def dashboard_link(client: Any) -> str | None:
    """The dashboard address of the client's scheduler, or None when it serves none."""
    try:
        services = client.scheduler_info().get("services", {})
        if "dashboard" not in services:
            return None
        return str(client.dashboard_link)
    except Exception:          # an old or unusual scheduler: no address to give
        return None


@contextlib.contextmanager
def dask_client(workers: int = 1, scheduler: str | None = None) -> Iterator[tuple[Any, str | None]]:
    """A dask.distributed ``Client``: a new LocalCluster of ``workers`` processes, or ``scheduler``'s.

    Parameters
    ----------
    workers : local worker processes (one thread each); ignored with ``scheduler``
    scheduler : address of a running scheduler (``tcp://host:8786``), or None for a LocalCluster

    Yields
    ------
    (distributed.Client, its dashboard address or None); the client is closed, and the
    LocalCluster shut down, on exit

    Raises
    ------
    InputFileError
        distributed is not installed, or the scheduler cannot be reached.
    OptionError
        ``workers < 1``.
    """
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputFileError(f"--scheduler {scheduler}: cannot connect ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else 'no answer'})") from None
        try:
            yield client, dashboard_link(client)
        finally:
            client.close()
        return
    if workers < 1:
        raise OptionError("workers must be >= 1")
    import importlib.util

    bokeh = importlib.util.find_spec("bokeh") is not None     # without it the page only says so
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", memory_limit=0, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster)
        try:
            yield client, dashboard_link(client) if bokeh else None
        finally:
            client.close()
    finally:
        cluster.close()
