"""What a report (and ``analyze --json``) says about the recording itself: who, when, what.

``recording_header`` gives the ``recording`` object of a session: patient, when the walk
started (local time with its UTC offset and zone name), duration, device, profile, and the
lean reference the analysis used. Fields that are not known are None, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from stridewatch.inputs import Recording


def _local(moment: datetime) -> datetime:
    """``moment`` in the machine's local time zone (naive times are taken as local)."""
    return moment.astimezone()


def _started_at(source: str, meta: Mapping[str, Any],
                given: date | datetime | None) -> tuple[datetime, str]:
    """(start time, where it comes from: given, trace, file modified)."""
    if isinstance(given, datetime):
        return _local(given), "given"
    if isinstance(given, date):
        return _local(datetime.combine(given, time(0, 0))), "given (date only)"
    start = meta.get("start_unix_s")
    if isinstance(start, int | float) and not isinstance(start, bool):
        return datetime.fromtimestamp(start).astimezone(), "trace"
    # a recording inside a file (``data.mat#TimeMeasure1/Test5/Trial1``) dates from the file
    path = Path(source)
    if not path.exists() and "#" in source:
        path = Path(source.split("#", 1)[0])
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).astimezone(), "file modified"
    except OSError:  # the file is gone (or never was one): when it was analysed is known
        return datetime.now().astimezone(), "analysis"


def lean_reference_text(lean: Mapping[str, Any] | None) -> str | None:
    """The lean reference used, as a short label ("standing (0–12 s)"), from the session's
    ``lean`` object (wording in ``stridewatch.report.lean_reference``); None when absent."""
    from stridewatch.report.lean_reference import reference_label

    lean = lean or {}
    if lean.get("reference") is None:
        return None
    if lean.get("reference") == "auto":  # sessions stored before the reference chain
        return "estimated from walking"
    return reference_label(lean)


def recording_header(
    recording: Recording | None,
    session: Mapping[str, Any],
    *,
    patient_id: str | None = None,
    started_at: date | datetime | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The session's ``recording`` object (all JSON types), from a read ``recording`` or,
    for a replayed trace, from its header's ``meta`` (profile, device_name, start_unix_s)."""
    meta = dict(meta or {}) if recording is None else (recording.meta or {})
    source = str(session.get("source")) if recording is None else recording.source
    start, start_source = _started_at(source, meta, started_at)
    return {
        "patient_id": patient_id,
        "started_at": start.isoformat(timespec="seconds"),
        "time_zone": start.tzname(),
        "started_at_source": start_source,
        "duration_s": session.get("duration_s"),
        "device": meta.get("device") or meta.get("device_name"),
        "device_address": meta.get("device_address"),
        "profile": meta.get("profile"),
        "lean_reference": lean_reference_text(session.get("lean")),
    }
