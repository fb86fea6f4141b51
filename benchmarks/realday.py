"""A long real-signal recording: the mobgap-lab lower-back recordings tiled into a day.

Each walking stretch is a random crop of one of the eight real recordings
(../shared/data/mobgap-lab), perturbed so no two bouts are alike: time
stretched ±6 % (cadence), dynamic part scaled ±15 %, the sensor rotated by up
to 10°, and a little white noise. Between them the wearer sits or stands
(gravity held, slow drift, sensor noise) for a random while, so about a
fifth of the day is detected as walking; every two hours or so a 2–4 s gap with no
samples (a radio drop). Written in the files' own layout
(``t,ax,ay,az,gx,gy,gz``; m/s², deg/s; 100 Hz) one hour at a time, so a 72 h
file needs no more memory than an hour.

    python benchmarks/realday.py --hours 6 -o day.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT.parent / "shared" / "data" / "mobgap-lab"
RATE_HZ = 100.0
NOISE_MPS2 = 0.03
WALKING_SHARE = 0.4


def _lab_recordings() -> list[np.ndarray]:
    files = sorted(LAB.glob("*.csv"))
    if not files:
        raise SystemExit(f"no recordings in {LAB} (the shared data is needed)")
    return [np.loadtxt(f, delimiter=",", skiprows=1) for f in files]


def _rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.radians(rng.uniform(-max_deg, max_deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def _walk(rng: np.random.Generator, recordings: list[np.ndarray]) -> np.ndarray:
    """One perturbed crop (n, 6): acceleration m/s², angular rate deg/s, on a 100 Hz grid."""
    rec = recordings[rng.integers(len(recordings))]
    n = len(rec)
    length = int(rng.uniform(0.5, 1.0) * n) if n > 3000 else n
    start = int(rng.integers(0, n - length + 1))
    crop = rec[start : start + length, 1:]
    stretch = rng.uniform(0.94, 1.06)
    grid = np.arange(0, (length - 1) / stretch, 1.0) * stretch
    out = np.column_stack([np.interp(grid, np.arange(length), crop[:, j]) for j in range(6)])
    acc = out[:, :3]
    mean = acc.mean(axis=0)
    acc[:] = mean + (acc - mean) * rng.uniform(0.85, 1.15)
    rot = _rotation(rng, 10.0)
    out[:, :3] = acc @ rot.T
    out[:, 3:] = out[:, 3:] @ rot.T
    out[:, :3] += rng.normal(0.0, NOISE_MPS2, size=(len(out), 3))
    return out


def _rest(rng: np.random.Generator, gravity: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """Sitting or standing for ``n`` samples: ``gravity`` drifting, then easing to ``target``."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    drift = rng.normal(0.0, 0.05, size=3) * np.sin(np.pi * t)
    ease = np.clip((np.arange(n) - (n - 100)) / 100.0, 0.0, 1.0)[:, None]
    acc = gravity + drift + (target - gravity) * ease
    acc += rng.normal(0.0, NOISE_MPS2, size=(n, 3))
    gyro = rng.normal(0.0, 0.3, size=(n, 3))
    return np.hstack([acc, gyro])


def stretches(hours: float, seed: int = 0):
    """Yield (n, 6) sample blocks and gap lengths (s) that together make ``hours``."""
    rng = np.random.default_rng(seed)
    recordings = _lab_recordings()
    total = int(hours * 3600 * RATE_HZ)
    done = 0
    gravity = np.array([9.7, 0.0, 1.0])
    next_gap = rng.uniform(1.5, 2.5) * 3600 * RATE_HZ
    while done < total:
        walk = _walk(rng, recordings)
        rest_n = int(len(walk) * rng.exponential((1 - WALKING_SHARE) / WALKING_SHARE))
        rest_n = max(rest_n, 300)
        head = walk[: min(50, len(walk)), :3].mean(axis=0)
        for block in (_rest(rng, gravity, head, rest_n), walk):
            block = block[: total - done]
            if len(block):
                yield block
                done += len(block)
        gravity = walk[-50:, :3].mean(axis=0)
        if done >= next_gap and done < total:
            yield rng.uniform(2.0, 4.0)
            next_gap += rng.uniform(1.5, 2.5) * 3600 * RATE_HZ


def write_day(path: Path, hours: float, seed: int = 0) -> int:
    """Write the recording to ``path`` (via a temporary file); return the number of rows."""
    tmp = path.with_suffix(path.suffix + ".part")
    rows = 0
    t_next = 0.0
    pending: list[np.ndarray] = []
    pending_n = 0
    with tmp.open("w", encoding="ascii") as out:
        out.write("t,ax,ay,az,gx,gy,gz\n")

        def flush() -> None:
            nonlocal pending, pending_n
            if pending:
                np.savetxt(out, np.vstack(pending), fmt=["%.2f"] + ["%.5f"] * 6, delimiter=",")
            pending, pending_n = [], 0

        for item in stretches(hours, seed):
            if isinstance(item, float):
                t_next += item
                continue
            t = t_next + np.arange(len(item)) / RATE_HZ
            t_next = t[-1] + 1.0 / RATE_HZ
            pending.append(np.column_stack([t, item]))
            pending_n += len(item)
            rows += len(item)
            if pending_n >= 360_000:
                flush()
        flush()
    tmp.replace(path)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    rows = write_day(Path(args.output), args.hours, args.seed)
    print(f"{args.output}: {rows:,} rows, {Path(args.output).stat().st_size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
