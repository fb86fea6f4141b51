"""The ``stridewatch`` command line."""

from __future__ import annotations

import argparse
import json
import sys

from stridewatch.cli.options import (
    add_analysis_options,
    add_store_options,
    parse_calibrate,
    shipped_file,
)

# Each command imports what it uses when it runs (numpy, pandas, scipy, the store), so
# `--help` and the store-only commands start fast: keep heavy imports out of module level.


def cmd_analyze(args: argparse.Namespace) -> int:
    from stridewatch.inputs import InputFileError, expand_inputs
    from stridewatch.report.summary import wearer_summary
    from stridewatch.store.filing import (
        analyze_file,
        db_path,
        recorded_at,
        resolve_rules,
        save_recording_session,
    )

    db = db_path(args) if (args.save or args.patient) else None
    rules = resolve_rules(args.rules, args.patient, db)
    calibrate = parse_calibrate(args.calibrate)
    status = 0
    for path in expand_inputs(args.inputs):
        try:
            result, recording = analyze_file(path, args.units, rules=rules,
                                             calibrate_s=calibrate, axes=args.axes,
                                             db=db, patient_id=args.patient)
        except InputFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 2
            continue
        session = result.to_dict(str(path))
        if args.save:
            saved = save_recording_session(db, session, path, patient_id=args.patient,
                                           rules=rules,
                                           session_date=recorded_at(recording, path))
            print(f"saved session {saved} in {db}", file=sys.stderr)
        if args.json:
            print(json.dumps(session, separators=(",", ":")), flush=True)
        else:
            print(wearer_summary(session, rules), flush=True)
            print()
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        sample = shipped_file("sample-walk.csv")
    except FileNotFoundError as exc:
        print(f"error: bundled sample missing: {exc}", file=sys.stderr)
        return 2
    print(f"stridewatch demo: analysing the bundled synthetic sample {sample.name}\n")
    ns = argparse.Namespace(inputs=[str(sample)], json=False, rules=None, calibrate="2:12",
                            axes=None, units=None, save=False, patient=None, db=None)
    return cmd_analyze(ns)


def cmd_simulate(args: argparse.Namespace) -> int:
    from stridewatch.cli.simulate import run_simulate

    return run_simulate(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stridewatch",
        description="Step-and-posture checks for walking with low back pain, from a trunk "
        "accelerometer.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse CSV recordings or .swtrace traces")
    p.add_argument("inputs", nargs="+", help="files or directories (.csv, .swtrace)")
    p.add_argument("--json", action="store_true", help="one JSON object per input (JSON Lines)")
    add_analysis_options(p)
    add_store_options(p, save_by_default=False)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("demo", help="analyse the bundled synthetic sample (no sensor needed)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("simulate", help="write a synthetic walk CSV and its truth JSON")
    from stridewatch.cli.simulate import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_simulate)

    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands() -> list:
    """Commands that live in their own modules (BLE, reports, history)."""
    registers = []
    for module_name in (
        "stridewatch.cli.record",
        "stridewatch.cli.replay",
        "stridewatch.cli.report",
        "stridewatch.cli.calibrate",
    ):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        registers.append(module.register)
    return registers


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from stridewatch.inputs import InputFileError

    try:
        return int(args.func(args) or 0)
    except InputFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
