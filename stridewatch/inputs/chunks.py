"""CSV recordings read as a stream of sample chunks, so memory does not grow with length.

``csv_chunks`` parses the analysis CSV layout (data/csv-format.md) with the
pandas C engine ``CHUNK_ROWS`` rows at a time and yields ``SampleChunk``s
(rows numbered from the first data row, for error lines). Each chunk is
checked like a whole file is by ``read_csv`` (header, numbers); the analysis
checks the samples themselves per chunk (``analysis.streaming``), so a repair
or check that works on one chunk at a time can be added between the two.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analysis.streaming import SampleChunk
from stridewatch.inputs import ACC_COLUMNS, GYRO_COLUMNS, InputFileError

CHUNK_ROWS = 1 << 15  # ~5.5 min at 100 Hz: parsing cost per row is flat from here on, memory is not


def csv_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[SampleChunk]:
    """Yield the samples of a CSV file in chunks of ``chunk_rows`` rows (the last shorter)."""
    import pandas as pd  # here, not at module level: commands that read no CSV start faster

    try:
        reader = pd.read_csv(path, skip_blank_lines=False, chunksize=chunk_rows, engine="c")
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable CSV file ({exc})") from exc
    first_row = 0
    columns: list[str] | None = None
    positions: list[int] = []
    has_gyro = False
    with reader:
        while True:
            try:
                frame = next(reader)
            except StopIteration:
                break
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise InputFileError(f"{path}: not a readable CSV file ({exc})") from exc
            if columns is None:
                columns, has_gyro = _columns(path, frame)
                names = [str(c).strip() for c in frame.columns]
                positions = [names.index(c) for c in columns]
            data = np.empty((len(frame), len(columns)))
            for j, (column, at) in enumerate(zip(columns, positions, strict=True)):
                data[:, j] = _numbers(path, frame.iloc[:, at], column, first_row)
            yield SampleChunk(
                t_s=data[:, 0],
                acc=data[:, 1:4],
                gyro_dps=data[:, 4:7] if has_gyro else None,
                first_row=first_row,
            )
            first_row += len(frame)


def _columns(path: Path, frame: object) -> tuple[list[str], bool]:
    names = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("t", *ACC_COLUMNS) if c not in names]
    if missing:
        raise InputFileError(
            f"{path}, line 1: missing column(s) {', '.join(missing)}; the header must name "
            f"t,ax,ay,az (optional gx,gy,gz); found: {', '.join(names)}"
        )
    has_gyro = all(c in names for c in GYRO_COLUMNS)
    return ["t", *ACC_COLUMNS, *(GYRO_COLUMNS if has_gyro else ())], has_gyro


def _numbers(path: Path, values: object, column: str, first_row: int) -> np.ndarray:
    """One column as float64; a cell that is not a number is an error naming its line."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise InputFileError(
            f"{path}, line {first_row + row + 2}: column {column}: {values.iloc[row]!r} "
            "is not a number"
        )
    return numbers.to_numpy(dtype=np.float64)
