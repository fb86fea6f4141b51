"""`analyze --out DIR [--engine dask]`: a cohort of recordings into Parquet tables."""

from __future__ import annotations

import argparse
import sys

from stridewatch.cli.options import parse_calibrate
from stridewatch.inputs import InputFileError, expand_inputs


def add_cohort_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "cohort", "many recordings into DIR/sessions.parquet, bouts.parquet, steps.parquet "
        "and sessions.jsonl (needs the 'cluster' extra: pyarrow; dask for --engine dask)")
    group.add_argument("--out", metavar="DIR", help="write the cohort tables to DIR")
    group.add_argument("--engine", choices=["local", "dask"],
                       help="local: this process (default with --out); dask: on Dask "
                            "distributed, short recordings grouped into tasks")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="with --engine dask: an existing scheduler (tcp://host:8786); "
                            "default: a LocalCluster on this machine")
    group.add_argument("--workers", type=int, metavar="N",
                       help="worker processes analysing several inputs at once (default: one "
                            "per core; 1: one after the other in this process; files stored "
                            "with --save/--patient are always analysed here); with --engine "
                            "dask and no --scheduler: the Dask workers")
    group.add_argument("--resume", action="store_true",
                       help="skip recordings whose result in DIR has the same content hash")


def run_cohort_command(args: argparse.Namespace) -> int:
    from stridewatch.cohort.run import run_cohort
    from stridewatch.cohort.task import AnalysisOptions

    if not args.out:
        raise InputFileError("--engine needs --out DIR (where the cohort tables go)")
    if args.save or args.patient:
        raise InputFileError("--out writes cohort tables; it does not file sessions in the "
                             "store (drop --save/--patient)")
    options = AnalysisOptions(rules=args.rules, calibrate_s=parse_calibrate(args.calibrate),
                              axes=args.axes, units=args.units)
    try:
        import pyarrow  # noqa: F401
    except ModuleNotFoundError as exc:
        raise InputFileError("--out needs pyarrow: pip install 'stridewatch[cluster]'") from exc
    try:
        # a name that is no recording stays in the list: its task records the error
        inputs = [ref.path or ref.name for ref in expand_inputs(args.inputs)]
        summary = run_cohort(inputs, args.out, options=options,
                             engine=args.engine or "local", scheduler=args.scheduler,
                             workers=args.workers, resume=args.resume)
    except RuntimeError as exc:
        raise InputFileError(str(exc)) from exc
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in summary.files.values())}", file=sys.stderr)
    return 1 if summary.failed else 0
