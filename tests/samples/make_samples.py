"""Writes the small reader samples in this folder from a synthetic walk (analysis.simulate).

    python tests/samples/make_samples.py

Each file follows its maker's documented layout (see the reader modules in
stridewatch/inputs/ for the sources); the walk is the same 8 s at 110
steps/min so every sample analyses to the same steps. The truth is
``walk-truth.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from analysis.simulate import Phase, simulate_walk  # noqa: E402
from analysis.units import STANDARD_GRAVITY_MPS2  # noqa: E402

RATE_HZ = 100.0
POLAR_EPOCH_UNIX_S = 946_684_800
START_UNIX_S = 1_764_583_200  # 2025-12-01 10:00 UTC


def walk() -> tuple[np.ndarray, np.ndarray, list]:
    sim = simulate_walk([Phase("walk", 8.0, cadence_spm=110)], fs_hz=RATE_HZ, seed=7)
    acc_g = sim.acc if np.median(np.linalg.norm(sim.acc, axis=1)) < 5 else (
        sim.acc / STANDARD_GRAVITY_MPS2)
    return sim.t_s, acc_g, sim.truth["initial_contacts"]


def polar_sensor_logger(t: np.ndarray, acc_g: np.ndarray) -> None:
    # Polar_H10_<id>_<yyyymmddHHMMSS>_ACC.txt; sensor time ns since 2000-01-01
    path = HERE / "Polar_H10_1A2B3C4D_20251201100000_ACC.txt"
    sensor_ns = (START_UNIX_S - POLAR_EPOCH_UNIX_S) * 10**9 + np.round(t * 1e9).astype(np.int64)
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    for i, (ns, a) in enumerate(zip(sensor_ns, np.round(acc_g * 1000).astype(int), strict=True)):
        phone = f"2025-12-01T11:00:{i // 100:02d}.{(i % 100) * 10:03d}"
        lines.append(f"{phone};{ns};{a[0]};{a[1]};{a[2]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def xsens_text(t: np.ndarray, acc_g: np.ndarray) -> None:
    path = HERE / "MT_00B42D4F_000-000_00B42D4F.txt"
    comments = [
        "// General information:",
        "//  MT Manager version: 2022.2.0",
        "// Device information:",
        "//  DeviceId: 00B42D4F",
        "//  ProductCode: MTW2-3A7G6",
        "// Device settings:",
        "//  Filter Profile: human(46.1)",
        "// Coordinate system: ENU",
    ]
    header = "PacketCounter\tSampleTimeFine\tAcc_X\tAcc_Y\tAcc_Z\tGyr_X\tGyr_Y\tGyr_Z"
    rows = []
    ticks0 = 2**32 - 20_000  # SampleTimeFine wraps 2 s into the sample
    for i, (ti, a) in enumerate(zip(t, acc_g * STANDARD_GRAVITY_MPS2, strict=True)):
        ticks = (ticks0 + int(round(ti * 10_000))) % 2**32
        rows.append(f"{(65_000 + i) % 65_536}\t{ticks}\t{a[0]:.6f}\t{a[1]:.6f}\t{a[2]:.6f}"
                    "\t0.001960\t-0.000371\t0.005926")
    rows[300] = f"{(65_000 + 300) % 65_536}\t" + "\t".join(["NaN"] * 7)  # a packet left empty
    path.write_text("\n".join([*comments, header, *rows]) + "\n", encoding="utf-8")


def _mobilise_d_data(t: np.ndarray, acc_g: np.ndarray) -> dict:
    """The ``data`` struct of a Mobilise-D data.mat: two trials of the walk (whole, first 5 s),
    the same in the v7 and the v7.3 file."""
    def trial(part: slice) -> dict:
        return {"StartDateTime": "2025-12-01T10:00:00.000", "TimeZone": "Europe/Berlin",
                "SU": {"LowerBack": {
                    "Acc": acc_g[part], "Gyr": np.zeros_like(acc_g[part]),
                    "Fs": {"Acc": RATE_HZ, "Gyr": RATE_HZ},
                    "Timestamp": START_UNIX_S + t[part]}}}

    return {"TimeMeasure1": {"Test5": {"Trial1": trial(slice(None)),
                                       "Trial2": trial(slice(0, 500))}}}


def mobilise_d_mat(t: np.ndarray, acc_g: np.ndarray) -> None:
    from scipy.io import savemat

    savemat(HERE / "data.mat", {"data": _mobilise_d_data(t, acc_g)}, do_compression=True)


MAT73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  1 10:00:00 2025 " \
    b"HDF5 schema 1.00 ."


def mobilise_d_mat73(t: np.ndarray, acc_g: np.ndarray) -> None:
    """The same trials as data.mat, saved the way MATLAB ``save -v7.3`` lays them out: HDF5
    after a 512-byte user block holding the 128-byte MAT header (116 bytes of text, 8 bytes
    subsystem offset, version 0x0200, endian "IM"); structs as groups (MATLAB_class "struct",
    MATLAB_fields = the field names as variable-length arrays of single characters);
    numeric arrays as float64 datasets with the dimensions reversed (column-major: N x 3 is
    stored 3 x N); char arrays as uint16 codes (MATLAB_int_decode 2)."""
    import h5py

    names_dtype = h5py.vlen_dtype(np.dtype("S1"))

    def write(group: h5py.Group, fields: dict) -> None:
        group.attrs["MATLAB_class"] = np.bytes_("struct")
        names = np.empty(len(fields), dtype=object)
        names[:] = [np.frombuffer(k.encode("ascii"), dtype="S1") for k in fields]
        group.attrs.create("MATLAB_fields", names, dtype=names_dtype)
        for key, value in fields.items():
            if isinstance(value, dict):
                write(group.create_group(key), value)
            elif isinstance(value, str):
                codes = np.array([[ord(c)] for c in value], dtype=np.uint16)  # 1 x n -> n x 1
                ds = group.create_dataset(key, data=codes)
                ds.attrs["MATLAB_class"] = np.bytes_("char")
                ds.attrs["MATLAB_int_decode"] = np.int32(2)
            else:
                matrix = np.asarray(value, dtype=np.float64)
                matrix = matrix.reshape(-1, 1) if matrix.ndim == 1 else np.atleast_2d(matrix)
                ds = group.create_dataset(key, data=matrix.T, compression="gzip")  # as MATLAB
                ds.attrs["MATLAB_class"] = np.bytes_("double")

    path = HERE / "data-v7.3.mat"
    with h5py.File(path, "w", userblock_size=512) as root:
        write(root.create_group("data"), _mobilise_d_data(t, acc_g))
    header = MAT73_HEADER.ljust(116, b" ") + b" " * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as handle:
        handle.write(header.ljust(512, b"\0"))


def actigraph_gt3x(acc_g: np.ndarray) -> None:
    """ActiGraph's GT3X layout (firmware_bridge.emulation.actigraph_gt3x)."""
    from firmware_bridge.emulation.actigraph_gt3x import gt3x_bytes

    (HERE / "walk.gt3x").write_bytes(gt3x_bytes(acc_g, start_unix_s=START_UNIX_S,
                                                rate_hz=int(RATE_HZ)))


def axivity_cwa(acc_g: np.ndarray) -> None:
    """Axivity AX3 layout, 3 axes of int16 (firmware_bridge.emulation.axivity_cwa)."""
    from firmware_bridge.emulation.axivity_cwa import cwa_bytes

    (HERE / "walk.cwa").write_bytes(cwa_bytes(acc_g, start_unix_s=START_UNIX_S,
                                              rate_hz=RATE_HZ, layout="int16",
                                              logging_end_unix_s=START_UNIX_S + 3600))


def main() -> None:
    t, acc_g, contacts = walk()
    (HERE / "walk-truth.json").write_text(json.dumps(
        {"rate_hz": RATE_HZ, "initial_contacts": contacts}, indent=1) + "\n")
    polar_sensor_logger(t, acc_g)
    xsens_text(t, acc_g)
    mobilise_d_mat(t, acc_g)
    mobilise_d_mat73(t, acc_g)
    actigraph_gt3x(acc_g)
    axivity_cwa(acc_g)


if __name__ == "__main__":
    main()
