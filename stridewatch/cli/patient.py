"""``stridewatch patient``: per-patient rules kept in the session store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analysis.errors import InputError
from stridewatch.cli.lazy import LazyModule
from stridewatch.cli.options import default_rules, read_rules_file
from stridewatch.inputs import InputFileError
from stridewatch.terminal import terminal_text

store = LazyModule("stridewatch.store.database")  # SQLAlchemy only when a command runs
_filing = LazyModule("stridewatch.store.filing")


def db_path(args: argparse.Namespace) -> object:
    return _filing.db_path(args)


def set_rules_from_file(db: store.DbLike, patient_id: str, rules_path: str | Path) -> int:
    """Check a per-patient rules file against the rule set and store it; the new version."""
    path = Path(rules_path)
    text = read_rules_file(path)
    try:
        default_rules().with_overrides(text, str(path))
    except InputError as exc:
        raise InputFileError(str(exc)) from exc
    return store.set_patient_rules(db, patient_id, text)


def cmd_set_rules(args: argparse.Namespace) -> int:
    version = set_rules_from_file(db_path(args), args.patient_id, args.rules_file)
    print(f"patient {terminal_text(args.patient_id)}: rules version {version}")
    return 0


def cmd_show_rules(args: argparse.Namespace) -> int:
    rules = store.get_patient_rules(db_path(args), args.patient_id)
    if rules is None:
        print(f"patient {terminal_text(args.patient_id)}: no rules stored (defaults apply)",
              file=sys.stderr)
        return 1
    print(f"# patient {terminal_text(rules.patient_id)}, rules version {rules.version}, "
          f"updated {rules.updated_at}")
    print(rules.toml_text, end="" if rules.toml_text.endswith("\n") else "\n")
    return 0


def register(sub: Any) -> None:
    """Add ``patient set-rules`` and ``patient show-rules`` to the CLI's subparsers."""
    from stridewatch.cli.options import store_help

    db_help = store_help()
    p = sub.add_parser("patient", help="per-patient rules in the store")
    psub = p.add_subparsers(dest="patient_command", required=True, metavar="ACTION")
    q = psub.add_parser("set-rules", help="store a patient's rules TOML (checked first)")
    q.add_argument("patient_id")
    q.add_argument("rules_file")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_set_rules)
    q = psub.add_parser("show-rules", help="print a patient's stored rules")
    q.add_argument("patient_id")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_show_rules)
