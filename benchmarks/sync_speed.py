"""Sync speed: is the link, not our code, setting the pace of `stridewatch sync`?

An emulated Verity Sense (bumble, in process) holds one recording of ``--minutes`` of
walking at 52 Hz and sends its file at ``--throughput`` bytes per second (Polar reports
about 15 kB/s, polar-ble-sdk issue #538) in real time. The script runs the real sync
(connect, list, download with the progress line, verify, write the trace, analyse,
store) and prints the whole sync time next to the pure transfer time (file bytes /
throughput). Target: sync time ≤ 1.2 × transfer time.

    python benchmarks/sync_speed.py [--minutes 60] [--throughput 15000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware_bridge.emulation.emulated_offline import emulated_verity_sense  # noqa: E402
from firmware_bridge.emulation.synthetic_walk import synthetic_walk  # noqa: E402
from firmware_bridge.emulation.verity_sense import SenseBehaviour  # noqa: E402
from stridewatch.cli.options import default_rules  # noqa: E402
from stridewatch.sync.polar import SyncOptions, sync_polar  # noqa: E402

TARGET_RATIO = 1.2


async def measure(minutes: float, throughput: float, tmp: Path) -> tuple[int, float, float]:
    walk = synthetic_walk(minutes * 60.0 - 10.0, rate_hz=52.0, seed=5)
    behaviour = SenseBehaviour(throughput_bytes_per_s=throughput, part_bytes=10**9)
    async with emulated_verity_sense([(datetime(2025, 1, 6, 7, 0), walk.acc_g)],
                                     time_scale=1.0, behaviour=behaviour) as sensor:
        size = sum(len(data) for data in sensor.sense.files.values())
        options = SyncOptions(db=tmp / "s.db", traces_dir=tmp / "traces",
                              rules=default_rules(), out=sys.stderr)
        start = time.perf_counter()
        report = await sync_polar(sensor.ble_device, options, backend=sensor.client_backend)
        total = time.perf_counter() - start
    assert len(report.stored) == 1
    return size, total, report.download_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--throughput", type=float, default=15000.0, help="bytes per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        size, total, download = asyncio.run(measure(args.minutes, args.throughput, Path(tmp)))
    transfer = size / args.throughput
    ratio = total / transfer
    print(f"recording: {args.minutes:g} min at 52 Hz, {size / 1000:.0f} kB on the sensor")
    print(f"pure transfer time at {args.throughput / 1000:g} kB/s: {transfer:.1f} s")
    print(f"download phase (all requests and responses): {download:.1f} s")
    print(f"whole sync (connect, list, download, verify, trace, analyse, store): {total:.1f} s")
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"sync / transfer = {ratio:.2f} (target <= {TARGET_RATIO}) -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
