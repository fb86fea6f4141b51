"""Polar Sensor Logger ACC exports (Polar's phone app for the H10, Verity Sense, OH1).

Layout (../shared/reference/sensor-protocols.md; Polar Sensor Logger's
export): semicolon-separated text, file name
``Polar_H10_<id>_<yyyymmddHHMMSS>_ACC.txt``, header
``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]``; the phone time
is ISO local time, the sensor time nanoseconds since 2000-01-01 (the device
clock, used here).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from stridewatch.inputs.columns import find_columns
from stridewatch.inputs.recording import InputFileError, Recording, one_line
from stridewatch.inputs.table import recording_from_table

#: Polar's sensor clock counts from 2000-01-01T00:00:00 UTC.
POLAR_EPOCH_UNIX_S = 946_684_800.0
SEPARATOR = ";"


def read_polar_sensor_logger(path: Path, units: str | None = None,
                             time_unit: str | None = None) -> Recording:
    """Samples of a Polar Sensor Logger ACC export (mg -> g, device clock in s)."""
    try:
        frame = pd.read_csv(path, sep=SEPARATOR, skip_blank_lines=False, low_memory=False,
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable Polar Sensor Logger export "
                             f"({one_line(exc)})") from exc
    # "Phone timestamp" (ISO text) has no role; "sensor timestamp [ns]" is the time column
    columns = find_columns([str(c) for c in frame.columns], str(path))
    recording = recording_from_table(frame, columns, source=str(path), first_data_line=2,
                                     fmt="polar-sensor-logger", units=units,
                                     time_unit=time_unit)
    return with_polar_meta(recording, path, time_unit)


def with_polar_meta(recording: Recording, path: Path, time_unit: str | None) -> Recording:
    """What a Polar Sensor Logger file says beyond its samples: the sensor its name names,
    and the sensor clock's epoch (2000-01-01). Also for an export analysed as a stream."""
    # Polar_H10_1A2B3C4D_..._ACC.txt names the sensor: its profile gives how it is worn
    name = re.match(r"Polar_(H10|OH1|Sense)_([0-9A-Fa-f]+)_", path.name)
    if name:
        model = "Verity Sense" if name.group(1) == "Sense" else name.group(1)
        recording.meta.update(profile="polar-pmd", device_name=f"Polar {model} {name.group(2)}")
    start = recording.meta.get("start_unix_s")
    if start is not None and (time_unit or "ns") == "ns":
        recording.meta["start_unix_s"] = start + POLAR_EPOCH_UNIX_S
        recording.time_unit = "ns since 2000-01-01 (Polar sensor clock)"
    return recording
