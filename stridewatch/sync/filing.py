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
    from stridewatch.inputs.swtrace import read_trace_recording
    from stridewatch.store.filing import (
        analyze_recording,
        analyze_streamed_trace,
        save_recording_session,
        stored_lean_reference,
    )

    try:
        # the upright reference of `sync --start` (or `calibrate`) for this patient and
        # sensor is used when the walk has no standing of its own; a long download is
        # analysed as a stream (memory independent of its length) where that gives the
        # whole trace's result (else None: read whole)
        streamed = analyze_streamed_trace(path, rules=rules, db=db, patient_id=patient_id)
        if streamed is not None:
            result, recording = streamed
        else:
            recording = read_trace_recording(path)
            result = analyze_recording(
                recording, rules=rules,
                stored_reference=stored_lean_reference(db, patient_id, recording))
        session = result.to_dict(str(path))
        return save_recording_session(db, session, path, recording=recording,
                                      patient_id=patient_id, rules=rules).id
    except InputFileError as error:
        out.write(f"  warning: kept as {path.name} but not filed as a session: {error}\n")
        return None
