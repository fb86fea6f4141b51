"""Reading recordings from disk: CSV files and .swtrace traces.

The only place the analysis input touches files. Errors name the file and,
where there is one, the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.errors import InputError

ACC_COLUMNS = ("ax", "ay", "az")
GYRO_COLUMNS = ("gx", "gy", "gz")
TRACE_SUFFIX = ".swtrace"


@dataclass
class Recording:
    """Samples as read: time in s, acceleration (N,3) in ``acc_units`` (None = detect)."""

    source: str
    t_s: np.ndarray
    acc: np.ndarray
    gyro_dps: np.ndarray | None
    acc_units: str | None
    nominal_rate_hz: float | None = None
    meta: dict = field(default_factory=dict)


class InputFileError(Exception):
    """A file that cannot be read or analysed; the message names the file (and line)."""


def expand_inputs(paths: list[str]) -> list[Path]:
    """Files named, with directories expanded to their .csv and .swtrace files (sorted)."""
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix in (".csv", TRACE_SUFFIX) and p.is_file()
            )
            if not found:
                raise InputFileError(f"{path}: directory has no .csv or {TRACE_SUFFIX} files")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise InputFileError(f"{path}: no such file or directory")
    return out


def read_input(path: str | Path, units: str | None = None) -> Recording:
    """Read a CSV (``t,ax,ay,az[,gx,gy,gz]``) or a ``.swtrace`` file."""
    path = Path(path)
    if path.suffix == TRACE_SUFFIX:
        from stridewatch.inputs.swtrace import read_trace_recording

        return read_trace_recording(path, units)
    return read_csv(path, units)


def read_csv(path: Path, units: str | None = None) -> Recording:
    """Read the analysis CSV layout; see data/csv-format.md."""
    import pandas as pd  # here, not at module level: commands that read no CSV start faster

    try:
        frame = pd.read_csv(path, skip_blank_lines=False, low_memory=False)
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable CSV file ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("t", *ACC_COLUMNS) if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path}, line 1: missing column(s) {', '.join(missing)}; the header must name "
            f"t,ax,ay,az (optional gx,gy,gz); found: {', '.join(frame.columns)}"
        )
    has_gyro = all(c in frame.columns for c in GYRO_COLUMNS)
    columns = ["t", *ACC_COLUMNS, *(GYRO_COLUMNS if has_gyro else ())]
    for column in columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            numbers = pd.to_numeric(frame[column], errors="coerce")
            bad = numbers.isna() & frame[column].notna()
            if bad.any():
                row = int(np.argmax(bad.to_numpy()))
                raise InputFileError(
                    f"{path}, line {row + 2}: column {column}: {frame[column].iloc[row]!r} "
                    "is not a number"
                )
            frame[column] = numbers
    data = frame[columns].to_numpy(dtype=np.float64)
    return Recording(
        source=str(path),
        t_s=data[:, 0],
        acc=data[:, 1:4],
        gyro_dps=data[:, 4:7] if has_gyro else None,
        acc_units=units,
    )


def located(error: InputError, recording: Recording) -> InputFileError:
    """An analysis InputError turned into a message naming the file and CSV line (or sample)."""
    if recording.source.endswith(TRACE_SUFFIX) and error.row is not None:
        return InputFileError(f"{recording.source}, decoded sample {error.row}: {error.problem}")
    return InputFileError(error.located(recording.source))
