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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stridewatch.inputs.columns import GYRO_ROLES, find_columns
from stridewatch.inputs.csv_file import sniff_delimiter
from stridewatch.inputs.recording import InputFileError, Recording, one_line
from stridewatch.inputs.table import numeric_column

if TYPE_CHECKING:
    from analysis.streaming import SampleChunk

SAMPLE_TIME_FINE_HZ = 10_000.0
SAMPLE_TIME_FINE_WRAP = 2**32
PACKET_COUNTER_WRAP = 2**16


def _unwrap(counter: np.ndarray, wrap: int,
            previous: tuple[int, int] | None = None) -> np.ndarray:
    """A wrapping counter made monotonic. ``previous``: the raw and unwrapped value of the
    counter's sample before these (the previous chunk's last), to continue from."""
    if previous is None:
        steps = np.diff(counter.astype(np.int64))
        start = int(counter[0])
    else:
        steps = np.diff(np.r_[np.int64(previous[0]), counter.astype(np.int64)])
        start = previous[1]
    steps[steps < -wrap // 2] += wrap
    if previous is None:
        return np.r_[0, np.cumsum(steps)] + start
    return np.cumsum(steps) + start


def _comments_and_header(path: Path) -> tuple[list[str], str]:
    """The ``//`` lines at the top of an export and the header row after them."""
    comments: list[str] = []
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if not line.startswith("//"):
                return comments, line
            comments.append(line)
    raise InputFileError(f"{path}, line {len(comments) + 1}: no header row after the "
                         "// comment lines")


def read_xsens_text(path: Path, units: str | None = None,
                    time_unit: str | None = None) -> Recording:
    """Samples of an MT Manager text export (acceleration in m/s², angular rate in deg/s)."""
    comments, header = _comments_and_header(path)
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
        time_unit=_time_text(time_column, rate_hz),
        warnings=warnings, first_data_line=None if not present.all() else first_data_line,
    )
    return recording


def _update_rate_hz(comments: list[str]) -> float | None:
    """The rate an ``Update Rate: 100.0Hz`` comment states (the last one), if any."""
    rate = None
    for line in comments:
        match = re.search(r"update\s*rate\s*:?\s*([0-9.]+)\s*hz", line, re.IGNORECASE)
        if match:
            rate = float(match.group(1))
    return rate


def _time_source(frame: pd.DataFrame, comments: list[str]) -> tuple[str | None, float | None]:
    rate = _update_rate_hz(comments)
    if "SampleTimeFine" in frame.columns:
        values = pd.to_numeric(frame["SampleTimeFine"], errors="coerce")
        if values.notna().mean() > 0.5:
            return "SampleTimeFine", rate
    if "PacketCounter" in frame.columns and rate:
        return "PacketCounter", rate
    return None, rate


def _time_text(time_column: str, rate_hz: float | None) -> str:
    return ("SampleTimeFine (10 kHz ticks)" if time_column == "SampleTimeFine"
            else f"PacketCounter at {rate_hz:g} Hz")


class XsensStream:
    """A long export analysed as a stream (``stridewatch.inputs.table_stream``): only one in
    which every row has its time and acceleration and every angular rate is finite, so no
    row is skipped and nothing is decided on the whole file; anything else is read whole
    (``NotStreamable``), which then skips and warns as ``read_xsens_text`` does."""

    def __init__(self, path: Path, units: str | None, chunk_rows: int) -> None:
        from analysis.streaming import NotStreamable

        self.path, self._chunk_rows = path, chunk_rows
        comments, header = _comments_and_header(path)
        self._header_line = len(comments) + 1
        self._read = dict(sep=sniff_delimiter(header), skiprows=len(comments),
                          encoding="utf-8-sig")
        try:
            names = [str(c) for c in pd.read_csv(path, nrows=0, **self._read).columns]
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise NotStreamable(f"header not read as a stream: {exc}") from exc
        self._names, self._stripped = names, [n.strip() for n in names]
        columns = find_columns(["t", *self._stripped], str(path), self._header_line)
        if units is None and columns["ax"].unit in ("g", "mg"):
            raise NotStreamable("unexpected acceleration unit: read whole for the error")
        rate_hz = _update_rate_hz(comments)
        if "SampleTimeFine" in self._stripped:
            self._time, self._wrap = "SampleTimeFine", SAMPLE_TIME_FINE_WRAP
        elif "PacketCounter" in self._stripped and rate_hz:
            self._time, self._wrap = "PacketCounter", PACKET_COUNTER_WRAP
        else:
            raise NotStreamable("no time column: read whole for the error")
        self._acc = [columns[r].header for r in ("ax", "ay", "az")]
        self._gyro = ([columns[r].header for r in GYRO_ROLES]
                      if all(r in columns for r in GYRO_ROLES) else [])
        self._rate_hz = rate_hz
        self.acc_units = units or "m/s2"
        self.recording = Recording(
            source=str(path), t_s=np.zeros(0), acc=np.zeros((0, 3)), gyro_dps=None,
            acc_units=self.acc_units, nominal_rate_hz=rate_hz, format="xsens-text",
            time_unit=_time_text(self._time, rate_hz), first_data_line=self._header_line + 1)

    def chunks(self) -> Iterator[SampleChunk]:
        """The samples, chunk by chunk (``NotStreamable`` when iterated: read it whole)."""
        from analysis.streaming import NotStreamable, SampleChunk
        from stridewatch.inputs.table_stream import frames_read_alike

        source, first_row = str(self.path), 0
        used = [self._names[self._stripped.index(h)]
                for h in (*self._acc, self._time, *self._gyro)]
        previous: tuple[int, int] | None = None
        first_tick = 0
        for frame in frames_read_alike(self.path, self._read, self._names, used,
                                       self._chunk_rows):
            frame.columns = self._stripped
            line = self._header_line + 1 + first_row
            acc = np.column_stack([numeric_column(frame, h, source, line, h)
                                   for h in self._acc]).astype(np.float64)
            counter = np.asarray(numeric_column(frame, self._time, source, line, self._time))
            gyro = (np.column_stack([numeric_column(frame, h, source, line, h)
                                     for h in self._gyro]).astype(np.float64)
                    if self._gyro else None)
            if (not np.isfinite(acc).all() or not np.isfinite(counter.astype(np.float64)).all()
                    or (gyro is not None and not np.isfinite(gyro).all())):
                raise NotStreamable("a row without time, acceleration or angular rate")
            ticks = _unwrap(counter.astype(np.int64), self._wrap, previous)
            if previous is None:
                first_tick = int(ticks[0])
            previous = (int(counter[-1]), int(ticks[-1]))
            scale = SAMPLE_TIME_FINE_HZ if self._time == "SampleTimeFine" else self._rate_hz
            yield SampleChunk(t_s=(ticks - first_tick) / scale, acc=acc,
                              gyro_dps=None if gyro is None else np.degrees(gyro),
                              first_row=first_row)
            first_row += len(frame)
        if not first_row:
            raise NotStreamable("no samples: read whole for the error")
