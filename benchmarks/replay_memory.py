"""Streaming memory and speed: replay a 12 h, 200 Hz Polar H10 trace at --speed max.

Writes a synthetic trace (a 30 min block of walking and standing, repeated),
then replays it in a child process (`stridewatch replay --speed max --json`)
while sampling that process's resident memory. Prints the RSS over time, the
peak, and microseconds per notification. Flat memory = the RSS after the
first minutes does not grow with the length of the trace.

    python benchmarks/replay_memory.py [--hours 12]

With ``--analyze``: `stridewatch analyze TRACE --json` as a user runs it, streamed (as it
is) and read whole (the streamed path switched off, as before issue 13's streamed
traces), for traces of each ``--hours``: peak RSS and CPU (user + sys) of the process,
and whether both printed the same bytes. ``--dir`` keeps the traces (h10-<hours>h.swtrace)
and reuses those already there.

    python benchmarks/replay_memory.py --analyze --hours 2 6 --dir /tmp
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.simulate import Phase, simulate_walk  # noqa: E402
from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from user_process import child_env, compile_project  # noqa: E402

FRAME = 36  # samples per notification at the H10's usual MTU


def write_trace(path: Path, hours: float) -> int:
    """A day-like H10 trace: 10 min walking, 20 min standing, repeated for ``hours``."""
    block = simulate_walk(
        [Phase("walk", 600, cadence_spm=108), Phase("stand", 1200)], fs_hz=RATE_HZ, seed=2
    )
    total = int(hours * 3600 * RATE_HZ)
    write_h10_trace(path, block.acc, total_samples=total, frame_samples=FRAME,
                    device_name="Polar H10 BENCH")
    return total // FRAME


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


#: `analyze` with every trace read whole: the streamed path answers "not streamed".
_WHOLE = ("import sys; from stridewatch.store import filing; "
          "filing.analyze_streamed_trace = lambda *a, **k: None; "
          "from stridewatch.cli import main; sys.exit(main(sys.argv[1:]))")


def run_measured(command: list[str]) -> tuple[int, bytes, bytes, float, float]:
    """(exit status, stdout, stderr, peak RSS in MB, CPU s user + sys) of one child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT, env=child_env())
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (child.returncode, out.read(), err.read(), usage.ru_maxrss / 1024,
                usage.ru_utime + usage.ru_stime)


def main_analyze(hours: list[float], folder: Path | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        where = folder or Path(tmp)
        for h in hours:
            path = where / f"h10-{h:g}h.swtrace"
            if not path.exists():
                write_trace(path, h)
            size_mb = path.stat().st_size / 1e6
            args = ["analyze", str(path), "--json"]
            streamed = run_measured([sys.executable, "-m", "stridewatch", *args])
            whole = run_measured([sys.executable, "-c", _WHOLE, *args])
            same = streamed[:3] == whole[:3]
            print(f"{h:g} h H10 trace ({size_mb:.0f} MB): whole {whole[3]:.0f} MB peak, "
                  f"{whole[4]:.2f} s CPU; streamed {streamed[3]:.0f} MB peak, "
                  f"{streamed[4]:.2f} s CPU; output and stderr "
                  f"{'identical' if same else 'DIFFER'} (exit {streamed[0]})")
            if not same:
                return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[12.0])
    parser.add_argument("--analyze", action="store_true",
                        help="measure `analyze --json` of traces, streamed and whole")
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the traces here")
    args = parser.parse_args()
    compile_project()  # the children load byte-compiled modules, as an installation does
    if args.analyze:
        return main_analyze(args.hours, args.dir)
    args.hours = args.hours[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.swtrace"
        t0 = time.perf_counter()
        frames = write_trace(path, args.hours)
        print(
            f"trace: {args.hours:g} h at {RATE_HZ:g} Hz, {frames:,} notifications, "
            f"{path.stat().st_size / 1e6:.0f} MB (written in {time.perf_counter() - t0:.0f} s)"
        )
        start = time.perf_counter()
        # Output goes to files: a pipe nobody reads would fill up and stall the child.
        out_path, err_path = Path(tmp) / "session.json", Path(tmp) / "stderr.txt"
        command = [sys.executable, "-m", "stridewatch.cli", "replay", "--speed", "max",
                   "--json", str(path)]
        samples: list[tuple[float, float]] = []
        with out_path.open("w") as out_file, err_path.open("w") as err_file:
            child = subprocess.Popen(command, stdout=out_file, stderr=err_file, text=True,
                                     env=child_env())
            while child.poll() is None:
                rss = rss_mb(child.pid)
                if rss is not None:
                    samples.append((time.perf_counter() - start, rss))
                time.sleep(0.25)
        wall = time.perf_counter() - start
        out, err = out_path.read_text(), err_path.read_text()
    if child.returncode != 0:
        print(err, file=sys.stderr)
        return 1
    session = json.loads(out.strip().splitlines()[-1])
    print(
        f"replay: {wall:.1f} s wall, {1e6 * wall / frames:.0f} µs per notification, "
        f"{args.hours * 3600 / wall:,.0f}x real time; {session['steps']:,} steps found"
    )
    if samples:
        times, rss = np.array(samples).T
        print("resident memory over the replay (MB):")
        for q in (0.1, 0.25, 0.5, 0.75, 1.0):
            i = min(len(rss) - 1, int(q * (len(rss) - 1)))
            print(f"  {100 * q:3.0f}% ({times[i]:6.1f} s): {rss[i]:6.0f}")
        settled = rss[len(rss) // 10 :]
        print(
            f"peak {rss.max():.0f} MB; after the first 10 %: {settled.min():.0f}–"
            f"{settled.max():.0f} MB (growth {settled.max() - settled.min():.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
