"""Xsens MT Manager text exports (MTw, MTi, DOT via MT Manager "Export ASCII").

Layout (as MT Manager writes it): lines starting ``//`` (software, device
and settings; some versions state ``Update Rate: 100.0Hz``), then one
tab-separated header row naming ``PacketCounter``, ``SampleTimeFine``,
``Acc_X/Y/Z`` (m/s²), ``Gyr_X/Y/Z`` (rad/s) and other outputs, then one row per
sample. ``SampleTimeFine`` counts 10 kHz ticks in an unsigned 32-bit counter
(it wraps after ~4.97 days); ``PacketCounter`` is a 16-bit counter. Rows the
export left without acceleration (missed packets) are skipped with a warning.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from stridewatch.inputs.columns import GYRO_ROLES, find_columns
from stridewatch.inputs.csv_file import sniff_delimiter
from stridewatch.inputs.recording import InputFileError, Recording, one_line
from stridewatch.inputs.table import numeric_column

SAMPLE_TIME_FINE_HZ = 10_000.0
SAMPLE_TIME_FINE_WRAP = 2**32
PACKET_COUNTER_WRAP = 2**16


def _unwrap(counter: np.ndarray, wrap: int) -> np.ndarray:
    steps = np.diff(counter.astype(np.int64))
    steps[steps < -wrap // 2] += wrap
    return np.r_[0, np.cumsum(steps)] + int(counter[0])


def read_xsens_text(path: Path, units: str | None = None,
                    time_unit: str | None = None) -> Recording:
    """Samples of an MT Manager text export (acceleration in m/s², angular rate in deg/s)."""
    comments: list[str] = []
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if not line.startswith("//"):
                header = line
                break
            comments.append(line)
        else:
            raise InputFileError(f"{path}, line {len(comments) + 1}: no header row after the "
                                 "// comment lines")
    header_line = len(comments) + 1
    try:
        frame = pd.read_csv(path, sep=sniff_delimiter(header), skiprows=len(comments),
                            low_memory=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(f"{path}: not a readable Xsens text export "
                             f"({one_line(exc)})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    headers = list(frame.columns)
    first_data_line = header_line + 1
    # Acc_X etc. and Gyr_X etc. through the common aliases; time from the counters below
    columns = find_columns(["t", *headers], str(path), header_line)
    acc = np.column_stack([
        numeric_column(frame, columns[r].header, str(path), first_data_line, columns[r].header)
        for r in ("ax", "ay", "az")
    ]).astype(np.float64)
    warnings: list[str] = []
    present = np.isfinite(acc).all(axis=1)
    time_column, rate_hz = _time_source(frame, comments)
    if time_column is None:
        raise InputFileError(f"{path}, line {header_line}: no SampleTimeFine values and no "
                             "PacketCounter with an 'Update Rate' comment: cannot time the samples")
    counter = numeric_column(frame, time_column, str(path), first_data_line, time_column)
    present &= np.isfinite(np.asarray(counter, dtype=np.float64))
    if not present.any():
        raise InputFileError(f"{path}: no row has both a time and an acceleration")
    if not present.all():
        skipped = int((~present).sum())
        warnings.append(f"{skipped} row{'s' if skipped > 1 else ''} without acceleration or "
                        "time (packets the export left empty) skipped")
    if time_column == "SampleTimeFine":
        ticks = _unwrap(np.asarray(counter[present], dtype=np.int64), SAMPLE_TIME_FINE_WRAP)
        t_s = (ticks - ticks[0]) / SAMPLE_TIME_FINE_HZ
    else:
        packets = _unwrap(np.asarray(counter[present], dtype=np.int64), PACKET_COUNTER_WRAP)
        t_s = (packets - packets[0]) / rate_hz
    gyro = None
    if all(r in columns for r in GYRO_ROLES):
        gyro = np.column_stack([
            numeric_column(frame, columns[r].header, str(path), first_data_line,
                           columns[r].header) for r in GYRO_ROLES
        ]).astype(np.float64)[present]
        if not np.isfinite(gyro).all():
            gyro = None
            warnings.append("angular rate incomplete; not used")
        else:
            gyro = np.degrees(gyro)  # MT Manager exports rate of turn in rad/s
    if units is None and columns["ax"].unit in ("g", "mg"):
        raise InputFileError(f"{path}, line {header_line}: unexpected acceleration unit "
                             f"{columns['ax'].unit} for an Xsens export (m/s² expected)")
    recording = Recording(
        source=str(path), t_s=t_s, acc=acc[present], gyro_dps=gyro,
        acc_units=units or "m/s2", nominal_rate_hz=rate_hz, format="xsens-text",
        time_unit=("SampleTimeFine (10 kHz ticks)" if time_column == "SampleTimeFine"
                   else f"PacketCounter at {rate_hz:g} Hz"),
        warnings=warnings, first_data_line=None if not present.all() else first_data_line,
    )
    return recording


def _time_source(frame: pd.DataFrame, comments: list[str]) -> tuple[str | None, float | None]:
    rate = None
    for line in comments:
        match = re.search(r"update\s*rate\s*:?\s*([0-9.]+)\s*hz", line, re.IGNORECASE)
        if match:
            rate = float(match.group(1))
    if "SampleTimeFine" in frame.columns:
        values = pd.to_numeric(frame["SampleTimeFine"], errors="coerce")
        if values.notna().mean() > 0.5:
            return "SampleTimeFine", rate
    if "PacketCounter" in frame.columns and rate:
        return "PacketCounter", rate
    return None, rate
