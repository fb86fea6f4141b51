"""Axivity ``.cwa`` and ActiGraph ``.gt3x`` files, read with the ``actfast`` library.

actfast (Child Mind Institute; Rust, numpy only) reads both formats and
checks their blocks; it is an optional dependency: ``pip install
"stridewatch[devices]"``. Acceleration comes in g, times as int64 Unix
nanoseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.timebase import TimeUnit, to_seconds
from stridewatch.inputs.recording import InputFileError, Recording

EXTRA = "devices"
FORMAT_NAMES = {"cwa": "Axivity .cwa", "gt3x": "ActiGraph .gt3x"}


def read_actfast(path: Path, fmt: str, units: str | None = None) -> Recording:
    """Acceleration (g) and angular rate where present, times from the device's stamps."""
    return samples_read(path, fmt, library_read(path, fmt, path), units)


def library_read(path: Path, fmt: str, read_path: Path) -> dict:
    """What actfast reads from ``read_path`` (``path`` itself, or a piece of it: see
    ``stridewatch.inputs.actfast_stream``); its errors name ``path``."""
    try:
        import actfast
    except ModuleNotFoundError as exc:
        raise InputFileError(
            f"{path}: reading {FORMAT_NAMES[fmt]} files needs the actfast library: "
            f'pip install "stridewatch[{EXTRA}]"'
        ) from exc
    try:
        return actfast.read(str(read_path))
    except (ValueError, OSError) as exc:
        raise InputFileError(f"{path}: damaged {FORMAT_NAMES[fmt]} file ({exc})") from exc


def acceleration_table(result: dict) -> dict | None:
    """The time series in actfast's ``result`` that holds the acceleration (None: none)."""
    return next((s for s in result.get("timeseries", {}).values() if "acceleration" in s),
                None)


def samples_read(path: Path, fmt: str, result: dict, units: str | None = None,
                 t0_ns: int | None = None) -> Recording:
    """The recording in actfast's ``result``; ``t0_ns``: the first stamp of the whole
    file when ``result`` is a later part of it (seconds count from that stamp)."""
    table = acceleration_table(result)
    if table is None or len(table["datetime"]) == 0:
        raise InputFileError(f"{path}: the {FORMAT_NAMES[fmt]} file holds no acceleration")
    stamps_ns = np.asarray(table["datetime"], dtype=np.int64)
    t_s, start_unix_s = to_seconds(stamps_ns, TimeUnit("ns", epoch=True, detected=False),
                                   t0_ns)
    acc = np.asarray(table["acceleration"], dtype=np.float64)
    gyro = table.get("gyroscope")
    gyro = None if gyro is None or len(gyro) != len(acc) else np.asarray(gyro, dtype=np.float64)
    if units not in (None, "g"):
        raise InputFileError(f"{path}: {FORMAT_NAMES[fmt]} files are read in g; "
                             f"--units {units} does not apply")
    rate = _stated_rate_hz(result.get("metadata", {}))
    return Recording(
        source=str(path), t_s=t_s, acc=acc, gyro_dps=gyro, acc_units="g",
        nominal_rate_hz=rate, format=fmt, time_unit="ns (Unix time, device clock)",
        first_data_line=None, warnings=[str(w) for w in result.get("warnings", [])],
        meta={"start_unix_s": start_unix_s},
    )


def _stated_rate_hz(metadata: dict) -> float | None:
    """The sample rate the device states in its metadata, when it states one."""
    for section in metadata.values():
        for key, value in (section or {}).items():
            if key.lower().replace("_", " ") in ("sample rate", "samplerate", "sample rate hz"):
                try:
                    rate = float(str(value).split()[0])
                except ValueError:
                    continue
                if rate > 0:
                    return rate
    return None
