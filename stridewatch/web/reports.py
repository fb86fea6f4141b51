"""A stored session's report and downloads, through the file report's public functions
(``stridewatch.cli.report`` builds the same inputs for ``stridewatch report``).

The report is drawn from the stored session (its stored analysis and the patient's current
rules; the recording is read only for the signal viewer's samples, never analysed again).
Drawing (matplotlib figures, WeasyPrint) is CPU-bound and would hold the server's
interpreter: it runs in a small pool of worker processes, first come first served, so a report
being drawn never stalls the other pages and two clients asking for the same report share one
drawing. The last shown pages are kept in memory (up to CACHED_REPORT_BYTES), keyed by the
session's analysis and the patient's rules version (a new analysis or a rules change draws it
again).
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import IO, Any, TextIO

import numpy as np

from stridewatch.inputs import Recording
from stridewatch.store import database as store
from stridewatch.store.filing import resolve_rules
from stridewatch.web.recordings import stored_recording_path

#: Worker processes drawing reports (each a core; more would only queue on this machine).
RENDER_PROCESSES = max(1, min(2, os.cpu_count() or 1))
#: How much lower the drawing processes' CPU priority is than the server's.
WORKER_NICENESS = 5
#: Memory for rendered reports (about 0.3 MB for a short walk, 1 MB for an hour with its
#: signal viewer), the least recently shown dropped first.
CACHED_REPORT_BYTES = 128 * 2**20


def _inputs(db: store.DbLike, stored: store.StoredSession) -> tuple[dict, Any, dict, dict]:
    from stridewatch.cli.report import stored_signal
    from stridewatch.report.limits import guidelines_from_rules, thresholds_from_rules
    from stridewatch.report.signal import ReportSignal

    session = store.load_session(db, stored.id)
    rules = resolve_rules(None, stored.patient_id, db)
    path = stored_recording_path(stored)
    signal = None if path is None else stored_signal(path, session)
    recording = signal is not None
    if signal is None:  # a session filed without its recording: no raw excerpt samples
        signal = ReportSignal(t_s=np.zeros(0), vertical_g=np.zeros(0))
    provenance = {
        "input_file": session.get("source") or stored.source_name,
        "device": stored.device or None,
        "sample_rate_hz": session.get("sample_rate_hz"),
        "rules_version": stored.rules_version,
        "rules_file": f"patient {stored.patient_id} stored rules",
        "recording_stored": "yes" if recording else "no",
    }
    return session, signal, provenance, {
        "thresholds": thresholds_from_rules(rules),
        "guidelines": guidelines_from_rules(rules)}


# --------------------------------------------------------------------------- in a worker


def _draw_html(session: dict, signal: Any, provenance: dict, patient_id: str | None,
               extra: dict) -> str:
    from stridewatch.report.render import render_report

    return render_report(session, signal, provenance, patient_id, **extra)


def _draw_pdf(session: dict, signal: Any, provenance: dict, patient_id: str | None,
              extra: dict) -> bytes:
    from stridewatch.report.render import render_pdf

    with tempfile.TemporaryDirectory() as folder:
        path = render_pdf(session, signal, provenance, Path(folder) / "report.pdf",
                          patient_id, **extra)
        return Path(path).read_bytes()


def _worker_start() -> None:
    """In each worker: yield the CPU to the server's pages (drawing a report may take longer,
    a page may not) and leave when the server process is gone (killed without a shutdown)."""
    os.nice(WORKER_NICENESS)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    import stridewatch.report.render  # noqa: F401  (imported once, before the first report)


# --------------------------------------------------------------------------- the pool

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_cache: OrderedDict[tuple, str] = OrderedDict()
_cached_bytes = 0  # characters of the pages in _cache
_drawing: dict[tuple, Future] = {}
_cache_lock = threading.Lock()


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawned, not forked: the server's threads, locks and store connections stay
            # in the server
            _pool = ProcessPoolExecutor(
                RENDER_PROCESSES, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start)
        return _pool


def start() -> None:
    """Start the drawing processes now (the first report then needs no start-up)."""
    pool = _executor()
    for future in [pool.submit(os.getpid) for _ in range(RENDER_PROCESSES)]:
        future.result()


def shutdown() -> None:
    """Stop the drawing processes (the server calls this on its way out)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _draw(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a worker process; a pool whose worker died is started again
    once."""
    global _pool
    for attempt in (1, 2):
        pool = _executor()
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool:
            with _pool_lock:
                if _pool is pool:
                    _pool = None
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _cache_key(db: store.DbLike, stored: store.StoredSession) -> tuple:
    rules = store.get_patient_rules(db, stored.patient_id) if stored.patient_id else None
    return (store.describe(db), stored.id, stored.analyzed_at, stored.rules_version,
            stored.patient_id, rules.version if rules else None)


def session_report_html(db: store.DbLike, stored: store.StoredSession) -> str:
    """The same HTML report ``stridewatch report`` writes, for a stored session (kept until
    the session is analysed again or the patient's rules change)."""
    key = _cache_key(db, stored)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        shared = _drawing.get(key)
        if shared is None:
            mine: Future = Future()
            _drawing[key] = mine
    if shared is not None:  # someone is drawing this very report: wait for theirs
        return shared.result()
    try:
        session, signal, provenance, extra = _inputs(db, stored)
        page = _draw(_draw_html, session, signal, provenance, stored.patient_id, extra)
    except BaseException as exc:
        with _cache_lock:
            _drawing.pop(key, None)
        mine.set_exception(exc)
        raise
    global _cached_bytes
    with _cache_lock:
        if key not in _cache:
            _cache[key] = page
            _cached_bytes += len(page)
        while _cached_bytes > CACHED_REPORT_BYTES and len(_cache) > 1:
            _cached_bytes -= len(_cache.popitem(last=False)[1])
        _drawing.pop(key, None)
    mine.set_result(page)
    return page


def session_report_pdf(db: store.DbLike, stored: store.StoredSession) -> bytes:
    session, signal, provenance, extra = _inputs(db, stored)
    return _draw(_draw_pdf, session, signal, provenance, stored.patient_id, extra)


def samples_csv(recording: Recording) -> str:
    """The recording's samples in the analysis CSV layout (data/csv-format.md)."""
    out = io.StringIO()
    _write_samples(out, [(recording.t_s, recording.acc, recording.gyro_dps)])
    return out.getvalue()


def samples_csv_file(path: Path) -> IO[bytes] | None:
    """``samples_csv`` of a stored recording file, written to an anonymous temporary file
    (rewound; it goes when closed), or None when the file cannot be read. It is read as a
    stream where ``analyze`` streams it, a chunk at a time, so a long recording is never
    held; else whole."""
    from stridewatch.inputs import InputFileError, read_input
    from stridewatch.inputs.swtrace import TraceReadError
    from stridewatch.store.filing import read_as_stream

    text = io.TextIOWrapper(tempfile.TemporaryFile(), encoding="utf-8", newline="")
    try:
        written = read_as_stream(path, lambda chunks, _units: _write_samples(
            text, ((c.t_s, c.acc, c.gyro_dps) for c in chunks)))
        if written == 0:
            raise InputFileError(f"{path}: no samples")  # (as reading it whole says)
        if written is None:  # not streamed (possibly after some rows): written again, whole
            text.seek(0)
            text.truncate()
            text.write(samples_csv(read_input(path)))
        return _rewound(text)
    except (InputFileError, TraceReadError, OSError, ValueError):
        text.close()
        return None


def _rewound(text: io.TextIOWrapper) -> IO[bytes]:
    """The binary file under ``text``, everything written and read from the start."""
    text.flush()
    handle = text.detach()
    handle.seek(0)
    return handle


def _write_samples(out: TextIO,
                   chunks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]]) -> int:
    """The CSV header and one row per sample (t, acc, and gyro where the first chunk has
    it), each value as ``%.6g``, chunk after chunk; how many chunks there were."""
    writer = csv.writer(out, lineterminator="\n")
    written = 0
    has_gyro = False
    for t_s, acc, gyro in chunks:
        if not written:
            has_gyro = gyro is not None
            writer.writerow(["t", "ax", "ay", "az", *(("gx", "gy", "gz") if has_gyro else ())])
        columns = [np.asarray(t_s)[:, None], acc]
        if has_gyro:
            columns.append(gyro)
        for row in np.hstack(columns):
            writer.writerow([f"{v:.6g}" for v in row])
        written += 1
    return written
