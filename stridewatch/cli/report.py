"""``stridewatch report``: a recording analysed and written as a clinician report (HTML, PDF).

``build_report`` reads a recording (as a stream where ``analyze`` streams it, else whole
with ``stridewatch.inputs.read_input``), analyses it with the patient's rules, writes the
HTML report (and a PDF), and only then files the session in the store, so a failed write
leaves neither a half-written file nor a stored row.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stridewatch import software_version
from stridewatch.cli.options import add_analysis_options, iso_date, parse_calibrate, store_help
from stridewatch.cli.outputs import check_output, replacing
from stridewatch.inputs import InputFileError, Recording
from stridewatch.terminal import terminal_text

# numpy, the store, the analysis and matplotlib are imported by the functions that use
# them, so that registering these commands (every CLI start) stays cheap.
if TYPE_CHECKING:
    from collections.abc import Iterator

    from analysis.rules import RuleSet
    from analysis.streaming import SampleChunk
    from stridewatch.report.signal import KeptSamples, ReportSignal
    from stridewatch.store import database as store


@dataclass(frozen=True)
class BuiltReport:
    session: dict
    html_path: Path
    pdf_path: Path | None
    session_id: int | None  # id in the store, None when not saved
    session_created: bool = False  # a new session (False: the recording's session updated)


def report_signal(recording: Recording, session: dict, kept: KeptSamples | None = None,
                  path: Path | None = None) -> ReportSignal:
    """Vertical acceleration (g) along the body's up axis that the analysis found
    (the magnitude when it found none), on the recording's clock; ``kept``: the samples a
    recording analysed as a stream left (it holds none itself). A long recording's viewer
    samples are chosen as it streams by (``stridewatch.report.long_viewer``): from its
    samples when read whole, else from ``path`` read again, as is a recording whose kept
    samples ran past what the report keeps."""
    import numpy as np

    from analysis.units import to_g
    from stridewatch.report.long_viewer import blocks, is_long, long_signal
    from stridewatch.report.signal import ReportSignal, vertical_g

    units = _signal_units(session, recording.acc_units)
    up = (session.get("axes") or {}).get("up")
    rate = session.get("sample_rate_hz")
    if kept is None and is_long(session):
        return long_signal(blocks(recording.t_s, recording.acc), lambda acc: to_g(acc, units),
                           up, session)
    if kept is None:
        return ReportSignal(t_s=np.asarray(recording.t_s, dtype=float),
                            vertical_g=vertical_g(to_g(recording.acc, units), up),
                            sample_rate_hz=rate)
    if not kept.gave_up and not is_long(session):
        return kept.signal(lambda acc: to_g(acc, units), up, rate)
    again = None if path is None else stored_signal(path, session)
    if again is None:
        raise InputFileError(f"{path}: could not be read again for the report's signal")
    return again


def _signal_units(session: dict, read_units: str | None) -> str:
    """The units of the acceleration as read: what the analysis found, else the reader's."""
    return session.get("acc_units_in") or read_units or "g"


def stored_signal(path: Path, session: dict) -> ReportSignal | None:
    """The signal of a stored session from its recording file (None when it cannot be
    read), read as a stream where ``analyze`` streams it (only the times and vertical
    acceleration held; for a long recording only the viewer's samples), else whole."""
    from analysis.units import to_g
    from stridewatch.inputs import read_input
    from stridewatch.inputs.swtrace import TraceReadError
    from stridewatch.report.long_viewer import is_long, long_signal
    from stridewatch.report.signal import chunks_signal
    from stridewatch.store.filing import read_as_stream

    def signal(chunks: Iterator[SampleChunk], acc_units: str | None) -> ReportSignal:
        units = _signal_units(session, acc_units)
        pairs = ((c.t_s, c.acc) for c in chunks)
        up = (session.get("axes") or {}).get("up")
        if is_long(session):
            return long_signal(pairs, lambda acc: to_g(acc, units), up, session)
        return chunks_signal(pairs, lambda acc: to_g(acc, units), up,
                             session.get("sample_rate_hz"))

    try:
        streamed = read_as_stream(path, signal)
        return streamed if streamed is not None else report_signal(read_input(path), session)
    except (InputFileError, TraceReadError, OSError, ValueError):
        return None


def provenance_for(
    recording: Recording,
    session: dict,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None,
) -> dict[str, Any]:
    """What the report names as its inputs: file, device, rate, calibration, rules."""
    meta = recording.meta or {}
    if calibrate_s is not None:
        calibration = f"standing segment {calibrate_s[0]:g}–{calibrate_s[1]:g} s"
    else:
        calibration = "automatic (upright estimated from walking)"
    axes = session.get("axes") or {}
    return {
        "input_file": recording.source,
        "device": meta.get("device") or meta.get("device_name"),
        "profile": meta.get("profile"),
        "sample_rate_hz": session.get("sample_rate_hz"),
        "calibration": calibration,
        "rules_file": ", ".join(rules.sources) or "built-in defaults",
        "rules_version": rules.version,
        "software_version": software_version(),
        "mounting": {"auto": "detected from the walking pattern"}.get(
            str(axes.get("source")), axes.get("source")),
    }


def recording_file(path: str | Path) -> Path:
    """A recording to report on: an existing file (a folder or a missing name is an error)."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; `report` takes one recording "
                             "(.csv or .swtrace); `analyze` takes folders")
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    return path


def build_report(
    input_path: str | Path,
    out_html: str | Path,
    pdf: str | Path | None = None,
    patient_id: str | None = None,
    rules: str | Path | RuleSet | None = None,
    db: store.DbLike = None,
    *,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    units: str | None = None,
    session_date: date | datetime | None = None,
    save: bool = True,
    time_unit: str | None = None,
) -> BuiltReport:
    """Analyse one recording and write its HTML report (and PDF when ``pdf`` is given).

    ``rules``: a rules TOML path or RuleSet; when None the patient's rules stored in ``db``
    are used, else the defaults. The patient's stored lean reference for the sensor (from
    ``calibrate``) is used as ``analyze --patient`` uses it. ``db``: the store (path or
    connection); when given (and ``save``), the session is saved there (patient, trace
    link, rules version) once every output is written. ``session_date``: when the walk
    was recorded; default: the recording's start time if it has one, else the file's
    modification time. Raises ``InputFileError`` naming the file for unreadable input or
    an unwritable output.
    """
    from stridewatch.report.header import recording_header
    from stridewatch.report.limits import guidelines_from_rules, thresholds_from_rules
    from stridewatch.report.long_viewer import FULL_DETAIL_S
    from stridewatch.report.render import render_pdf, render_report
    from stridewatch.report.signal import KeptSamples
    from stridewatch.store.filing import analyze_file, resolve_rules, save_recording_session

    path = recording_file(input_path)
    out = check_output(out_html)
    pdf_out = check_output(pdf) if pdf is not None else None
    ruleset = resolve_rules(rules, patient_id, db)
    # analysed as a stream where `analyze` streams it (memory independent of the
    # recording's length: only the times and acceleration the signal needs are kept, up
    # to FULL_DETAIL_S; a longer recording is read again for its viewer), else read whole
    kept = KeptSamples(up_to_s=FULL_DETAIL_S)
    result, recording, streamed = analyze_file(
        path, units, time_unit, rules=ruleset, calibrate_s=calibrate_s, axes=axes,
        db=db, patient_id=patient_id, digest=db is not None and save, tap=kept.tap)
    session = result.to_dict(str(path))
    session["recording"] = recording_header(recording, session, patient_id=patient_id,
                                            started_at=session_date)
    signal = report_signal(recording, session, kept if streamed else None, path)
    provenance = provenance_for(recording, session, ruleset, calibrate_s)
    thresholds = thresholds_from_rules(ruleset)
    guidelines = guidelines_from_rules(ruleset)

    with replacing(out) as tmp:
        tmp.write_text(
            render_report(session, signal, provenance, patient_id, thresholds=thresholds,
                          guidelines=guidelines),
            encoding="utf-8",
        )
    if pdf_out is not None:
        with replacing(pdf_out) as tmp:
            render_pdf(session, signal, provenance, tmp, patient_id, thresholds=thresholds,
                       guidelines=guidelines)
    session["report"] = {"html": str(out.resolve()),
                         "pdf": None if pdf_out is None else str(pdf_out.resolve())}
    session_id, session_created = None, False
    if db is not None and save:
        saved = save_recording_session(db, session, path, recording=recording,
                                       patient_id=patient_id, rules=ruleset,
                                       session_date=session_date)
        session_id, session_created = saved.id, saved.created
    return BuiltReport(session, out, pdf_out, session_id, session_created)


# --------------------------------------------------------------------------- commands


def cmd_report(args: argparse.Namespace) -> int:
    from stridewatch.store.engine import describe
    from stridewatch.store.filing import db_path

    if args.history:
        from stridewatch.cli.history import cmd_history

        args.output = args.output or "history.html"
        args.until = None
        return cmd_history(args)
    if args.input is None:
        raise InputFileError("report: name a recording (or pass --history --patient ID)")
    args.output = args.output or "report.html"
    built = build_report(
        args.input, args.output, pdf=args.pdf, patient_id=args.patient, rules=args.rules,
        db=db_path(args), save=not args.no_save, calibrate_s=parse_calibrate(args.calibrate),
        axes=args.axes, units=args.units, session_date=args.date,
        time_unit=getattr(args, "time_unit", None),
    )
    print(terminal_text(f"wrote {built.html_path}"
                        + (f" and {built.pdf_path}" if built.pdf_path else "")))
    if built.session_id is not None:
        verb = "saved" if built.session_created else "updated"
        print(f"{verb} session {built.session_id} in {describe(db_path(args))}")
    return 0


def register(sub: Any) -> None:
    """Add ``report`` to the CLI's subparsers."""
    db_help = store_help()

    p = sub.add_parser("report", help="analyse a recording and write its HTML (and PDF) report")
    p.add_argument("input", nargs="?", help="recording (.csv or .swtrace)")
    p.add_argument("-o", "--output",
                   help="HTML file to write (default: report.html, or history.html)")
    p.add_argument("--history", action="store_true",
                   help="write the patient's history/trend page instead (with --patient)")
    p.add_argument("--since", type=iso_date, help="with --history: first date shown")
    p.add_argument("--pdf", help="also write the report as PDF here")
    p.add_argument("--patient", help="patient id (uses and saves under the patient's rules)")
    add_analysis_options(p, rules_help="rules TOML (default: the patient's stored rules)")
    p.add_argument("--db", help=db_help)
    p.add_argument("--no-save", action="store_true", help="do not save the session")
    p.add_argument("--date", type=iso_date,
                   help="recording date YYYY-MM-DD (default: recording start / file time)")
    p.set_defaults(func=cmd_report)

