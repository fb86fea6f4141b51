"""Each command imports only what it uses: `analyze` of a small CSV imports no pandas, no
store (SQLAlchemy), no asyncio and no BLE profiles, and running one command registers only
the module that holds it, with the same options as when every command is registered."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from stridewatch.cli import BUILTIN_COMMANDS, COMMAND_MODULES, build_parser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample-walk.csv"
HEAVY = ("pandas", "sqlalchemy", "asyncio", "firmware_bridge.profiles", "importlib.metadata",
         "scipy.signal", "scipy.stats", "jinja2", "bleak")


def _imported_after(argv: list[str]) -> list[str]:
    code = ("import contextlib, io, sys\n"
            "from stridewatch.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    code = main({argv!r})\n"
            "assert code == 0 and out.getvalue(), code\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip())  # noqa: S307 (a list of names printed above)


def test_analyze_of_a_small_csv_imports_nothing_it_does_not_use() -> None:
    assert _imported_after(["analyze", str(SAMPLE), "--json"]) == []


def test_analyze_of_a_trace_or_a_cwa_file_imports_no_pandas(tmp_path) -> None:
    # neither is read by pandas, streamed or whole (pandas costs ~0.5 s CPU to import)
    from analysis.simulate import Phase, simulate_walk
    from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace

    trace = tmp_path / "walk.swtrace"
    walk = simulate_walk([Phase("walk", 30, cadence_spm=108)], fs_hz=RATE_HZ, seed=3)
    write_h10_trace(trace, walk.acc, total_samples=len(walk.acc), frame_samples=36)
    for path in (trace, ROOT / "tests" / "samples" / "walk.cwa"):
        assert "pandas" not in _imported_after(["analyze", str(path), "--json"]), path


def test_help_imports_no_analysis_stack() -> None:
    code = ("import contextlib, io, sys\n"
            "from stridewatch.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])\n"
            "print(sorted(m for m in ('numpy', 'pandas', 'sqlalchemy', 'scipy') "
            "if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> list[tuple]:
    """Every option and positional of a (sub)parser, nested sub-commands included."""
    out = []
    for action in parser._actions:
        out.append((tuple(action.option_strings), action.dest, action.default, action.nargs))
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in sorted(action.choices.items()):
                out.append((name, _options(sub)))
    return out


def test_every_command_is_mapped_to_its_module() -> None:
    everything = _subcommands(build_parser())
    # a command added without a COMMAND_MODULES entry still works, but imports every module
    assert set(everything) == set(BUILTIN_COMMANDS) | set(COMMAND_MODULES)


@pytest.mark.parametrize("command", sorted(set(BUILTIN_COMMANDS) | set(COMMAND_MODULES)))
def test_one_command_parser_is_the_full_parsers_command(command: str) -> None:
    alone = _subcommands(build_parser(command))
    assert command in alone
    assert _options(alone[command]) == _options(_subcommands(build_parser())[command])


THREADS_AFTER = ("import contextlib, io, os\n"
                 "from stridewatch.cli import main\n"
                 "with contextlib.redirect_stdout(io.StringIO()):\n"
                 f"    assert main(['analyze', {str(SAMPLE)!r}, '--json']) == 0\n"
                 "print(len(os.listdir('/proc/self/task')))\n")


def _threads_after_analyze(env: dict[str, str]) -> int:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_"))}
    done = subprocess.run([sys.executable, "-c", THREADS_AFTER], capture_output=True,
                          text=True, cwd=ROOT, check=False, env={**clean, **env})
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_numpy_starts_no_blas_thread_pool_unless_the_user_asks() -> None:
    import os

    assert _threads_after_analyze({}) == 1  # OpenBLAS's pool costs ~0.1 s of CPU a start
    if len(os.sched_getaffinity(0)) > 1:  # a user's own setting wins
        assert _threads_after_analyze({"OPENBLAS_NUM_THREADS": "2"}) > 1
