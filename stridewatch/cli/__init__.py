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
from stridewatch.inputs import InputFileError, expand_inputs, read_recordings
from stridewatch.report.summary import wearer_summary
from stridewatch.store.filing import (
    analyze_recording,
    db_path,
    resolve_rules,
    save_recording_session,
    stored_lean_reference,
)

ERROR_SCHEMA = "stridewatch.error/1"


def cmd_analyze(args: argparse.Namespace) -> int:
    """One answer per recording, in input order: a session, or an error naming the input.

    Exit status 0 when all were analysed; 2 when the only input failed (bad
    input); 1 when some of several failed.
    """
    db = db_path(args) if (args.save or args.patient) else None
    rules = resolve_rules(args.rules, args.patient, db)
    calibrate = parse_calibrate(args.calibrate)
    answers = failed = 0
    for ref in expand_inputs(args.inputs):
        try:
            if ref.error is not None:
                raise InputFileError(ref.error)
            recordings = read_recordings(ref.path, args.units, getattr(args, "time_unit", None))
        except InputFileError as exc:
            answers, failed = answers + 1, failed + 1
            _print_error(args, ref.name, exc)
            continue
        for recording in recordings:
            answers += 1
            try:
                result = analyze_recording(recording, rules=rules, calibrate_s=calibrate,
                                           axes=args.axes,
                                           stored_reference=stored_lean_reference(
                                               db, args.patient, recording))
            except InputFileError as exc:
                failed += 1
                _print_error(args, recording.source, exc)
                continue
            session = result.to_dict(recording.source)
            session["warnings"][:0] = recording.warnings
            session["input"] = recording.describe()
            if args.save:
                saved = save_recording_session(db, session, ref.path, recording=recording,
                                               patient_id=args.patient, rules=rules)
                print(f"saved session {saved} in {db}", file=sys.stderr)
            if args.json:
                print(json.dumps(session, separators=(",", ":")), flush=True)
            else:
                print(wearer_summary(session, rules), flush=True)
                print()
    if not failed:
        return 0
    return 2 if answers == 1 else 1


def _print_error(args: argparse.Namespace, source: str, exc: InputFileError) -> None:
    """The error line on stderr; with --json also the error object in the output's order."""
    if args.json:
        print(json.dumps({"schema": ERROR_SCHEMA, "source": source, "error": str(exc)},
                         separators=(",", ":")), flush=True)
    sys.stdout.flush()
    print(f"error: {exc}", file=sys.stderr, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        sample = shipped_file("sample-walk.csv")
    except FileNotFoundError as exc:
        print(f"error: bundled sample missing: {exc}", file=sys.stderr)
        return 2
    print(f"stridewatch demo: analysing the bundled synthetic sample {sample.name}\n")
    ns = argparse.Namespace(inputs=[str(sample)], json=False, rules=None, calibrate="2:12",
                            axes=None, units=None, time_unit=None, save=False, patient=None,
                            db=None)
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

    p = sub.add_parser("analyze", help="analyse recordings (CSV, .swtrace, Polar Sensor Logger, "
                                        "Xsens, .cwa, .gt3x, Mobilise-D data.mat)")
    p.add_argument("inputs", nargs="+", help="files or directories; the format is detected "
                                             "from the content")
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
    try:
        return int(args.func(args) or 0)
    except InputFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
