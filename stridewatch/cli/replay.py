"""Command-line commands around sensors and traces: scan, record, replay, export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from stridewatch.cli.options import add_analysis_options, require_accelerometer
from stridewatch.cli.outputs import check_output, replacing
from stridewatch.inputs import TRACE_SUFFIX, InputFileError
from stridewatch.terminal import terminal_text

if TYPE_CHECKING:
    import numpy as np

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
    from stridewatch.live.replay import replay_trace
    from stridewatch.report.summary import wearer_summary

    problems: list[str] = []
    trace = trace_file(args.trace, "replay")
    _refuse_cadence_only(trace)
    rules = load_rules(args.rules)
    try:
        result = replay_trace(
            trace, rules=rules, speed=args.speed,
            calibrate_s=parse_calibrate(args.calibrate), axes=args.axes,
            out=None if args.json else sys.stdout, problems=problems,
        )
    except InputError as exc:
        raise InputFileError(exc.located(args.trace)) from exc
    except (TraceFormatError, OSError, ValueError) as exc:
        raise InputFileError(f"{args.trace}: {exc}") from exc
    for problem in problems:
        print(f"warning: {terminal_text(problem)}", file=sys.stderr)
    session = result.to_dict(args.trace)
    session["recording"] = _replayed_header(trace, session)
    if args.json:
        print(json.dumps(session, separators=(",", ":")))
    else:
        print()
        print(wearer_summary(session, rules))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import numpy as np

    from stridewatch.inputs.swtrace import read_trace_recording

    out = None if args.output in (None, "-") else check_output(args.output)
    recording = read_trace_recording(trace_file(args.trace, "export"))
    columns = [recording.t_s[:, None], recording.acc]
    header = "t,ax,ay,az"
    if recording.gyro_dps is not None:
        columns.append(recording.gyro_dps)
        header += ",gx,gy,gz"
    data = np.hstack(columns)
    if out is None:
        _write_csv(sys.stdout, header, data)
        return 0
    with replacing(out) as tmp, open(tmp, "w", encoding="utf-8") as target:
        _write_csv(target, header, data)
    print(f"wrote {terminal_text(out)}: {len(data)} samples of {recording.meta['profile']} "
          f"({recording.meta['time_source']} clock)", file=sys.stderr)
    return 0


def _write_csv(target: TextIO, header: str, data: np.ndarray) -> None:
    import numpy as np

    target.write(header + "\n")
    # t to the microsecond; acceleration to 1e-6 g (finer than any sensor's resolution).
    np.savetxt(target, data, delimiter=",", fmt="%.6f")


def _replayed_header(trace: Path, session: dict) -> dict:
    from firmware_bridge.trace import TraceStream
    from stridewatch.report.header import recording_header

    header = TraceStream(trace).header
    return recording_header(None, session, meta={
        "profile": header.profile, "device_name": header.device_name,
        "device_address": header.device_address, "start_unix_s": header.started_unix_s})


def _refuse_cadence_only(trace: Path) -> None:
    from firmware_bridge.profiles import get_profile
    from firmware_bridge.trace import TraceFormatError, TraceStream

    try:
        profile = get_profile(TraceStream(trace).header.profile)
    except (TraceFormatError, OSError, KeyError, ValueError):
        return  # replay itself reports what is wrong with the file
    require_accelerometer(profile, str(trace))


def trace_file(name: str, verb: str) -> Path:
    """A ``.swtrace`` file to read; a CSV, a folder or a missing file is an error saying so."""
    path = Path(name)
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; `{verb}` takes one .swtrace trace")
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.suffix.lower() != TRACE_SUFFIX:
        hint = (" (a CSV recording: use `stridewatch analyze` or `report` on it)"
                if path.suffix.lower() == ".csv" else "")
        raise InputFileError(f"{path}: not a {TRACE_SUFFIX} trace{hint}")
    return path


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
