"""Cohort throughput: N short recordings analysed serially (in-process engine) and on a
2-worker Dask LocalCluster; wall time, recordings per second, CPU per recording, peak memory
per worker, and whether both engines wrote identical tables.

Figures printed (all on the same recordings, each run writing its own output folder):
- serial: the in-process engine in this process (the analysis already imported);
- dask steady state: ``run_cohort`` on a cluster whose workers are up and have imported the
  analysis (what a long cohort run sees after its first seconds);
- dask end to end: cluster start-up + worker imports + the run (what one short command sees);
- plain processes: the bare analysis split over the same number of plain processes, no Dask
  and no output, as a reference for what the machine gives right now.
CPU per recording counts every process of the run (client, scheduler, workers, nannies), so it
shows Dask's own cost even when other work on the machine makes the wall times noisy.

The recordings are simulated walks (analysis.simulate: stand then walk, cadence, lean and
step asymmetry varied per recording, each with its own sensor noise), written as CSV files.

    python benchmarks/cohort.py                 # 1,000 recordings of 30 s
    python benchmarks/cohort.py --n 200 --seconds 60

Target (issue 12): on 2 cores the 2-worker run reaches at least 1.6x the serial throughput
(steady state). The figure depends on what else runs on the machine; the load average is
printed with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.simulate import Phase, simulate_walk  # noqa: E402
from stridewatch.cohort.dask_engine import PrepareAnalysis, start_local_cluster  # noqa: E402
from stridewatch.cohort.run import run_cohort  # noqa: E402
from stridewatch.cohort.task import AnalysisOptions, analyze_one, prepare  # noqa: E402


def make_recordings(folder: Path, n: int, seconds: float, fs_hz: float) -> list[Path]:
    rng = np.random.default_rng(12)
    paths = []
    for k in range(n):
        walk_s = seconds - 5.0
        sim = simulate_walk(
            [Phase("stand", 5.0),
             Phase("walk", walk_s, cadence_spm=float(rng.uniform(90, 125)),
                   si_pct=float(rng.uniform(0, 15)), sagittal_deg=float(rng.uniform(0, 15)))],
            fs_hz=fs_hz, noise_g=float(rng.uniform(0.005, 0.02)), seed=k)
        path = folder / f"rec-{k:04d}.csv"
        pd.DataFrame({"t": sim.t_s, "ax": sim.acc[:, 0], "ay": sim.acc[:, 1],
                      "az": sim.acc[:, 2]}).to_csv(path, index=False, float_format="%.5f")
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree_cpu_s() -> float:
    """CPU seconds (user + system) so far of this process, its children that have ended
    and those still running."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for proc in psutil.Process().children(recursive=True):
        try:
            cpu = proc.cpu_times()
        except psutil.Error:
            continue
        total += cpu.user + cpu.system
    return total


def _analyze_share(paths: list[str]) -> int:
    for index, path in enumerate(paths):
        analyze_one(index, path, AnalysisOptions())
    return len(paths)


def plain_processes(paths: list[Path], n: int) -> float:
    """Wall time of the bare analysis split over ``n`` plain processes (no Dask, no output):
    what the machine gives two processes right now, the reference for Dask's own cost."""
    shares = [[str(p) for p in paths[k::n]] for k in range(n)]
    with ProcessPoolExecutor(n, initializer=prepare, initargs=(AnalysisOptions(),)) as pool:
        list(pool.map(_analyze_share, [share[:1] for share in shares]))  # started, imported
        started = time.perf_counter()
        list(pool.map(_analyze_share, shares))
        return time.perf_counter() - started


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet")
            for name in ("sessions", "bouts", "steps")}


def same_results(a: Path, b: Path) -> bool:
    ta, tb = tables(a), tables(b)
    return (all(ta[name].equals(tb[name]) for name in ta)
            and (a / "sessions.jsonl").read_bytes() == (b / "sessions.jsonl").read_bytes())


def line(label: str, wall_s: float, n: int, cpu_s: float, extra: str) -> str:
    return (f"{label:<24}{wall_s:7.1f} s {n / wall_s:7.1f} rec/s  "
            f"cpu {cpu_s / n * 1000:5.1f} ms/rec  {extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="recordings (default 1000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each (s)")
    parser.add_argument("--fs", type=float, default=50.0, help="sample rate (Hz)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from distributed import Client

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        t0 = time.perf_counter()
        paths = make_recordings(root / "in", args.n, args.seconds, args.fs)
        print(f"{args.n} simulated recordings of {args.seconds:g} s at {args.fs:g} Hz "
              f"written in {time.perf_counter() - t0:.1f} s; cores {os.cpu_count()}, "
              f"load average {os.getloadavg()[0]:.1f}")

        prepare(AnalysisOptions())
        cpu0 = tree_cpu_s()
        serial = run_cohort(paths, root / "serial", progress=None)
        serial_cpu = tree_cpu_s() - cpu0
        serial_rate = args.n / serial.wall_s
        print(line("serial (in-process):", serial.wall_s, args.n, serial_cpu,
                   f"peak memory {peak_rss_mb():.0f} MB  ({serial.failed} failed)"))

        plain_s = plain_processes(paths, args.workers)
        print(f"{f'{args.workers} plain processes:':<24}{plain_s:7.1f} s "
              f"{args.n / plain_s:7.1f} rec/s  "
              f"(bare analysis, no Dask, no output: the machine's ceiling now, "
              f"{args.n / plain_s / serial_rate:.2f}x serial)")

        started = time.perf_counter()
        with start_local_cluster(args.workers) as cluster, Client(cluster) as client:
            client.register_plugin(PrepareAnalysis(AnalysisOptions()))
            ready_s = time.perf_counter() - started
            cpu0 = tree_cpu_s()
            steady = run_cohort(paths, root / "dask", engine="dask", client=client,
                                progress=None)
            steady_cpu = tree_cpu_s() - cpu0
            worker_peaks = client.run(peak_rss_mb)
        peaks = ", ".join(f"{v:.0f}" for v in worker_peaks.values())
        print(line(f"dask {args.workers} workers, steady:", steady.wall_s, args.n, steady_cpu,
                   f"peak memory per worker {peaks} MB  ({steady.failed} failed)"))

        # end to end: a fresh cluster, started and prepared inside the timed run
        cpu0 = tree_cpu_s()
        end_to_end = run_cohort(paths, root / "dask-cold", engine="dask",
                                workers=args.workers, progress=None)
        cold_cpu = tree_cpu_s() - cpu0
        print(line(f"dask {args.workers} workers, with start:", end_to_end.wall_s, args.n,
                   cold_cpu, f"(a cluster start + worker imports took {ready_s:.1f} s "
                   "alone, before the steady run)"))
        print(f"speed-up steady state {args.n / steady.wall_s / serial_rate:.2f}x "
              f"(target >= 1.6x on 2 cores), including cluster start "
              f"{args.n / end_to_end.wall_s / serial_rate:.2f}x; Dask steady state reaches "
              f"{plain_s / steady.wall_s:.0%} of the plain processes; "
              f"load average now {os.getloadavg()[0]:.1f}")

        same = (same_results(root / "serial", root / "dask")
                and same_results(root / "serial", root / "dask-cold"))
        rows = ", ".join(f"{name} {len(frame)}" for name, frame in tables(root / "serial").items())
        print(f"identical results: {'yes' if same else 'NO'} ({rows} rows)")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
