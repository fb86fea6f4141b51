"""Many inputs of one command answered in input order, spread over worker processes.

Each recording of an ``analyze`` batch is independent and CPU-bound, so ``in_order``
hands them to forked workers: what the analysis needs is loaded here first, once, before
the fork; the inputs go to ``workers`` processes, and every answer is yielded in input
order as soon as it and those before it are ready. Workers
only compute; printing and the session store stay in this process.

Fork is what makes a worker cheap (it starts with this process's imports); where it is
not safe (macOS, Windows, or a process already running other threads) the inputs are
answered here, one after the other, as they are with ``workers`` 1.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

#: Inputs sent to a worker at a time, as a share of the inputs per worker: small enough
#: that answers come out steadily in order, large enough to keep the hand-over cheap.
BATCHES_PER_WORKER = 8

_work: Callable | None = None  # set before the fork: the workers inherit it


#: Where a container's CPU limit is written (cgroup v2: "QUOTA PERIOD", or "max PERIOD").
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def default_workers(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """One worker per core this process may use: the cores it may run on, or fewer when
    its container's CPU quota allows fewer (a 2-CPU container on a 64-core host)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):
        pass
    return max(1, cores)


def can_fork() -> bool:
    """Whether workers can be forked safely here: on Linux, from a process running one
    thread (a fork copies locks another thread may hold, never released in the child)."""
    import threading

    return sys.platform.startswith("linux") and threading.active_count() == 1


def forks(items: Sequence[object], workers: int) -> bool:
    """Whether ``in_order`` hands these items to worker processes."""
    return workers > 1 and len(items) > 1 and can_fork()


def in_order(work: Callable[[Item], Answer], items: Sequence[Item], workers: int,
             prepare: Callable[[], object] | None = None) -> Iterator[Answer]:
    """``work(item)`` for every item, yielded in the items' order.

    With ``workers`` > 1 and more than one item, up to ``workers`` forked processes do
    them. ``prepare()``, called here first, loads what they need (imports, cached
    designs) so each worker starts with it; without it the first item is done here for
    that. ``work`` and what it returns must not need this process afterwards (an answer
    is pickled back to it).
    """
    if not forks(items, workers):
        yield from map(work, items)
        return
    if prepare is not None:
        prepare()
        rest = items
    else:
        yield work(items[0])
        rest = items[1:]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _work
    _work = work
    count = min(workers, len(rest))
    chunk = max(1, len(rest) // (count * BATCHES_PER_WORKER))
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_start, initargs=(os.getpid(),))
    done, finished = 0, False
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns when a process with other OS threads forks. The only ones
            # here are OpenBLAS's pool (when a user asks for one: cli.BLAS_THREADS; idle,
            # the analysis keeps out of BLAS) and an allocator thread of pyarrow's; both
            # re-initialise in a forked child, and a worker runs only the analysis.
            # (Python threads: see can_fork.)
            warnings.filterwarnings("ignore", message=r".*multi-threaded.*fork",
                                    category=DeprecationWarning)
            answers = pool.map(_run, rest, chunksize=chunk)  # forks the workers
        for answer in answers:
            done += 1
            if isinstance(answer, _Failed):  # this input's unexpected error, in its place
                raise answer.error
            yield answer
        finished = True
    except BrokenProcessPool:  # a worker was killed (out of memory?)
        finished = True
    finally:
        _work = None
        if not finished:  # interrupted, or the reader went away: stop now, not at the end
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
    if done < len(rest):
        print(f"warning: a worker process stopped; the last {len(rest) - done} input(s) are "
              "answered in this process", file=sys.stderr, flush=True)
        yield from map(work, rest[done:])


@dataclass
class _Failed:
    """An unexpected error of one item in a worker, sent back to be raised in its place
    (so the answers before it in the same hand-over are not lost)."""

    error: BaseException


def _run(item: object) -> object:
    assert _work is not None, "in_order sets the work before it forks"
    try:
        return _work(item)
    except Exception as exc:  # noqa: BLE001 - raised again in the parent, in order
        import traceback

        exc.add_note("in a worker process:\n" + "".join(traceback.format_exception(exc)))
        return _Failed(exc)


def _worker_start(parent_pid: int) -> None:
    """Ctrl-C reaches the whole process group: the parent stops the workers. A parent
    killed on its own (kill PID, a timeout) takes its workers with it: Linux signals them
    when it dies (prctl PR_SET_PDEATHSIG), and one that missed it exits now."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _stop_workers(pool: object) -> None:
    stop = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if stop is not None:
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
