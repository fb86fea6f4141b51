"""Peak memory of `analyze` on long recordings in every layout it streams.

Writes the real-signal day of benchmarks/realday.py (the mobgap-lab lower-back recordings
tiled and perturbed, with rests and gaps; 100 Hz) for each length in ``--hours`` in six
layouts: the plain CSV, a phone app's CSV (semicolons, Unix ms, m/s² and rad/s in the
header), a Polar Sensor Logger export (sensor ns since 2000, mg), an Xsens MT Manager
export (SampleTimeFine ticks, m/s², rad/s), an Axivity AX3 ``.cwa`` (packed samples) and
an ActiGraph ``.gt3x`` (both logged without a break: firmware_bridge.emulation); then runs
``python -m stridewatch analyze FILE --json`` on each and prints CPU (user + sys) and peak
RSS. Memory independent of length
means the longer file peaks where the shorter one does. ``--save``: as a clinician files
them (``--save`` into a store in the temporary folder, one session per file), which hashes
every sample for the store's identity of the recording.

    python benchmarks/reader_memory.py [--hours 1 4] [--save]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from realday import write_day  # noqa: E402
from throughput import run_child  # noqa: E402
from user_process import compile_project  # noqa: E402

from firmware_bridge.emulation.actigraph_gt3x import gt3x_bytes  # noqa: E402
from firmware_bridge.emulation.axivity_cwa import cwa_bytes  # noqa: E402

G = 9.80665
START_UNIX_S = 1_764_583_200  # 2025-12-01 10:00 UTC
POLAR_EPOCH_UNIX_S = 946_684_800
BLOCK_ROWS = 200_000


def _blocks(plain: Path):
    """The plain day's rows (t s, acc m/s², gyro deg/s), a block at a time."""
    import pandas as pd

    with pd.read_csv(plain, chunksize=BLOCK_ROWS) as reader:
        for frame in reader:
            yield frame.to_numpy(dtype=np.float64)


def write_layouts(plain: Path, folder: Path, hours: float) -> dict[str, Path]:
    paths = {
        "plain CSV": plain,
        "phone-app CSV": folder / f"phone-{hours:g}h.csv",
        "Polar Sensor Logger": folder / f"Polar_H10_1A2B3C4D_20251201100000_{hours:g}h_ACC.txt",
        "Xsens MT Manager": folder / f"MT_00B42D4F_{hours:g}h.txt",
        "Axivity .cwa": folder / f"ax3-{hours:g}h.cwa",
        "ActiGraph .gt3x": folder / f"wgt3x-{hours:g}h.gt3x",
    }
    acc_g = []
    with (paths["phone-app CSV"].open("w") as phone,
          paths["Polar Sensor Logger"].open("w") as polar,
          paths["Xsens MT Manager"].open("w") as xsens):
        phone.write("timestamp;acc_x [m/s^2];acc_y [m/s^2];acc_z [m/s^2];gyro_x [rad/s];"
                    "gyro_y [rad/s];gyro_z [rad/s]\n")
        polar.write("Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]\n")
        xsens.write("// General information:\n//  MT Manager version: 2022.2.0\n"
                    "PacketCounter\tSampleTimeFine\tAcc_X\tAcc_Y\tAcc_Z\tGyr_X\tGyr_Y\tGyr_Z\n")
        row = 0
        for block in _blocks(plain):
            t, acc, rad = block[:, 0], block[:, 1:4], np.radians(block[:, 4:7])
            ms = START_UNIX_S * 1000 + np.round(t * 1000).astype(np.int64)
            np.savetxt(phone, np.column_stack([ms, acc, rad]), delimiter=";",
                       fmt=["%d"] + ["%.5f"] * 3 + ["%.6f"] * 3)
            ns = ((START_UNIX_S - POLAR_EPOCH_UNIX_S) * 10**9
                  + np.round(t * 1e9).astype(np.int64))
            mg = np.round(acc / G * 1000).astype(np.int64)
            polar.writelines(f"2025-12-01T11:00:00.000;{n};{a};{b};{c}\n"
                             for n, (a, b, c) in zip(ns, mg, strict=True))
            ticks = (np.round(t * 10_000).astype(np.int64)) % 2**32
            packets = (row + np.arange(len(t))) % 2**16
            np.savetxt(xsens, np.column_stack([packets, ticks, acc, rad]), delimiter="\t",
                       fmt=["%d", "%d"] + ["%.6f"] * 6)
            acc_g.append(acc / G)
            row += len(t)
    acc_g = np.vstack(acc_g)
    paths["Axivity .cwa"].write_bytes(cwa_bytes(acc_g, start_unix_s=START_UNIX_S,
                                                layout="packed"))
    paths["ActiGraph .gt3x"].write_bytes(gt3x_bytes(acc_g, start_unix_s=START_UNIX_S))
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--save", action="store_true",
                        help="save each session into a store (analyze --save --db)")
    args = parser.parse_args()
    compile_project()  # the children load byte-compiled modules, as an installation does
    peaks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for hours in args.hours:
            plain = folder / f"day-{hours:g}h.csv"
            rows = write_day(plain, hours)
            for layout, path in write_layouts(plain, folder, hours).items():
                save = ["--save", "--db", str(folder / "store.db")] if args.save else []
                cpu, wall, rss = run_child(["-m", "stridewatch", "analyze", str(path),
                                            "--json", *save])
                peaks.setdefault(layout, []).append(rss)
                print(f"{hours:g} h ({rows:,} rows), {layout}: "
                      f"{path.stat().st_size / 1e6:.0f} MB, {cpu:.2f} s CPU, {wall:.2f} s wall, "
                      f"peak RSS {rss:.0f} MB")
                path.unlink()
    if len(args.hours) > 1:
        for layout, rss in peaks.items():
            flat = rss[-1] <= rss[0] * 1.10
            print(f"{layout}: peak {' -> '.join(f'{r:.0f}' for r in rss)} MB "
                  f"({'flat' if flat else 'GROWS'} with length)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
