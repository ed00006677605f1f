"""Where the per-page work runs: in this process, a local process pool, or a Dask cluster.

All three look like a `concurrent.futures.Executor`, so the coordinator's loop
is the same everywhere.  Dask is imported only when asked for.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from pipeline.errors import MissingDependencyError, UsageError
from pipeline.workers import limit_worker_threads


class InlineExecutor(Executor):
    """Runs each task at submit time: `--jobs 1`, and no process start-up cost."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def _pool_worker_init() -> None:
    """A pool worker leaves Ctrl-C to the coordinator, which stops the pool: otherwise every worker prints a
    KeyboardInterrupt traceback of its own over the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_worker_threads()


@contextmanager
def open_executor(jobs: int, dask_scheduler: str | None = None) -> Iterator[tuple[Executor, int]]:
    """Yields the executor and how many pages may be in flight at once (bounds memory)."""
    from pipeline import constants as C

    if dask_scheduler:
        with _dask_executor(dask_scheduler, jobs) as (executor, workers):
            yield executor, max(2, workers * C.MAX_PAGES_IN_FLIGHT_PER_JOB)
        return
    if jobs == 1:
        limit_worker_threads()
        yield InlineExecutor(), 1
        return
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_pool_worker_init)
    try:
        yield pool, jobs * C.MAX_PAGES_IN_FLIGHT_PER_JOB
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_executor(address: str, jobs: int) -> Iterator[tuple[Executor, int]]:
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingDependencyError("Dask is not installed", "pip install 'papervoice[dask]'") from exc
    cluster = None
    # each page is one short task: Dask's sampling profiler and frequent ticks would cost more than they tell
    dask.config.set({"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "100ms"})
    try:
        if address == "local":
            # workers on this machine run in this process: no copying of every page and result between
            # processes (the reading releases the GIL in OpenCV, numpy and tesseract); remote clusters run
            # worker processes of their own
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=False, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout="20s")
    except (OSError, ValueError, TypeError) as exc:  # distributed raises ValueError/TypeError for odd addresses
        if cluster is not None:
            cluster.close()
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                         "check the address (tcp://host:8786) and that the scheduler is running") from exc
    try:
        client.run(limit_worker_threads)
        workers = max(1, sum(client.nthreads().values()))
        yield client.get_executor(pure=False), workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
