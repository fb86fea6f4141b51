"""Command-line commands around sensors and traces: scan, record, replay, export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stridewatch.cli.options import add_analysis_options

# numpy and the trace code are imported by the commands, so registering them stays cheap.


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--speed {text!r}: a number or 'max'") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError("--speed must be positive")
    return value


def cmd_replay(args: argparse.Namespace) -> int:
    from analysis.errors import InputError
    from firmware_bridge.trace import TraceFormatError
    from stridewatch.cli.options import load_rules, parse_calibrate
    from stridewatch.inputs import InputFileError
    from stridewatch.live.replay import replay_trace
    from stridewatch.report.summary import wearer_summary

    problems: list[str] = []
    rules = load_rules(args.rules)
    try:
        result = replay_trace(
            Path(args.trace), rules=rules, speed=args.speed,
            calibrate_s=parse_calibrate(args.calibrate), axes=args.axes,
            out=None if args.json else sys.stdout, problems=problems,
        )
    except InputError as exc:
        raise InputFileError(exc.located(args.trace)) from exc
    except (TraceFormatError, OSError, ValueError) as exc:
        raise InputFileError(f"{args.trace}: {exc}") from exc
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    session = result.to_dict(args.trace)
    if args.json:
        print(json.dumps(session, separators=(",", ":")))
    else:
        print()
        print(wearer_summary(session, rules))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import numpy as np

    from stridewatch.inputs.swtrace import read_trace_recording

    recording = read_trace_recording(Path(args.trace))
    columns = [recording.t_s[:, None], recording.acc]
    header = "t,ax,ay,az"
    if recording.gyro_dps is not None:
        columns.append(recording.gyro_dps)
        header += ",gx,gy,gz"
    data = np.hstack(columns)
    target = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")
    try:
        target.write(header + "\n")
        # t to the microsecond; acceleration to 1e-6 g (finer than any sensor's resolution).
        np.savetxt(target, data, delimiter=",", fmt="%.6f")
    finally:
        if target is not sys.stdout:
            target.close()
    if target is not sys.stdout:
        print(f"wrote {args.output}: {len(data)} samples of {recording.meta['profile']} "
              f"({recording.meta['time_source']} clock)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="feed a recorded trace through the live pipeline")
    p.add_argument("trace", help=".swtrace file")
    p.add_argument("--speed", type=_speed, default=None,
                   help="1 = real time, 10 = ten times faster, max = as fast as possible "
                        "(default)")
    p.add_argument("--json", action="store_true", help="print the final session as JSON")
    add_analysis_options(p, units=False)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("export", help="decoded samples of a trace as CSV (t in s, acc in g)")
    p.add_argument("trace")
    p.add_argument("-o", "--output", help="CSV file (default: standard output)")
    p.set_defaults(func=cmd_export)
