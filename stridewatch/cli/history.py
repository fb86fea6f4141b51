"""``stridewatch history``: weekly walking-plan progress and per-session trends from the store."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from stridewatch.cli.lazy import LazyModule
from stridewatch.cli.options import iso_date, store_help
from stridewatch.cli.outputs import check_output, replacing
from stridewatch.terminal import terminal_text

store = LazyModule("stridewatch.store.database")  # SQLAlchemy only when a command runs
_filing = LazyModule("stridewatch.store.filing")
_limits = LazyModule("stridewatch.report.limits")  # numpy (the rules)


def db_path(args: argparse.Namespace) -> object:
    return _filing.db_path(args)


def build_history(
    out_html: str | Path,
    patient_id: str | None = None,
    db: store.DbLike = None,
    since: date | None = None,
    until: date | None = None,
    plan: store.WalkingPlan | None = None,
    *,
    index_link: str | None = None,
) -> list[store.WeekTotal]:
    """Write one patient's history page (weekly plan progress, a row per session with its
    steps, walking time, flags and report link, trends); return the weeks.

    Thresholds and the walking plan are the patient's stored rules (the shipped defaults
    without a patient or stored rules); ``plan`` overrides the plan.
    """
    from stridewatch.report.history import history_sessions
    from stridewatch.report.render import render_history

    out = check_output(out_html)
    rules = _filing.resolve_rules(None, patient_id, db)
    weeks = store.weekly_totals(db, patient_id=patient_id, since=since, until=until,
                                plan=plan or rules.plan)
    trend = store.session_trends(db, patient_id=patient_id, since=since)
    stored = store.list_sessions(db, patient_id=patient_id, since=since, until=until)
    page = render_history(weeks, trend, patient_id, thresholds=_limits.thresholds_from_rules(rules),
                          sessions=history_sessions(stored, db, out), index_link=index_link)
    with replacing(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return weeks


def build_history_index(out_html: str | Path, db: store.DbLike = None,
                        since: date | None = None, until: date | None = None) -> list[Path]:
    """Without a patient: an index page of every patient at ``out_html`` and one history page
    per patient beside it (never one page mixing patients); the pages written."""
    from stridewatch.report.history import patient_entries, patient_page_name
    from stridewatch.report.render import render_history_index

    out = check_output(out_html)
    stored = store.list_sessions(db, since=since, until=until)
    entries = patient_entries(stored, out)
    written = []
    for patient_id in sorted({s.patient_id for s in stored if s.patient_id is not None}):
        page = out.parent / patient_page_name(out, patient_id)
        build_history(page, patient_id, db, since, until, index_link=out.name)
        written.append(page)
    if any(s.patient_id is None for s in stored):
        page = out.parent / patient_page_name(out, None)
        build_history(page, None, db, since, until, index_link=out.name)
        written.append(page)
    with replacing(out) as tmp:
        tmp.write_text(render_history_index(entries), encoding="utf-8")
    return [out, *written]


def cmd_history(args: argparse.Namespace) -> int:
    from stridewatch.cli.sessions import unknown_patient_message

    output = check_output(args.output or "history.html")
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    if args.patient is not None and (problem := unknown_patient_message(db_path(args),
                                                                         args.patient)):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    sessions = store.list_sessions(db_path(args), patient_id=args.patient, since=since, until=until)
    if until is None:  # the weeks run from the first session to now
        until = max([date.today(), *(s.session_date for s in sessions)])
    print(f"{'date':10} {'walking':>8} {'steps':>6} {'cadence':>8} {'lean fwd':>8} "
          f"{'side':>5} {'|SI|':>5}  source")
    for s in sessions:
        print(f"{s.session_date.isoformat():10} {s.walking_min:6.1f}m {s.steps or 0:6d} "
              f"{_fmt(s.cadence_spm, 'spm'):>8} {_fmt(s.sagittal_deg_median, '°'):>8} "
              f"{_fmt(s.frontal_deg_median, '°'):>5} {_fmt(s.step_time_si_pct, '%'):>5}  "
              f"{terminal_text(s.source or '')}")
    print()
    if args.patient is None:
        pages = build_history_index(output, db=db_path(args), since=since, until=until)
        print(f"wrote {output} (an index of patients) and {len(pages) - 1} patient page(s) "
              "beside it")
        return 0
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


def register(sub: Any) -> None:
    """Add ``history`` to the CLI's subparsers."""
    p = sub.add_parser("history", help="weekly walking-plan progress and trends from the store")
    p.add_argument("-o", "--output", help="HTML trend page to write (default: history.html)")
    p.add_argument("--patient", help="patient id (default: an index of patients)")
    p.add_argument("--since", type=iso_date, help="first date shown, YYYY-MM-DD")
    p.add_argument("--until", type=iso_date,
                   help="last week shown, YYYY-MM-DD (default: today)")
    p.add_argument("--db", help=store_help())
    p.set_defaults(func=cmd_history)
