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
    return (datetime.fromtimestamp(Path(source).stat().st_mtime).astimezone(),
            "file modified")


def lean_reference_text(lean: dict[str, Any] | None) -> str | None:
    """The lean reference named for a person, from the session's ``lean`` object.

    ``lean.reference`` is a name ("calibrated", "auto", ...) or an object with ``source``
    (and optionally ``segment_s``) once the lean work stores it that way; None when absent.
    """
    ref = (lean or {}).get("reference")
    if ref is None:
        return None
    if isinstance(ref, dict):
        source = ref.get("source") or ref.get("kind")
        segment = ref.get("segment_s")
        text = _REFERENCE_NAMES.get(str(source), str(source) if source else "given")
        if isinstance(segment, list | tuple) and len(segment) == 2:
            try:
                text += f" ({float(segment[0]):g}–{float(segment[1]):g} s)"
            except (TypeError, ValueError):
                pass
        return text
    return _REFERENCE_NAMES.get(str(ref), str(ref))


_REFERENCE_NAMES = {
    "calibrated": "standing calibration",
    "standing": "standing detected in the recording",
    "stored": "the patient's stored calibration",
    "relative": "relative to this walk's own upright",
    "auto": "estimated from walking",
}


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
