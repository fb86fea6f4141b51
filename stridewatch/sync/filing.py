"""A verified download trace filed as a session (shared by every sensor's sync)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from analysis.rules import RuleSet
from stridewatch.inputs import InputFileError


def file_trace_as_session(
    path: Path, db: Path, rules: RuleSet, patient_id: str | None, out: TextIO
) -> int | None:
    """Analyse the trace and store it as a session; None (with a warning) if it cannot be
    analysed (e.g. too short) — the trace itself is kept either way."""
    from stridewatch.store.filing import analyze_file, save_recording_session

    try:
        # the upright reference of `sync --start` (or `calibrate`) for this patient and
        # sensor is used when the walk has no standing of its own; a long download is
        # analysed as a stream (memory independent of its length)
        result, recording, _ = analyze_file(path, rules=rules, db=db, patient_id=patient_id)
        session = result.to_dict(str(path))
        return save_recording_session(db, session, path, recording=recording,
                                      patient_id=patient_id, rules=rules).id
    except InputFileError as error:
        out.write(f"  warning: kept as {path.name} but not filed as a session: {error}\n")
        return None
