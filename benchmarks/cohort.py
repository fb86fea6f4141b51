"""Cohort throughput: N short recordings analysed serially (in-process engine) and on a
2-worker Dask LocalCluster; wall time, recordings per second, peak memory per worker, and
whether both engines wrote identical tables.

The recordings are simulated walks (analysis.simulate: stand then walk, cadence, lean and
step asymmetry varied per recording, each with its own sensor noise), written as CSV files.

    python benchmarks/cohort.py                 # 1,000 recordings of 30 s
    python benchmarks/cohort.py --n 200 --seconds 60

Target (issue 12): on 2 cores the 2-worker run reaches at least 1.6x the serial throughput.
The figure depends on what else runs on the machine; the load average is printed with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.simulate import Phase, simulate_walk  # noqa: E402
from stridewatch.cohort.run import run_cohort  # noqa: E402
from stridewatch.cohort.task import AnalysisOptions, prepare  # noqa: E402


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


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet")
            for name in ("sessions", "bouts", "steps")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="recordings (default 1000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each (s)")
    parser.add_argument("--fs", type=float, default=50.0, help="sample rate (Hz)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        t0 = time.perf_counter()
        paths = make_recordings(root / "in", args.n, args.seconds, args.fs)
        print(f"{args.n} simulated recordings of {args.seconds:g} s at {args.fs:g} Hz "
              f"written in {time.perf_counter() - t0:.1f} s; cores {os.cpu_count()}, "
              f"load average {os.getloadavg()[0]:.1f}")

        prepare(AnalysisOptions())
        serial = run_cohort(paths, root / "serial", progress=None)
        serial_rate = args.n / serial.wall_s
        print(f"serial (in-process):   {serial.wall_s:7.1f} s  {serial_rate:6.1f} rec/s  "
              f"peak memory {peak_rss_mb():.0f} MB  ({serial.failed} failed)")

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            client.run(prepare, AnalysisOptions())  # workers import the analysis first,
            print(f"workers ready in {time.perf_counter() - t0:.1f} s "  # as serial had
                  "(imports, rules; not counted below)")
            dask = run_cohort(paths, root / "dask", engine="dask", client=client,
                              progress=None)
            worker_peaks = client.run(peak_rss_mb)
        dask_rate = args.n / dask.wall_s
        peaks = ", ".join(f"{v:.0f}" for v in worker_peaks.values())
        print(f"dask {args.workers} workers:        {dask.wall_s:7.1f} s  {dask_rate:6.1f} "
              f"rec/s  peak memory per worker {peaks} MB  ({dask.failed} failed)")
        print(f"speed-up {dask_rate / serial_rate:.2f}x (target >= 1.6x on 2 cores); "
              f"load average now {os.getloadavg()[0]:.1f}")

        a, b = tables(root / "serial"), tables(root / "dask")
        same = all(a[name].equals(b[name]) for name in a)
        same = same and ((root / "serial" / "sessions.jsonl").read_bytes()
                         == (root / "dask" / "sessions.jsonl").read_bytes())
        rows = ", ".join(f"{name} {len(frame)}" for name, frame in a.items())
        print(f"identical results: {'yes' if same else 'NO'} ({rows} rows)")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
