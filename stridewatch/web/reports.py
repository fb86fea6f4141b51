"""A stored session's report and downloads, through the file report's public functions
(``stridewatch.cli.report`` builds the same inputs for ``stridewatch report``)."""

from __future__ import annotations

import csv
import io
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from stridewatch.inputs import Recording
from stridewatch.store import database as store
from stridewatch.store.filing import resolve_rules
from stridewatch.web.recordings import stored_recording


def _inputs(db: store.DbLike, stored: store.StoredSession) -> tuple[dict, Any, dict, dict]:
    from stridewatch.cli.report import report_signal
    from stridewatch.report.limits import guidelines_from_rules, thresholds_from_rules
    from stridewatch.report.signal import ReportSignal

    session = store.load_session(db, stored.id)
    rules = resolve_rules(None, stored.patient_id, db)
    recording = stored_recording(stored)
    if recording is not None:
        signal = report_signal(recording, session)
    else:  # a session filed without its recording: the report has no raw excerpt samples
        signal = ReportSignal(t_s=np.zeros(0), vertical_g=np.zeros(0))
    provenance = {
        "input_file": session.get("source") or stored.source_name,
        "device": stored.device or None,
        "sample_rate_hz": session.get("sample_rate_hz"),
        "rules_version": stored.rules_version,
        "rules_file": f"patient {stored.patient_id} stored rules",
        "recording_stored": "yes" if recording is not None else "no",
    }
    return session, signal, provenance, {
        "thresholds": thresholds_from_rules(rules),
        "guidelines": guidelines_from_rules(rules)}


#: Reports drawn at once (drawing holds the interpreter; more would stall every other page).
CONCURRENT_RENDERS = 2
#: Rendered reports kept in memory (about 250 kB each), keyed by what they are drawn from.
CACHED_REPORTS = 64

_renders = threading.BoundedSemaphore(CONCURRENT_RENDERS)
_cache: OrderedDict[tuple, str] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(db: store.DbLike, stored: store.StoredSession) -> tuple:
    rules = store.get_patient_rules(db, stored.patient_id) if stored.patient_id else None
    return (store.describe(db), stored.id, stored.analyzed_at, stored.rules_version,
            stored.patient_id, rules.version if rules else None)


def session_report_html(db: store.DbLike, stored: store.StoredSession) -> str:
    """The same HTML report ``stridewatch report`` writes, for a stored session (kept until
    the session is analysed again or the patient's rules change)."""
    from stridewatch.report.render import render_report

    key = _cache_key(db, stored)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with _renders:
        session, signal, provenance, extra = _inputs(db, stored)
        page = render_report(session, signal, provenance, stored.patient_id, **extra)
    with _cache_lock:
        _cache[key] = page
        while len(_cache) > CACHED_REPORTS:
            _cache.popitem(last=False)
    return page


def session_report_pdf(db: store.DbLike, stored: store.StoredSession) -> bytes:
    from stridewatch.report.render import render_pdf

    with _renders, tempfile.TemporaryDirectory() as folder:
        session, signal, provenance, extra = _inputs(db, stored)
        path = render_pdf(session, signal, provenance, Path(folder) / "report.pdf",
                          stored.patient_id, **extra)
        return Path(path).read_bytes()


def samples_csv(recording: Recording) -> str:
    """The recording's samples in the analysis CSV layout (data/csv-format.md)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    has_gyro = recording.gyro_dps is not None
    writer.writerow(["t", "ax", "ay", "az", *(("gx", "gy", "gz") if has_gyro else ())])
    columns = [recording.t_s[:, None], recording.acc]
    if has_gyro:
        columns.append(recording.gyro_dps)
    for row in np.hstack(columns):
        writer.writerow([f"{v:.6g}" for v in row])
    return out.getvalue()
