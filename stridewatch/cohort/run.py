"""Run a cohort: every input analysed once, its result kept as it finishes.

Engines: ``"local"`` analyses in this process, one recording after the other; ``"dask"`` runs
on Dask distributed (a ``LocalCluster`` of ``workers`` single-threaded processes, or the
cluster behind ``scheduler``), short recordings grouped into tasks (``dask_engine``). A worker
that dies takes its running task with it; the scheduler runs it again on another worker, and
since results are kept by source (one file each, replaced whole) none is lost or doubled. A
recording that fails is kept with its error and the run goes on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from stridewatch.cohort.results import ResultDir, receipt
from stridewatch.cohort.tables import write_tables
from stridewatch.cohort.task import AnalysisOptions, analyze_one

ENGINES = ("local", "dask")
#: Rewrite the tables at least this often during a long run (they are also written at the end).
TABLE_FLUSH_S = 30.0


@dataclass
class CohortSummary:
    total: int
    analysed: int = 0
    skipped: int = 0
    failed: int = 0
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.analysed + self.skipped + self.failed


class Progress:
    """Recordings done / failed and the time left, on one refreshed line (a terminal) or a
    line every 10 % (a log)."""

    def __init__(self, summary: CohortSummary, stream: TextIO | None) -> None:
        self.summary, self.stream = summary, stream
        self.started = time.monotonic()
        self.tty = bool(stream is not None and stream.isatty())
        self._last_decile = -1

    def line(self) -> str:
        s = self.summary
        worked = s.analysed + s.failed
        elapsed = time.monotonic() - self.started
        left = s.total - s.done
        eta = "?" if worked == 0 else _clock(elapsed / worked * left)
        return (f"{s.done}/{s.total} recordings done ({s.skipped} kept from before), "
                f"{s.failed} failed, {eta} left")

    def update(self) -> None:
        if self.stream is None:
            return
        if self.tty:
            print(f"\r{self.line()}\x1b[K", end="", file=self.stream, flush=True)
            return
        decile = self.summary.done * 10 // max(self.summary.total, 1)
        if decile != self._last_decile:
            self._last_decile = decile
            print(self.line(), file=self.stream, flush=True)

    def finish(self) -> None:
        if self.stream is None:
            return
        s = self.summary
        end = "\n" if self.tty else ""
        print(f"{end}{s.done}/{s.total} recordings: {s.analysed} analysed, {s.skipped} kept "
              f"from before, {s.failed} failed in {_clock(s.wall_s)}", file=self.stream,
              flush=True)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_cohort(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    options: AnalysisOptions | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: TextIO | None = sys.stderr,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    client: Any = None,
) -> CohortSummary:
    """Analyse ``inputs`` into ``out_dir`` (see the module docstring); return the counts.

    ``resume``: inputs whose kept result has the same content hash are not analysed again.
    ``on_result``: called with each new result's receipt (``results.receipt``: source,
    content hash, error; no session) as it is kept. ``client``: a Dask client to
    use instead of starting one. An interrupted run (Ctrl-C) still writes the tables of what
    it finished, then re-raises.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    options = options or AnalysisOptions()
    sources = list(dict.fromkeys(str(p) for p in inputs))
    results = ResultDir(out_dir)
    known = {src: results.done_sha256(src) for src in sources} if resume else {}
    summary = CohortSummary(total=len(sources))
    bar = Progress(summary, progress)
    started = time.monotonic()
    last_flush = [started]

    def keep(result: dict[str, Any]) -> None:
        if result.get("skipped"):
            summary.skipped += 1
        else:
            if not result.get("kept"):  # a worker that shares the folder kept it already
                results.write(result)
            if result.get("error"):
                summary.failed += 1
                summary.errors.append(result["error"])
            else:
                summary.analysed += 1
            if on_result is not None:
                on_result(receipt(result))
        bar.update()
        if time.monotonic() - last_flush[0] > TABLE_FLUSH_S:
            _write_tables(results, sources)
            last_flush[0] = time.monotonic()

    try:
        if engine == "local":
            for index, source in enumerate(sources):
                keep(analyze_one(index, source, options, known.get(source)))
        else:
            try:
                from stridewatch.cohort.dask_engine import run_on_dask
            except ModuleNotFoundError as exc:
                raise RuntimeError("--engine dask needs Dask distributed: "
                                   "pip install 'stridewatch[cluster]'") from exc
            run_on_dask([(index, source, known.get(source))
                         for index, source in enumerate(sources)], options, results, keep,
                        scheduler=scheduler, workers=workers, client=client)
    finally:
        summary.wall_s = time.monotonic() - started
        summary.files = _write_tables(results, sources)
        bar.finish()
    return summary


def _write_tables(results: ResultDir, sources: Sequence[str]) -> dict[str, Path]:
    kept = [r for r in (results.load(src) for src in sources) if r is not None]
    return write_tables(results.root, kept)
