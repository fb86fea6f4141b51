"""The Dask distributed engine of a cohort run (imported only for ``--engine dask``).

Where the time went when every recording was its own task (measured with
``benchmarks/cohort.py`` and 1,000 empty tasks on a 2-worker LocalCluster): a short recording
takes ~15 ms of CPU to analyse, and Dask's own work for one task (scheduler and client ~2 ms,
the worker's bookkeeping ~2 ms, plus sending the session back) came on top, on the same two
cores; each worker's profiler and monitors took another ~4 % of a core. Two workers were then
slower than one process. The engine therefore:

- sends recordings in groups (``plan_groups``): short recordings are grouped until a group
  holds about ``GROUP_TARGET_BYTES`` of input (~0.3 s of analysis), a long recording is a task
  of its own, and there are always at least ``MIN_GROUPS_PER_WORKER`` tasks per worker so the
  work spreads evenly and a killed worker loses little. Each recording in a group is still
  read, analysed, kept and failed on its own, exactly as the in-process engine does it;
- lets workers keep each result in the output folder as it finishes when they share it (the
  run leaves a marker there, ``ResultDir.mark_run``) and send back only a receipt, so the
  session JSON (step times and all) is not serialised to the client and written again there;
- imports the analysis and loads the rules in every worker before its first task, including
  workers that join or are restarted later (a worker plugin);
- starts its own LocalCluster without the profiler and monitors nobody looks at
  (``LOCAL_CLUSTER_CONFIG``).

A worker that dies takes its running group with it; the scheduler runs that group again on
another worker, which rewrites the same result files (by source, whole or not at all), so
none is lost or doubled.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from stridewatch.cohort.results import ResultDir
from stridewatch.cohort.task import AnalysisOptions, analyze_group, prepare

#: Input bytes per task: ~0.3 s of analysis for plain CSV (a 30 s walk at 50 Hz is ~45 kB and
#: takes ~15 ms), so Dask's few ms per task are ~1 % of it. One recording at least per task.
GROUP_TARGET_BYTES = 1_000_000
#: Never fewer tasks than this per worker (small cohorts: one recording per task).
MIN_GROUPS_PER_WORKER = 8

Item = tuple[int, str, "str | None"]


#: Settings of the LocalCluster a run starts itself (an existing scheduler keeps its own):
#: it has no dashboard, so the workers' statistical profiler and the system monitors only
#: cost CPU on the cores the analysis needs (~4 % of a core per worker while idle, measured);
#: and the scheduler hands every worker its share of the tasks at once instead of one at a
#: time (no queueing), so a worker never waits for the busy scheduler between two tasks
#: (work stealing still evens out the ends, and a dead worker's tasks still go elsewhere).
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "1s",
    "distributed.scheduler.worker-saturation": "inf",
}


def start_local_cluster(n_workers: int) -> LocalCluster:
    """A LocalCluster of ``n_workers`` single-threaded worker processes on this machine."""
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)


class PrepareAnalysis(WorkerPlugin):
    """Import the analysis and load the rules when a worker starts (or joins later)."""

    name = "stridewatch-prepare-analysis"

    def __init__(self, options: AnalysisOptions) -> None:
        self.options = options

    def setup(self, worker: Any) -> None:
        prepare(self.options)


def _size(source: str) -> int:
    try:
        return os.stat(source).st_size
    except OSError:
        return 0  # fails fast on the worker, with its error


def plan_groups(items: Sequence[Item], n_workers: int,
                target_bytes: int = GROUP_TARGET_BYTES) -> list[list[Item]]:
    """Consecutive items in groups of about ``target_bytes`` of input, at most
    ``len(items) / (n_workers * MIN_GROUPS_PER_WORKER)`` recordings each (at least one)."""
    cap = max(1, len(items) // max(1, n_workers * MIN_GROUPS_PER_WORKER))
    groups: list[list[Item]] = []
    group: list[Item] = []
    group_bytes = 0
    for item in items:
        size = _size(item[1])
        if group and (group_bytes + size > target_bytes or len(group) >= cap):
            groups.append(group)
            group, group_bytes = [], 0
        group.append(item)
        group_bytes += size
    if group:
        groups.append(group)
    return groups


def run_on_dask(
    items: Sequence[Item],
    options: AnalysisOptions,
    results: ResultDir,
    keep: Callable[[dict[str, Any]], None],
    *,
    scheduler: str | None,
    workers: int | None,
    client: Any,
) -> None:
    """Analyse ``items`` on Dask, calling ``keep`` with each recording's result or receipt as
    its group finishes (a recording whose group could not run is kept with that error)."""
    own_client = client is None
    cluster = None
    if own_client:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = start_local_cluster(workers or os.cpu_count() or 1)
            client = Client(cluster)
    run_id = results.mark_run()
    try:
        client.register_plugin(PrepareAnalysis(options))
        n_workers = sum(client.nthreads().values()) or 1
        out_dir = str(results.root.resolve())
        futures = {}
        for group in plan_groups(items, n_workers):
            key = hashlib.sha256("\0".join([run_id, *(src for _, src, _ in group)])
                                 .encode("utf-8")).hexdigest()[:32]
            future = client.submit(analyze_group, group, options, out_dir, run_id,
                                   key=f"stridewatch-analyze-{key}", pure=False)
            futures[future] = group
        for future in as_completed(list(futures)):
            group = futures.pop(future)
            if future.status == "finished":
                for result in future.result():
                    keep(result)
                continue
            # the task itself cannot raise: its workers died (KilledWorker) or similar
            exc = future.exception()
            for index, source, _ in group:
                keep({"index": index, "source": source, "content_sha256": None,
                      "session": None, "skipped": False,
                      "error": f"{source}: not analysed: {type(exc).__name__}: {exc}"})
    finally:
        results.unmark_run(run_id)
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
