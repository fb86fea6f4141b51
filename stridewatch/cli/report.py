"""Reports, session history and per-patient rules: the glue from a recording to HTML/PDF and
the local store, and the ``report``, ``history`` and ``patient`` commands.

``build_report`` reads a recording (``stridewatch.inputs.read_input``), analyses it
(``analysis.pipeline.analyze``) with the patient's rules, optionally saves the session in the
store, and writes the HTML report (and a PDF). ``register`` adds the commands to the CLI.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stridewatch.cli.options import add_analysis_options, parse_calibrate, store_help

# numpy, the store, the analysis and matplotlib are imported by the functions that use
# them, so that registering these commands (every CLI start) stays cheap.
if TYPE_CHECKING:
    from analysis.rules import RuleSet
    from stridewatch.inputs import Recording
    from stridewatch.report.figures import Thresholds
    from stridewatch.report.html import ReportSignal
    from stridewatch.store import database as store


@dataclass(frozen=True)
class BuiltReport:
    session: dict
    html_path: Path
    pdf_path: Path | None
    session_id: int | None  # id in the store, None when not saved


# --------------------------------------------------------------------------- rules


def thresholds_from_rules(rules: RuleSet) -> Thresholds:
    """The plotted limits of a rule set; a switched-off rule has no limit (None)."""
    from stridewatch.report.figures import Thresholds

    def param(rule_id: str, key: str) -> float | None:
        rule = rules.rules.get(rule_id)
        return None if rule is None or not rule.enabled else rule.params.get(key)

    return Thresholds(
        brisk_spm=param("slow-pace", "threshold_spm"),
        forward_lean_deg=param("forward-lean", "threshold_deg"),
        back_arch_deg=param("back-arch", "threshold_deg"),
        side_lean_deg=param("side-lean", "threshold_deg"),
        step_time_si_pct=param("uneven-steps", "threshold_pct"),
    )


def guidelines_from_rules(rules: RuleSet) -> dict[str, str]:
    """Rule id -> guideline text from the rules file(s) in use."""
    return {rule_id: rule.guideline for rule_id, rule in rules.rules.items() if rule.guideline}


# --------------------------------------------------------------------------- report


def report_signal(recording: Recording, session: dict) -> ReportSignal:
    """Vertical acceleration (g) along the body's up axis that the analysis found
    (the magnitude when it found none), on the recording's clock."""
    import numpy as np

    from analysis.units import to_g
    from stridewatch.report.html import ReportSignal

    units = session.get("acc_units_in") or recording.acc_units or "g"
    acc_g = to_g(recording.acc, units)
    up = (session.get("axes") or {}).get("up")
    if up is not None and len(up) == 3:
        vertical = acc_g @ np.asarray(up, dtype=float)
    else:
        vertical = np.linalg.norm(acc_g, axis=1)
    return ReportSignal(t_s=np.asarray(recording.t_s, dtype=float), vertical_g=vertical,
                        sample_rate_hz=session.get("sample_rate_hz"))


def _software_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("stridewatch")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


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
        "software_version": _software_version(),
        "mounting": {"auto": "detected from the walking pattern"}.get(
            str(axes.get("source")), axes.get("source")),
    }


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
) -> BuiltReport:
    """Analyse one recording and write its HTML report (and PDF when ``pdf`` is given).

    ``rules``: a rules TOML path or RuleSet; when None the patient's rules stored in ``db``
    are used, else the defaults. ``db``: the store (path or connection); when given (and
    ``save``), the session is saved there (patient, trace link, rules version).
    ``session_date``: when the
    walk was recorded; default: the recording's start time if it has one, else the file's
    modification time. Raises ``InputFileError`` naming the file for unreadable input.
    """
    from stridewatch.inputs import read_input
    from stridewatch.report.html import render_pdf, render_report
    from stridewatch.store.filing import analyze_recording, resolve_rules, save_recording_session

    path = Path(input_path)
    ruleset = resolve_rules(rules, patient_id, db)
    recording = read_input(path, units)
    result = analyze_recording(recording, rules=ruleset, calibrate_s=calibrate_s, axes=axes)
    session = result.to_dict(str(path))
    signal = report_signal(recording, session)
    provenance = provenance_for(recording, session, ruleset, calibrate_s)
    thresholds = thresholds_from_rules(ruleset)
    guidelines = guidelines_from_rules(ruleset)

    session_id = None
    if db is not None and save:
        session_id = save_recording_session(db, session, path, recording=recording,
                                            patient_id=patient_id, rules=ruleset,
                                            session_date=session_date)
    out = Path(out_html)
    out.write_text(
        render_report(session, signal, provenance, patient_id, thresholds=thresholds,
                      guidelines=guidelines),
        encoding="utf-8",
    )
    pdf_path = None
    if pdf is not None:
        pdf_path = render_pdf(session, signal, provenance, pdf, patient_id,
                              thresholds=thresholds, guidelines=guidelines)
    return BuiltReport(session, out, pdf_path, session_id)


def build_history(
    out_html: str | Path,
    patient_id: str | None = None,
    db: store.DbLike = None,
    since: date | None = None,
    until: date | None = None,
    plan: store.WalkingPlan | None = None,
) -> list[store.WeekTotal]:
    """Write the history page (weekly plan progress, per-session trends); return the weeks.

    Thresholds and the walking plan are the patient's stored rules (the shipped defaults
    without a patient or stored rules); ``plan`` overrides the plan.
    """
    from stridewatch.report.html import render_history
    from stridewatch.store import database as store
    from stridewatch.store.filing import resolve_rules

    rules = resolve_rules(None, patient_id, db)
    weeks = store.weekly_totals(db, patient_id=patient_id, since=since, until=until,
                                plan=plan or rules.plan)
    trend = store.session_trends(db, patient_id=patient_id, since=since)
    thresholds = thresholds_from_rules(rules) if patient_id is not None else None
    Path(out_html).write_text(
        render_history(weeks, trend, patient_id, thresholds=thresholds), encoding="utf-8"
    )
    return weeks


def set_rules_from_file(db: store.DbLike, patient_id: str, rules_path: str | Path) -> int:
    """Check a per-patient rules file against the rule set and store it; the new version."""
    from analysis.errors import InputError
    from stridewatch.cli.options import default_rules
    from stridewatch.inputs import InputFileError
    from stridewatch.store import database as store

    path = Path(rules_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read rules file ({exc.strerror})") from exc
    try:
        default_rules().with_overrides(text, str(path))
    except InputError as exc:
        raise InputFileError(str(exc)) from exc
    return store.set_patient_rules(db, patient_id, text)


# --------------------------------------------------------------------------- commands


def cmd_report(args: argparse.Namespace) -> int:
    from stridewatch.inputs import InputFileError
    from stridewatch.store.filing import db_path

    if args.history:
        args.output = args.output or "history.html"
        return cmd_history(args)
    if args.input is None:
        raise InputFileError("report: name a recording (or pass --history --patient ID)")
    args.output = args.output or "report.html"
    built = build_report(
        args.input, args.output, pdf=args.pdf, patient_id=args.patient, rules=args.rules,
        db=db_path(args), save=not args.no_save, calibrate_s=parse_calibrate(args.calibrate),
        axes=args.axes, units=args.units, session_date=args.date,
    )
    print(f"wrote {built.html_path}" + (f" and {built.pdf_path}" if built.pdf_path else ""))
    if built.session_id is not None:
        print(f"saved session {built.session_id} in {db_path(args)}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from stridewatch.store import database as store
    from stridewatch.store.filing import db_path

    output = args.output or "history.html"
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    sessions = store.list_sessions(db_path(args), patient_id=args.patient, since=since, until=until)
    print(f"{'date':10} {'walking':>8} {'steps':>6} {'cadence':>8} {'lean fwd':>8} "
          f"{'side':>5} {'|SI|':>5}  source")
    for s in sessions:
        print(f"{s.session_date.isoformat():10} {s.walking_min:6.1f}m {s.steps or 0:6d} "
              f"{_fmt(s.cadence_spm, 'spm'):>8} {_fmt(s.sagittal_deg_median, '°'):>8} "
              f"{_fmt(s.frontal_deg_median, '°'):>5} {_fmt(s.step_time_si_pct, '%'):>5}  "
              f"{s.source or ''}")
    print()
    weeks = build_history(output, patient_id=args.patient, db=db_path(args), since=since,
                          until=until)
    print(f"{'week':9} {'walks':>5} {'minutes':>8} {'longest':>8} {'target':>7}  status")
    for w in weeks:
        status = "met" if w.met else "not met"
        print(f"{w.label:9} {w.walks:5d} {w.minutes:8.1f} {w.longest_walk_min:8.1f} "
              f"{w.target_walk_min:6g}m  {status}")
    print(f"wrote {output}")
    return 0


def _fmt(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:.0f}{unit}"


def cmd_set_rules(args: argparse.Namespace) -> int:
    from stridewatch.store.filing import db_path

    version = set_rules_from_file(db_path(args), args.patient_id, args.rules_file)
    print(f"patient {args.patient_id}: rules version {version}")
    return 0


def cmd_show_rules(args: argparse.Namespace) -> int:
    from stridewatch.store import database as store
    from stridewatch.store.filing import db_path

    rules = store.get_patient_rules(db_path(args), args.patient_id)
    if rules is None:
        print(f"patient {args.patient_id}: no rules stored (defaults apply)", file=sys.stderr)
        return 1
    print(f"# patient {rules.patient_id}, rules version {rules.version}, "
          f"updated {rules.updated_at}")
    print(rules.toml_text, end="" if rules.toml_text.endswith("\n") else "\n")
    return 0


def register(sub: Any) -> None:
    """Add ``report``, ``history`` and ``patient`` to the CLI's subparsers."""
    db_help = store_help()

    p = sub.add_parser("report", help="analyse a recording and write its HTML (and PDF) report")
    p.add_argument("input", nargs="?", help="recording (.csv or .swtrace)")
    p.add_argument("-o", "--output",
                   help="HTML file to write (default: report.html, or history.html)")
    p.add_argument("--history", action="store_true",
                   help="write the patient's history/trend page instead (with --patient)")
    p.add_argument("--since", type=date.fromisoformat, help="with --history: first date shown")
    p.add_argument("--pdf", help="also write the report as PDF here")
    p.add_argument("--patient", help="patient id (uses and saves under the patient's rules)")
    add_analysis_options(p, rules_help="rules TOML (default: the patient's stored rules)")
    p.add_argument("--db", help=db_help)
    p.add_argument("--no-save", action="store_true", help="do not save the session")
    p.add_argument("--date", type=date.fromisoformat,
                   help="recording date YYYY-MM-DD (default: recording start / file time)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("history", help="weekly walking-plan progress and trends from the store")
    p.add_argument("-o", "--output", help="HTML trend page to write (default: history.html)")
    p.add_argument("--patient", help="patient id (default: all sessions)")
    p.add_argument("--since", type=date.fromisoformat, help="first date shown, YYYY-MM-DD")
    p.add_argument("--until", type=date.fromisoformat,
                   help="last week shown, YYYY-MM-DD (default: last session)")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("patient", help="per-patient rules in the store")
    psub = p.add_subparsers(dest="patient_command", required=True)
    q = psub.add_parser("set-rules", help="store a patient's rules TOML (checked first)")
    q.add_argument("patient_id")
    q.add_argument("rules_file")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_set_rules)
    q = psub.add_parser("show-rules", help="print a patient's stored rules")
    q.add_argument("patient_id")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_show_rules)
