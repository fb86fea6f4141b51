"""The ``stridewatch`` command line."""

from __future__ import annotations

import argparse
import os
import sys

from stridewatch import software_version
from stridewatch.cli.options import (
    add_analysis_options,
    add_store_options,
    parse_calibrate,
    shipped_file,
)
from stridewatch.inputs import InputFileError
from stridewatch.store.errors import StoreError
from stridewatch.terminal import terminal_text

# Each command imports what it uses when it runs (numpy, pandas, scipy, the store), so
# `--help` and the store-only commands start fast: keep heavy imports out of module level.


def cmd_analyze(args: argparse.Namespace) -> int:
    """One answer per recording, in input order: a session, or an error naming the input.

    Exit status 0 when all were analysed; 2 when the only input failed (bad
    input); 1 when some of several failed. Several inputs are analysed by worker
    processes (``--workers``, default one per core) unless sessions are filed in the
    store (``--save``/``--patient``: one after the other, in this process).
    """
    workers = getattr(args, "workers", None)  # for a cohort's Dask workers too
    if workers is not None and workers < 1:
        raise InputFileError(f"--workers {workers}: give at least 1")
    if getattr(args, "out", None) or getattr(args, "engine", None):
        from stridewatch.cli.cohort import run_cohort_command

        return run_cohort_command(args)
    from stridewatch.cli.analyze_job import AnalyzeJob, write
    from stridewatch.cli.batch import default_workers, forks, in_order
    from stridewatch.inputs import expand_inputs
    from stridewatch.store.filing import db_path, resolve_rules

    stored = bool(args.save or args.patient)
    db = db_path(args) if stored else None
    workers = 1 if stored else (workers or default_workers())
    refs = expand_inputs(args.inputs)
    job = AnalyzeJob(args, resolve_rules(args.rules, args.patient, db),
                     parse_calibrate(args.calibrate), db, live=not forks(refs, workers))
    answers = failed = 0
    for lines in in_order(job.answer, refs, workers, prepare=lambda: job.prepare(refs)):
        for stream, text, failure in lines:
            if stream is None:  # one answer (a session or an error) ends here
                answers, failed = answers + 1, failed + failure
                continue
            write(stream, text)
    if not failed:
        return 0
    return 2 if answers == 1 else 1


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


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (importlib.metadata
    scans the installed packages, a tenth of a second at every start otherwise)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:  # noqa: A002
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help or "show the program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"stridewatch {software_version()}")  # on stdout, as argparse's own action
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line ``error: …`` (exit 2) instead of usage + error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} -h`)\n")


SHORT_USAGE = """\
usage: stridewatch COMMAND [options]   (stridewatch COMMAND -h for a command's options)

  demo                     analyse the bundled sample walk (no sensor needed): start here
  analyze FILE...          plain-language summary of CSV recordings or .swtrace traces
  report FILE -o F.html    clinician report (HTML, and PDF with --pdf)
  history --patient ID     weekly walking-plan progress and trends
  scan / record            find a Bluetooth sensor / record it with a live view
  replay / export          feed a trace through the live pipeline / write it as CSV
  simulate                 write a synthetic walk with known truth
  patient                  per-patient rules in the session store
"""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; given the ``command`` being run, only what that command needs."""
    parser = _Parser(
        prog="stridewatch",
        description="Step-and-posture checks for walking with low back pain, from a trunk "
        "accelerometer.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="analyse the bundled synthetic sample (no sensor needed)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("analyze", help="analyse recordings (CSV, .swtrace, Polar Sensor Logger, "
                                        "Xsens, .cwa, .gt3x, Mobilise-D data.mat)")
    p.add_argument("inputs", nargs="+", help="files or directories; the format is detected "
                                             "from the content")
    p.add_argument("--json", action="store_true", help="one JSON object per input (JSON Lines)")
    add_analysis_options(p)
    add_store_options(p, save_by_default=False)
    from stridewatch.cli.cohort import add_cohort_options

    add_cohort_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("simulate", help="write a synthetic walk CSV and its truth JSON")
    from stridewatch.cli.simulate import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_simulate)

    for register in _extra_commands(command):
        register(sub)
    return parser


#: Modules holding the commands that do not live here, in the order `--help` lists them.
EXTRA_COMMAND_MODULES = (
    "stridewatch.cli.record",
    "stridewatch.cli.replay",
    "stridewatch.cli.report",
    "stridewatch.cli.history",
    "stridewatch.cli.patient",
    "stridewatch.cli.sessions",
    "stridewatch.cli.calibrate",
    "stridewatch.cli.sync",
    "stridewatch.cli.web",
)
#: Commands registered in this module: running one imports none of the modules above.
BUILTIN_COMMANDS = ("demo", "analyze", "simulate")
#: The module registering each extra command, so that running one imports only its module
#: (importing them all costs asyncio, the BLE profiles...). A command missing here still
#: works: every module is then imported, as for `--help`.
COMMAND_MODULES = {
    "scan": "stridewatch.cli.record",
    "record": "stridewatch.cli.record",
    "replay": "stridewatch.cli.replay",
    "export": "stridewatch.cli.replay",
    "report": "stridewatch.cli.report",
    "history": "stridewatch.cli.history",
    "patient": "stridewatch.cli.patient",
    "sessions": "stridewatch.cli.sessions",
    "calibrate": "stridewatch.cli.calibrate",
    "sync": "stridewatch.cli.sync",
    "serve": "stridewatch.cli.web",
    "users": "stridewatch.cli.web",
}


def _extra_commands(command: str | None = None) -> list:
    """Commands that live in their own modules (BLE, reports, history): only the one that
    registers ``command`` when that is known, else all (for `--help` and usage errors)."""
    if command in BUILTIN_COMMANDS:
        return []
    names = ((COMMAND_MODULES[command],) if command in COMMAND_MODULES
             else EXTRA_COMMAND_MODULES)
    registers = []
    for module_name in names:
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        registers.append(module.register)
    return registers


#: numpy's OpenBLAS starts a thread per core when numpy is imported, and they cost ~0.1 s
#: of CPU at every start (measured: `import numpy` 0.29 -> 0.20 s, one 30 s file 0.48 ->
#: 0.37 s); nothing here multiplies large matrices (the analysis keeps out of BLAS), so
#: one thread does the same work, to the bit (checked on 31 recordings). A user's own
#: setting wins.
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}


def main(argv: list[str] | None = None) -> int:
    for name, value in BLAS_THREADS.items():  # before anything imports numpy
        os.environ.setdefault(name, value)
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        print(SHORT_USAGE, end="")
        return 0
    parser = build_parser(argv[0])
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except InputFileError as exc:
        print(f"error: {terminal_text(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`stridewatch analyze X | head`): stop quietly, like `cat`
        _silence_stdout()
        return 141
    except StoreError as exc:
        print(f"error: session store: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
