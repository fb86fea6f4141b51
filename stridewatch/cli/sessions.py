"""`stridewatch sessions list|show|delete|move`: the stored sessions, one recording each.

Times are shown in this computer's local time (the store keeps UTC). ``delete`` asks before
deleting unless ``--yes``; without a terminal to ask on it deletes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stridewatch.cli.lazy import LazyModule

store = LazyModule("stridewatch.store.database")  # SQLAlchemy only when a command runs
_engine = LazyModule("stridewatch.store.engine")
_filing = LazyModule("stridewatch.store.filing")


def describe(db: object) -> str:
    return _engine.describe(db)


def db_path(args: argparse.Namespace) -> object:
    return _filing.db_path(args)


def unknown_patient_message(db: store.DbLike, patient_id: str) -> str | None:
    """None when ``patient_id`` is in the store, else the line saying it is not (with the
    known IDs that look like it)."""
    if patient_id in store.known_patients(db):
        return None
    similar = store.similar_patients(db, patient_id)
    hint = f"; did you mean {', '.join(similar)}?" if similar else ""
    return f"no patient {patient_id!r} in {describe(db)}{hint}"


def _when(s: store.StoredSession) -> str:
    return s.started_at.strftime("%Y-%m-%d %H:%M")


def session_line(s: store.StoredSession) -> str:
    """One line per session: id, local recording time, patient, walking, steps, file name."""
    return (f"{s.id:>5}  {_when(s):16}  {s.patient_id or '-':12}  {s.walking_min:6.1f} min  "
            f"{s.steps or 0:6d} steps  {s.source_name}")


def cmd_list(args: argparse.Namespace) -> int:
    db = db_path(args)
    if args.patient is not None and (problem := unknown_patient_message(db, args.patient)):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    sessions = store.list_sessions(db, patient_id=args.patient)
    print(f"{'id':>5}  {'recorded (local)':16}  {'patient':12}  {'walking':>10}  "
          f"{'steps':>12}  source")
    for s in sessions:
        print(session_line(s))
    print(f"{len(sessions)} session(s) in {describe(db)}")
    return 0


def _details(s: store.StoredSession) -> dict[str, Any]:
    return {
        "id": s.id, "patient": s.patient_id, "recorded_local": s.started_at.isoformat(),
        "recorded_utc": s.recorded_at_utc.isoformat() if s.recorded_at_utc else None,
        "clock": s.clock, "source": s.source, "trace_path": s.trace_path, "device": s.device,
        "content_sha256": s.content_sha256, "analyzed_at": s.analyzed_at.isoformat(),
        "rules_version": s.rules_version, "duration_s": s.duration_s,
        "walking_s": s.walking_s, "steps": s.steps, "cadence_spm": s.cadence_spm,
        "sagittal_deg_median": s.sagittal_deg_median,
        "frontal_deg_median": s.frontal_deg_median, "step_time_si_pct": s.step_time_si_pct,
    }


def cmd_show(args: argparse.Namespace) -> int:
    db = db_path(args)
    s = store.get_session(db, args.session_id)
    if s is None:
        print(f"error: no session {args.session_id} in {describe(db)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**_details(s), "session": store.load_session(db, s.id)},
                         separators=(",", ":")))
        return 0
    for key, value in _details(s).items():
        print(f"{key:20} {'' if value is None else value}")
    flags = store.load_session(db, s.id).get("flags") or []
    print(f"{'flags':20} {', '.join(str(f.get('rule')) for f in flags) or 'none'}")
    return 0


def _found(db: store.DbLike, ids: list[int]) -> tuple[list[store.StoredSession], list[int]]:
    found = [s for s in (store.get_session(db, i) for i in ids) if s is not None]
    missing = [i for i in ids if i not in {s.id for s in found}]
    return found, missing


def cmd_delete(args: argparse.Namespace) -> int:
    db = db_path(args)
    found, missing = _found(db, args.session_ids)
    for i in missing:
        print(f"error: no session {i} in {describe(db)}", file=sys.stderr)
    if missing:
        return 1
    for s in found:
        print(session_line(s))
    if not args.yes:
        try:
            answer = input(f"delete {len(found)} session(s) from {describe(db)}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=sys.stderr)
            return 1
    deleted = store.delete_session(db, [s.id for s in found])
    print(f"deleted {deleted} session(s)")
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    db = db_path(args)
    found, missing = _found(db, args.session_ids)
    for i in missing:
        print(f"error: no session {i} in {describe(db)}", file=sys.stderr)
    if missing:
        return 1
    moved = store.move_session(db, [s.id for s in found], args.patient)
    print(f"moved {moved} session(s) to patient {args.patient}")
    return 0


def register(sub: Any) -> None:
    """Add ``sessions`` to the CLI's subparsers."""
    from stridewatch.cli.options import store_help

    db_help = store_help()
    p = sub.add_parser("sessions", help="list, show, delete or re-file stored sessions")
    psub = p.add_subparsers(dest="sessions_command", required=True)

    q = psub.add_parser("list", help="one line per stored session")
    q.add_argument("--patient", help="only this patient's sessions")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_list)

    q = psub.add_parser("show", help="everything stored about one session")
    q.add_argument("session_id", type=int)
    q.add_argument("--json", action="store_true", help="as one JSON object, with the session")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_show)

    q = psub.add_parser("delete", help="delete sessions (asks first)")
    q.add_argument("session_ids", type=int, nargs="+", metavar="ID")
    q.add_argument("--yes", action="store_true", help="do not ask")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_delete)

    q = psub.add_parser("move", help="file sessions under another patient")
    q.add_argument("session_ids", type=int, nargs="+", metavar="ID")
    q.add_argument("--patient", required=True, help="the patient to file them under")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_move)
