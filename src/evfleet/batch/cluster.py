"""Dask client for sweeps and multi-depot runs: a local cluster by default, or an existing scheduler.

The local cluster uses worker *processes* (one thread each, so that numpy and the solvers do not fight over the
GIL), binds to 127.0.0.1 and has no dashboard. An existing cluster is reached by its scheduler address
(``tcp://HOST:8786``); its workers must be able to import the same evfleet version.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from evfleet._common.errors import InputError, RunError
from evfleet._common.version import __version__

__all__ = ["check_workers", "dask_client", "default_workers", "warm_up"]


def default_workers() -> int:
    """Number of local workers by default: the number of usable CPU cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _import_engine() -> str:
    """Import the engine modules on a worker (first import costs ~1 s) and return the evfleet version."""

    return __version__


def warm_up(client: Any) -> dict[str, str]:
    """Import evfleet on every worker; return ``{worker address: evfleet version}``."""
    return client.run(_import_engine)


def check_workers(client: Any, where: str, timeout_s: float = 60.0) -> dict[str, str]:
    """Wait for a worker, import evfleet on every worker and check its version; raise ``RuntimeError`` if not."""

    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError:
        raise RunError(f"no Dask worker is connected to {where} after {timeout_s:.0f} s") from None
    try:
        versions = warm_up(client)
    except ImportError as exc:
        raise RunError(f"the Dask workers of {where} cannot import evfleet: {exc}") from None
    for addr, version in versions.items():
        if version != __version__:
            raise RunError(
                f"Dask worker {addr} of {where} runs evfleet {version}, this client {__version__}; "
                "install the same version on every worker"
            )
    return versions


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def quiet_shutdown_logs() -> None:
    """Silence the loggers that report Dask/tornado event-loop callbacks failing while a cluster is torn down.

    Called only when a sweep stops early (Ctrl-C, an error): the interruption itself is reported by evfleet.
    """
    for name in ("distributed", "tornado", "tornado.application", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


@contextmanager
def dask_client(
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = True,
) -> Iterator[Any]:
    """Yield a ``distributed.Client``: connected to ``scheduler`` if given, else to a new local cluster.

    ``workers``: number of local worker processes (default: number of cores); ignored with ``scheduler``.
    The local cluster is closed on exit; an existing cluster is only disconnected from.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None and workers is not None:
        raise InputError(f"give either --workers or --scheduler, not both (values {workers!r}, {scheduler!r})")
    if scheduler is not None:
        if "://" not in scheduler:
            raise InputError(f"option '--scheduler' must be an address like tcp://HOST:8786 (value {scheduler!r})")
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise RunError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        try:
            check_workers(client, f"the scheduler at {scheduler}")
            yield client
        except BaseException:
            quiet_shutdown_logs()
            raise
        finally:
            client.close()
        return
    n = default_workers() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"option '--workers' must be an integer >= 1 (value {n!r})")
    # Worker processes inherit an ignored SIGINT, so that Ctrl-C in a terminal (sent to the whole process group)
    # reaches only this process, which then cancels the tasks and closes the cluster cleanly.
    previous = signal.getsignal(signal.SIGINT) if _main_thread() else None
    if previous is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            host="127.0.0.1",
            protocol="tcp://",
            dashboard_address=":0",  # a free port: Dask's default 8787 may be taken (None still binds it)
            silence_logs=logging.ERROR,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    client = Client(cluster)
    try:
        check_workers(client, "the local cluster")
        yield client
    except BaseException:
        quiet_shutdown_logs()  # an interrupted sweep: no event-loop tracebacks while the cluster is torn down
        raise
    finally:
        client.close()
        cluster.close()
