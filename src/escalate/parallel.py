"""Embarrassingly parallel loops of fits (backtest origins, SBC replicates) as Dask tasks.

:func:`run_tasks` runs ``function(shared, task)`` for every task on

- a ``distributed.LocalCluster`` of worker processes sized to the machine (the default);
- an existing Dask scheduler, given as its address (``tcp://host:8786``) or by the environment
  variable :data:`SCHEDULER_ENV` (the same code runs on a laptop or a cluster of many machines);
- ``"synchronous"``: in this process, one task after the other (for debugging and for the
  identity checks: the same seeds give the same results on every path).

``shared`` (e.g. the corpus) is sent to the workers once. Each result is handed to
``on_result`` as it arrives (callers write it to disk there, so that an interrupted loop can
resume); a task that raises is reported with its key and the others are kept.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass

#: Environment variable naming an existing Dask scheduler (``tcp://host:8786``).
SCHEDULER_ENV = "ESCALATE_SCHEDULER"
SYNCHRONOUS = "synchronous"
LOCAL = "local"


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its key, the error in one line and the traceback."""

    key: str
    error: str
    traceback: str


def resolve_scheduler(scheduler: str | None) -> str:
    """``scheduler``, else $ESCALATE_SCHEDULER, else a local cluster."""
    chosen = scheduler or os.environ.get(SCHEDULER_ENV, "").strip() or LOCAL
    return chosen


def default_workers(n_tasks: int) -> int:
    """Worker processes of a local cluster: the CPUs, at most one per task."""
    return max(1, min(os.cpu_count() or 1, n_tasks))


def print_progress(done: int, total: int, key: str, failure: TaskFailure | None) -> None:
    """The default progress line (stderr): ``[3/14] 2003-01-01 done``."""
    status = f"FAILED: {failure.error}" if failure else "done"
    print(f"[{done}/{total}] {key} {status}", file=sys.stderr, flush=True)


def run_tasks(function, tasks: dict, *, shared=None, scheduler: str | None = None, workers: int | None = None,
              on_result=None, progress=print_progress) -> tuple[dict, dict[str, TaskFailure]]:
    """Run ``function(shared, task)`` for each ``key: task`` of ``tasks``.

    Parameters
    ----------
    function : callable
        A module-level function (workers import it by name).
    tasks : dict
        Task arguments by key (a string naming the task in progress lines and failures).
    shared : object, optional
        Sent to every worker once and passed as the first argument.
    scheduler : str, optional
        ``"local"`` (a LocalCluster of ``workers`` processes, one thread each), ``"synchronous"``
        (this process) or a scheduler address; default $ESCALATE_SCHEDULER, else local.
    workers : int, optional
        Worker processes of a local cluster (default :func:`default_workers`).
    on_result : callable, optional
        ``on_result(key, result)``, called in this process as each task finishes.
    progress : callable or None
        ``progress(done, total, key, failure)`` after each task (default: a line on stderr).

    Returns
    -------
    (dict, dict)
        Results by key, and :class:`TaskFailure` by key for the tasks that raised.
    """
    chosen = resolve_scheduler(scheduler)
    results: dict = {}
    failures: dict[str, TaskFailure] = {}
    total = len(tasks)

    def finish(key, result=None, error: BaseException | None = None, tb: str = ""):
        if error is None:
            results[key] = result
            if on_result is not None:
                on_result(key, result)
            failure = None
        else:
            failure = failures[key] = TaskFailure(key, f"{type(error).__name__}: {error}", tb)
        if progress is not None:
            progress(len(results) + len(failures), total, key, failure)

    if not tasks:
        return results, failures
    if chosen == SYNCHRONOUS:
        for key, task in tasks.items():
            try:
                value = function(shared, task)
            except Exception as exc:  # a failed task is reported; the others go on
                finish(key, error=exc, tb=traceback.format_exc())
            else:
                finish(key, value)
        return results, failures
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if chosen == LOCAL:
        cluster = LocalCluster(n_workers=workers or default_workers(total), threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(chosen)
    try:
        payload = client.scatter(shared, broadcast=True) if shared is not None else None
        futures = {client.submit(function, payload, task, key=f"escalate-{key}-{os.getpid()}", pure=False): key
                   for key, task in tasks.items()}
        for future in as_completed(futures):
            key = futures[future]
            if future.status == "error":
                error = future.exception()
                finish(key, error=error, tb="".join(traceback.format_tb(future.traceback())))
            else:
                finish(key, future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results, failures


__all__ = ["SCHEDULER_ENV", "TaskFailure", "default_workers", "resolve_scheduler", "run_tasks"]
