"""Text tables (our CSV, Polar Sensor Logger, Xsens exports) turned into a Recording.

One place for what every text format shares: the numeric check that names
the line, units stated in the header (mg, g, m/s²; deg/s, rad/s), and the
time column's unit (stated, ``--time-unit``, or detected).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.timebase import TimeUnit, detect_time_unit, to_seconds
from stridewatch.inputs.columns import ACC_ROLES, GYRO_ROLES, Column
from stridewatch.inputs.recording import InputFileError, Recording

ACC_SCALE_TO = {"g": ("g", 1.0), "mg": ("g", 1e-3), "m/s2": ("m/s2", 1.0)}


def numeric_column(frame: pd.DataFrame, name: str | int, source: str, first_data_line: int,
                   label: str) -> np.ndarray:
    """A column as numbers (integers kept exact); a cell that is not a number names its line."""
    values = frame[name]
    if not pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
        bad = numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise InputFileError(
                f"{source}, line {row + first_data_line}: column {label}: "
                f"{values.iloc[row]!r} is not a number"
            )
        values = numbers
    return values.to_numpy()


class TableSamples:
    """How the chosen ``columns`` of a text table become samples: the time unit decided once,
    from the first stamps (``detect_time_unit`` looks at no more than its first 200,001), the
    acceleration scale and gyro unit from the header; then applied with the same arithmetic to
    the whole table (``recording_from_table``) or to each chunk of it in turn
    (``stridewatch.inputs.table_stream``).

    ``units`` (``--units``) overrides a unit stated in the header;
    ``time_unit`` (``--time-unit``) overrides the header's, which overrides
    ``time_scale_hint`` (a format's documented unit), which overrides detection.
    """

    def __init__(self, columns: dict[str, Column], *, source: str, units: str | None = None,
                 time_unit: str | None = None, time_scale_hint: str | None = None) -> None:
        self.columns, self.source = columns, source
        self.stated_time_unit = time_unit or columns["t"].unit or time_scale_hint
        self.acc_units, self._acc_scale = units, 1.0
        if units is None and columns["ax"].unit in ACC_SCALE_TO:
            self.acc_units, self._acc_scale = ACC_SCALE_TO[columns["ax"].unit]
        self.has_gyro = all(r in columns for r in GYRO_ROLES)
        self.time: TimeUnit | None = None
        self.warnings: list[str] = []
        self.start_unix_s: float | None = None
        self._t0: object = None

    def raw_time(self, frame: pd.DataFrame, first_data_line: int) -> np.ndarray:
        """The time column as read (integers kept exact); NaN or infinite is an error."""
        raw_t = numeric_column(frame, self.columns["t"].header, self.source, first_data_line,
                               "t")
        finite = np.isfinite(raw_t) if raw_t.dtype.kind == "f" else np.ones(len(raw_t), bool)
        if not finite.all():
            row = int(np.argmax(~finite))
            raise InputFileError(f"{self.source}, line {row + first_data_line}: t is NaN or "
                                 "infinite (missing value)")
        return raw_t

    def start(self, first_raw_t: np.ndarray) -> None:
        """Decide the time unit from the first stamps of the table (at least 200,001 of them,
        or all there are)."""
        self.time = detect_time_unit(first_raw_t, self.stated_time_unit)
        if self.time.detected and self.time.unit != "s":
            self.warnings.append(f"time column read as {self.time.unit} (detected from the "
                                 "sample interval; --time-unit overrides)")
        self._t0 = first_raw_t[0]
        self.start_unix_s = to_seconds(first_raw_t[:1], self.time)[1]

    def seconds(self, raw_t: np.ndarray) -> np.ndarray:
        """Seconds of raw stamps (Unix time counted from the table's first stamp)."""
        assert self.time is not None, "start() first"
        return to_seconds(raw_t, self.time, t0_raw=self._t0)[0]

    def acc(self, frame: pd.DataFrame, first_data_line: int) -> np.ndarray:
        """Acceleration (n,3) in ``acc_units`` (mg scaled to g)."""
        acc = np.column_stack([
            np.asarray(numeric_column(frame, self.columns[r].header, self.source,
                                      first_data_line, r), dtype=np.float64)
            for r in ACC_ROLES
        ])
        return acc * self._acc_scale if self._acc_scale != 1.0 else acc

    def gyro(self, frame: pd.DataFrame, first_data_line: int) -> np.ndarray | None:
        """Angular rate (n,3) in deg/s, or None without gyro columns."""
        if not self.has_gyro:
            return None
        gyro = np.column_stack([
            np.asarray(numeric_column(frame, self.columns[r].header, self.source,
                                      first_data_line, r), dtype=np.float64)
            for r in GYRO_ROLES
        ])
        return np.degrees(gyro) if self.columns["gx"].unit == "rad/s" else gyro

    def recording(self, t_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None, *,
                  fmt: str, first_data_line: int) -> Recording:
        """The Recording of these samples (empty arrays for a table analysed as a stream)."""
        assert self.time is not None, "start() first"
        meta = {} if self.start_unix_s is None else {"start_unix_s": self.start_unix_s}
        return Recording(
            source=self.source, t_s=t_s, acc=acc, gyro_dps=gyro, acc_units=self.acc_units,
            meta=meta, format=fmt, time_unit=self.time.describe(),
            warnings=list(self.warnings), first_data_line=first_data_line,
        )


def recording_from_table(
    frame: pd.DataFrame,
    columns: dict[str, Column],
    *,
    source: str,
    first_data_line: int,
    fmt: str,
    units: str | None = None,
    time_unit: str | None = None,
    time_scale_hint: str | None = None,
) -> Recording:
    """Samples of the chosen ``columns`` of ``frame`` (see ``TableSamples``)."""
    table = TableSamples(columns, source=source, units=units, time_unit=time_unit,
                         time_scale_hint=time_scale_hint)
    raw_t = table.raw_time(frame, first_data_line)
    if len(raw_t) == 0:
        raise InputFileError(f"{source}: no samples after the header")
    table.start(raw_t)
    return table.recording(table.seconds(raw_t), table.acc(frame, first_data_line),
                           table.gyro(frame, first_data_line), fmt=fmt,
                           first_data_line=first_data_line)
