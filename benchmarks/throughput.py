"""Analysis speed for a long recording: a 24 h, 100 Hz synthetic trunk recording.

Prints CSV parsing time and analysis time separately (wall and CPU seconds,
× real time) and the peak resident memory. Target: analysis under 2 s of one
core for 24 h at 100 Hz.

    python benchmarks/throughput.py [--hours 24] [--rate 100]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.pipeline import analyze  # noqa: E402
from analysis.simulate import Phase, simulate_walk  # noqa: E402
from stridewatch.inputs import read_input  # noqa: E402


def day_of_walking(hours: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Tile a 30 min block (10 min walking, 20 min sitting/standing) over ``hours``."""
    block = simulate_walk(
        [Phase("walk", 600, cadence_spm=108), Phase("stand", 1200, sagittal_deg=0.0)],
        fs_hz=rate_hz, seed=1,
    )
    reps = int(np.ceil(hours * 2))
    block_s = 1800.0
    t = np.concatenate([block.t_s + k * block_s for k in range(reps)])
    acc = np.tile(block.acc, (reps, 1))
    keep = t < hours * 3600.0
    return t[keep], acc[keep]


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    t, acc = day_of_walking(args.hours, args.rate)
    duration = float(t[-1] - t[0])
    print(f"recording: {duration / 3600:.1f} h at {args.rate:g} Hz, {len(t):,} samples")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "day.csv"
        frame = pd.DataFrame({"t": t, "ax": acc[:, 0], "ay": acc[:, 1], "az": acc[:, 2]})
        frame.to_csv(csv, index=False, float_format="%.5f")
        print(f"CSV size: {csv.stat().st_size / 1e6:.0f} MB")
        recording, wall, cpu = timed(lambda: read_input(csv))
        print(f"parsing: {wall:.2f} s wall, {cpu:.2f} s CPU")
    # Warm up (filter designs, lazy imports, first-touch of memory) on 10 minutes first.
    warm = int(600 * args.rate)
    analyze(recording.t_s[:warm], recording.acc[:warm], fs_hz=args.rate)
    result, wall, cpu = timed(lambda: analyze(recording.t_s, recording.acc, fs_hz=args.rate))
    print(f"analysis: {wall:.2f} s wall, {cpu:.2f} s CPU, {duration / wall:,.0f}x real time "
          f"({len(result.ic_t_s):,} steps, {len(result.bouts)} bouts)")
    target = 2.0 * args.hours / 24.0
    verdict = "meets" if wall <= target else "MISSES"
    print(f"target: analysis under {target:.2f} s for this length -> {verdict}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
