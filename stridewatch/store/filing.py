"""A read recording turned into a session result, and that session kept in the store."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.errors import InputError
from analysis.rules import RuleSet
from stridewatch.cli.options import default_rules, load_rules
from stridewatch.inputs import TRACE_SUFFIX, InputFileError, Recording, located, read_input
from stridewatch.inputs.wear_prior import recording_wear_prior
from stridewatch.store import database as store

if TYPE_CHECKING:  # the analysis is imported only when a recording is analysed
    from analysis.lean import LeanReference
    from analysis.pipeline import SessionResult


def analyze_recording(
    recording: Recording,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    stored_reference: LeanReference | None = None,
) -> SessionResult:
    """Run the analysis on a read recording; InputError becomes a located InputFileError."""
    from analysis.pipeline import analyze

    try:
        return analyze(
            recording.t_s,
            recording.acc,
            recording.gyro_dps,
            acc_units=recording.acc_units,
            rules=rules,
            calibrate_s=calibrate_s,
            axes=axes,
            fs_hz=recording.nominal_rate_hz,
            stored_reference=stored_reference,
            wear_prior=recording_wear_prior(recording.meta),
        )
    except InputError as exc:
        raise located(exc, recording) from exc


def analyze_file(
    path: Path,
    units: str | None = None,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    db: store.DbLike = None,
    patient_id: str | None = None,
) -> tuple[SessionResult, Recording | None]:
    """Analyse a recording file: a CSV as a stream of chunks (memory independent of its
    length, no samples kept), anything else read whole. The patient's stored lean
    reference (``db``, ``patient_id``) applies as in ``analyze_recording``. Returns the
    result and the recording when one was read (None for a streamed CSV)."""
    if path.suffix == TRACE_SUFFIX:
        recording = read_input(path, units)
        return analyze_recording(
            recording, rules=rules, calibrate_s=calibrate_s, axes=axes,
            stored_reference=stored_lean_reference(db, patient_id, recording),
        ), recording
    from analysis.streaming import analyze_stream
    from stridewatch.inputs.chunks import csv_chunks

    try:
        result = analyze_stream(
            csv_chunks(path), acc_units=units, rules=rules, calibrate_s=calibrate_s, axes=axes,
            stored_reference=stored_lean_reference(db, patient_id, None),
            wear_prior=recording_wear_prior(None),
        )
    except InputError as exc:
        raise InputFileError(exc.located(str(path))) from exc
    return result, None


def stored_lean_reference(
    db: store.DbLike, patient_id: str | None, recording: Recording | None
) -> LeanReference | None:
    """The patient's stored lean reference for the recording's sensor, if any."""
    if db is None or patient_id is None:
        return None
    from stridewatch.store.lean_references import device_key, get_lean_reference

    meta = recording.meta if recording is not None else None
    stored = get_lean_reference(db, patient_id, device_key(meta))
    return None if stored is None else stored.as_reference()


def recorded_at(recording: Recording | None, path: Path) -> datetime:
    """When the walk was recorded: the trace's start time, else the file's modification time."""
    start = (recording.meta or {}).get("start_unix_s") if recording is not None else None
    if isinstance(start, int | float):
        return datetime.fromtimestamp(start)
    return datetime.fromtimestamp(path.stat().st_mtime)


def save_recording_session(
    db: store.DbLike,
    session: dict,
    path: Path,
    *,
    recording: Recording | None = None,
    patient_id: str | None = None,
    rules: RuleSet | None = None,
    session_date: date | datetime | None = None,
) -> int:
    """Store an analysed session with its patient, rules version and a link to its trace.

    ``session_date`` defaults to when ``recording`` was made (see ``recorded_at``).
    """
    if session_date is None:
        if recording is None:
            raise ValueError("give the recording or the session date")
        session_date = recorded_at(recording, path)
    trace = path.resolve() if path.suffix == TRACE_SUFFIX else None
    return store.save_session(
        db, session, patient_id=patient_id, trace_path=trace,
        session_date=session_date,
        rules_version=None if rules is None else rules.version,
    )


def resolve_rules(
    rules: str | Path | RuleSet | None,
    patient_id: str | None = None,
    db: store.DbLike = None,
) -> RuleSet:
    """The rules for an analysis: a RuleSet as given; a TOML file applied over the defaults;
    else the patient's rules stored in ``db``; else the shipped defaults."""
    if isinstance(rules, RuleSet):
        return rules
    if rules is not None:
        return load_rules(rules)
    base = default_rules()
    try:
        if patient_id is not None and db is not None:
            stored = store.get_patient_rules(db, patient_id)
            if stored is not None:
                return base.with_overrides(
                    stored.toml_text, f"patient {patient_id} rules v{stored.version}"
                )
    except InputError as exc:
        raise InputFileError(str(exc)) from exc
    return base


def db_path(args: argparse.Namespace) -> Path:
    """The session store named by ``--db``, else the default in the user's data folder."""
    return Path(args.db) if getattr(args, "db", None) else store.default_db_path()
