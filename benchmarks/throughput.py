"""Speed and memory on real-signal recordings, whole process as a user runs it.

Writes real-signal days (benchmarks/realday.py: the mobgap-lab lower-back
recordings tiled, perturbed, with rests and gaps; 100 Hz, m/s² and deg/s) to
temporary CSVs and measures, as medians of ``--runs`` runs:

- ``python -m stridewatch analyze FILE --json`` on the 6 h and the 72 h day: CPU
  time (user + sys of the child process, from wait4) and its peak RSS;
- the same file analysed in this process (imports already done): parsing and
  analysis as a stream, and analysis alone on arrays already in memory;
- ``python -m stridewatch --help``; one 30 s real recording; 110 such files in one call,
  in one process (``--workers 1``: CPU) and as a user runs it (a worker per core: wall);
- ``replay --speed max`` of an H10 trace: CPU per 36-sample notification, and the
  peak RSS of a trace twice as long (flat memory = the same peak);
- with ``.[bench]`` installed: mobgap's GsdIluz + IcdShinImproved on the same 6 h
  file in this process (CPU), and the ratio.

The children run as an installation does: the project byte-compiled once, its caches
used (benchmarks/user_process.py). CPU time is what is reported against the targets:
the machine is shared, so wall times (also printed) depend on the load (printed too).

    python benchmarks/throughput.py [--hours 6] [--long-hours 72] [--runs 3] [--no-mobgap]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from realday import LAB, write_day  # noqa: E402
from user_process import child_env, compile_project  # noqa: E402

FRAME = 36


def run_child(args: list[str]) -> tuple[float, float, float]:
    """CPU s (user+sys), wall s and peak RSS MB of one child process (by /usr/bin/time: a
    child forked from this large process would inherit its peak RSS)."""
    env = child_env()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        wall = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%U %S %M",
                               sys.executable, *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
        wall = time.perf_counter() - wall
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        user, system, rss_kb = report.read().split()[-3:]
    return float(user) + float(system), wall, float(rss_kb) / 1024


def measured(label: str, args: list[str], runs: int) -> tuple[float, float, float]:
    results = [run_child(args) for _ in range(runs)]
    cpu = statistics.median(r[0] for r in results)
    wall = statistics.median(r[1] for r in results)
    rss = statistics.median(r[2] for r in results)
    print(f"{label}: {cpu:.2f} s CPU (median of {runs}; runs "
          f"{', '.join(f'{r[0]:.2f}' for r in results)}), {wall:.2f} s wall, "
          f"peak RSS {rss:.0f} MB")
    return cpu, rss, wall


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def in_process(path: Path, runs: int) -> float:
    """Median CPU s of parsing + analysing ``path`` as a stream in this process (imports done)."""
    from analysis.pipeline import analyze
    from analysis.streaming import analyze_stream
    from stridewatch.inputs import read_input
    from stridewatch.inputs.chunks import csv_chunks

    analyze_stream(csv_chunks(LAB / "ms-001-test11-trial1.csv"))  # warm: designs, imports
    cpu = []
    for _ in range(runs):
        t = time.process_time()
        analyze_stream(csv_chunks(path)).to_dict(str(path))
        cpu.append(time.process_time() - t)
    streamed = statistics.median(cpu)
    print(f"  in process, imports done: parse + analysis as a stream + to_dict "
          f"{streamed:.2f} s CPU")
    recording = read_input(path)
    cpu = []
    for _ in range(runs):
        t = time.process_time()
        result = analyze(recording.t_s, recording.acc, recording.gyro_dps)
        cpu.append(time.process_time() - t)
    print(f"  in process: analysis alone (arrays in memory) {statistics.median(cpu):.2f} s CPU "
          f"({len(result.ic_t_s):,} steps in {len(result.bouts)} bouts)")
    return streamed


def mobgap_cpu(path: Path) -> float | None:
    try:
        import pandas as pd
        from mobgap.gait_sequences import GsdIluz
        from mobgap.initial_contacts import IcdShinImproved
        from mobgap.utils.conversions import to_body_frame
    except ImportError as exc:
        print(f"mobgap: not installed ({exc.name}); pip install -e '.[bench]' for the ratio")
        return None
    t = time.process_time()
    data = pd.read_csv(path)
    frame = pd.DataFrame({f"acc_{a}": data[f"a{a}"] for a in "xyz"}
                         | {f"gyr_{a}": data[f"g{a}"] for a in "xyz"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body = to_body_frame(frame)
        sequences = GsdIluz().detect(body, sampling_rate_hz=100.0).gs_list_
        contacts = 0
        for _, gs in sequences.iterrows():
            seg = body.iloc[int(gs["start"]) : int(gs["end"])].reset_index(drop=True)
            contacts += len(IcdShinImproved().detect(seg, sampling_rate_hz=100.0).ic_list_)
    cpu = time.process_time() - t
    print(f"mobgap GsdIluz + IcdShinImproved on the same file (CSV read, imports done): "
          f"{cpu:.1f} s CPU, {len(sequences)} gait sequences, {contacts:,} contacts")
    return cpu


def thirty_seconds(folder: Path) -> Path:
    """30 s of a real recording (walking and turning) in the project's CSV layout."""
    rows = np.loadtxt(LAB / "ha-001-test11-trial1.csv", delimiter=",", skiprows=1)
    part = rows[6000:9000].copy()
    part[:, 0] -= part[0, 0]
    path = folder / "thirty.csv"
    np.savetxt(path, part, delimiter=",", header="t,ax,ay,az,gx,gy,gz", comments="",
               fmt=["%.2f"] + ["%.5f"] * 6)
    return path


def replay(folder: Path, runs: int) -> None:
    from replay_memory import write_trace

    cpu_per, peaks = [], {}
    for hours in (1.0, 2.0):
        trace = folder / f"h10-{hours:g}h.swtrace"
        notifications = write_trace(trace, hours)
        results = [run_child(["-m", "stridewatch", "replay", str(trace), "--speed", "max",
                              "--json"]) for _ in range(runs)]
        cpu = statistics.median(r[0] for r in results)
        peaks[hours] = statistics.median(r[2] for r in results)
        cpu_per.append((hours, notifications, cpu))
    (h1, n1, c1), (h2, n2, c2) = cpu_per
    marginal = (c2 - c1) / (n2 - n1) * 1e6
    print(f"replay --speed max, H10 200 Hz, {FRAME} samples per notification: "
          f"{h1:g} h {c1:.2f} s CPU, {h2:g} h {c2:.2f} s CPU (whole process, median of {runs}); "
          f"{marginal:.0f} µs CPU per notification (the second hour's cost) -> "
          f"{verdict(marginal <= 80)} ≤ 80 µs; {c2 / n2 * 1e6:.0f} µs including start-up")
    print(f"  peak RSS {peaks[h1]:.0f} MB for {h1:g} h, {peaks[h2]:.0f} MB for {h2:g} h "
          f"(flat: {verdict(peaks[h2] <= peaks[h1] * 1.05)}; 12 h: benchmarks/replay_memory.py)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--long-hours", type=float, default=72.0, help="0 to skip")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-mobgap", action="store_true")
    parser.add_argument("--no-replay", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          "CPU = user + sys of the process")
    compile_project()  # the children load byte-compiled modules, as an installation does
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        day = folder / "day.csv"
        rows = write_day(day, args.hours)
        print(f"real-signal day: {args.hours:g} h, {rows:,} rows, "
              f"{day.stat().st_size / 1e6:.0f} MB")
        cpu6, rss6, _ = measured(f"analyze {args.hours:g} h --json (whole process)",
                              ["-m", "stridewatch", "analyze", str(day), "--json"], args.runs)
        print(f"  target ≤ 2.0 s CPU: {verdict(cpu6 <= 2.0)}; ≤ 200 MB: {verdict(rss6 <= 200)}")
        streamed = in_process(day, args.runs)
        if not args.no_mobgap:
            peer = mobgap_cpu(day)
            if peer is not None:
                print(f"  mobgap / stridewatch whole process: {peer / cpu6:.1f}x "
                      f"-> {verdict(peer / cpu6 >= 10)} ≥ 10x")
                print(f"  mobgap / stridewatch on equal terms (both in this process, imports "
                      f"done, CSV read included): {peer / streamed:.1f}x")

        help_cpu, _, _ = measured("--help", ["-m", "stridewatch", "--help"], max(args.runs, 5))
        print(f"  target ≤ 0.25 s: {verdict(help_cpu <= 0.25)} (as CPU; wall depends on load)")
        one = thirty_seconds(folder)
        one_cpu, _, one_wall = measured("analyze one 30 s file --json",
                                        ["-m", "stridewatch", "analyze", str(one), "--json"],
                                        args.runs)
        print(f"  target ≤ 0.8 s: {verdict(one_cpu <= 0.8)}")
        many = folder / "many"
        many.mkdir()
        for i in range(110):
            shutil.copy(one, many / f"walk-{i:03d}.csv")
        many_args = ["-m", "stridewatch", "analyze", str(many), "--json"]
        many_cpu, _, _ = measured("analyze 110 files of 30 s in one call --json --workers 1",
                                  [*many_args, "--workers", "1"], args.runs)
        print(f"  CPU {many_cpu / one_cpu:.2f}x the single file's CPU; target ≤ 2x: "
              f"{verdict(many_cpu <= 2 * one_cpu)}")
        spread_cpu, _, spread_wall = measured(
            f"analyze 110 files of 30 s in one call --json (default: {os.cpu_count()} "
            "worker processes)", many_args, args.runs)
        print(f"  wall {spread_wall / one_wall:.2f}x the single file's wall; target ≤ 2x: "
              f"{verdict(spread_wall <= 2 * one_wall)} (CPU {spread_cpu:.2f} s, all "
              "processes)")
        if not args.no_replay:
            replay(folder, args.runs)

        if args.long_hours > 0:
            day.unlink()
            long_day = folder / "long.csv"
            rows = write_day(long_day, args.long_hours)
            print(f"real-signal day: {args.long_hours:g} h, {rows:,} rows, "
                  f"{long_day.stat().st_size / 1e6:.0f} MB")
            cpu72, rss72, _ = measured(f"analyze {args.long_hours:g} h --json (whole process)",
                                    ["-m", "stridewatch", "analyze", str(long_day), "--json"],
                                    args.runs)
            ratio = cpu72 / cpu6
            limit = 13 / 12 * args.long_hours / args.hours  # 72 h <= 13x the 6 h time
            print(f"  {ratio:.1f}x the {args.hours:g} h time (target ≤ {limit:g}x: "
                  f"{verdict(ratio <= limit)}); peak RSS target ≤ 250 MB: "
                  f"{verdict(rss72 <= 250)}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
