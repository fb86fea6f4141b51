"""Text tables (our CSV, Polar Sensor Logger, Xsens exports) turned into a Recording.

One place for what every text format shares: the numeric check that names
the line, units stated in the header (mg, g, m/s²; deg/s, rad/s), and the
time column's unit (stated, ``--time-unit``, or detected).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.timebase import detect_time_unit, to_seconds
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
    """Samples of the chosen ``columns`` of ``frame``.

    ``units`` (``--units``) overrides a unit stated in the header;
    ``time_unit`` (``--time-unit``) overrides the header's, which overrides
    ``time_scale_hint`` (a format's documented unit), which overrides detection.
    """
    warnings: list[str] = []
    raw_t = numeric_column(frame, columns["t"].header, source, first_data_line, "t")
    stated = time_unit or columns["t"].unit or time_scale_hint
    if len(raw_t) == 0:
        raise InputFileError(f"{source}: no samples after the header")
    finite = np.isfinite(raw_t) if raw_t.dtype.kind == "f" else np.ones(len(raw_t), bool)
    if not finite.all():
        row = int(np.argmax(~finite))
        raise InputFileError(f"{source}, line {row + first_data_line}: t is NaN or infinite "
                             "(missing value)")
    unit = detect_time_unit(raw_t, stated)
    if unit.detected and unit.unit != "s":
        warnings.append(f"time column read as {unit.unit} (detected from the sample interval; "
                        "--time-unit overrides)")
    t_s, start_unix_s = to_seconds(raw_t, unit)
    acc = np.column_stack([
        np.asarray(numeric_column(frame, columns[r].header, source, first_data_line, r),
                   dtype=np.float64) for r in ACC_ROLES
    ])
    acc_units = units
    header_unit = columns["ax"].unit
    if acc_units is None and header_unit in ACC_SCALE_TO:
        acc_units, scale = ACC_SCALE_TO[header_unit]
        if scale != 1.0:
            acc = acc * scale
    gyro = None
    if all(r in columns for r in GYRO_ROLES):
        gyro = np.column_stack([
            np.asarray(numeric_column(frame, columns[r].header, source, first_data_line, r),
                       dtype=np.float64) for r in GYRO_ROLES
        ])
        if columns["gx"].unit == "rad/s":
            gyro = np.degrees(gyro)
    meta = {} if start_unix_s is None else {"start_unix_s": start_unix_s}
    return Recording(
        source=source, t_s=t_s, acc=acc, gyro_dps=gyro, acc_units=acc_units, meta=meta,
        format=fmt, time_unit=unit.describe(), warnings=warnings,
        first_data_line=first_data_line,
    )
