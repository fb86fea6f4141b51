"""CSV recordings read as a stream of sample chunks, so memory does not grow with length.

``csv_chunks`` parses the analysis CSV layout (data/csv-format.md) with the
pandas C engine ``CHUNK_ROWS`` rows at a time and yields ``SampleChunk``s
(rows numbered from the first data row, for error lines). Each chunk is
checked like a whole file is by ``read_csv`` (header, numbers); the analysis
checks the samples themselves per chunk (``analysis.streaming``), so a repair
or check that works on one chunk at a time can be added between the two.

``recording_chunks`` is what ``analyze`` streams: a small plain file is parsed at
once by numpy instead (importing pandas costs more CPU than analysing a short walk),
and only when every line is plain finite numbers; anything else in it is
``NotStreamable``, so the tolerant whole-file reader (``csv_file``) takes it as before.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analysis.streaming import NotStreamable, SampleChunk
from stridewatch.inputs import ACC_COLUMNS, GYRO_COLUMNS, InputFileError

CHUNK_ROWS = 1 << 15  # ~5.5 min at 100 Hz: parsing cost per row is flat from here on, memory is not
#: Plain-layout CSV files larger than this are parsed by pandas a chunk at a time; smaller
#: ones (up to ~45 min at 100 Hz with gyro) at once by numpy, which is slower per row than
#: the pandas C engine but costs no pandas import (~0.5 s CPU): numpy wins below this size.
STREAM_ABOVE_BYTES = 16 << 20
PLAIN_HEADERS = ("t,ax,ay,az", "t,ax,ay,az,gx,gy,gz")


class TimeNotInSeconds(NotStreamable):
    """A plain-layout file whose time column is not seconds from the start (ms, us, ns or
    Unix time): not streamed here; the table stream (``table_stream``) reads it, deciding
    the unit as the whole-file reader does."""


def streamable(path: Path, time_unit: str | None = None) -> bool:
    """Whether a file is a CSV in the plain layout (``PLAIN_HEADERS``, comma-separated,
    time in seconds): the ones streamed (``recording_chunks``). Header aliases, units in the
    header, other separators and ``--time-unit`` go through ``stridewatch.inputs.csv_file``,
    which reads the file whole; so do recordings whose clock needs repairs (see
    ``analysis.streaming``) and small files that are not plain numbers throughout."""
    if time_unit not in (None, "s") or path.suffix.lower() != ".csv":
        return False
    try:
        with open(path, encoding="utf-8", errors="strict") as handle:
            header = handle.readline(1 << 10)
    except (OSError, UnicodeDecodeError):
        return False
    return header.replace(" ", "").strip() in PLAIN_HEADERS


def recording_chunks(path: Path) -> Iterator[SampleChunk]:
    """The chunks of a ``streamable`` file: ``csv_chunks`` for a large file; a small one as
    one chunk parsed by numpy, or ``NotStreamable`` (raised when iterated) unless every
    line after the header holds the header's number of finite numbers."""
    if path.stat().st_size > STREAM_ABOVE_BYTES:
        return csv_chunks(path)
    return _small_plain_chunks(path)


def _small_plain_chunks(path: Path) -> Iterator[SampleChunk]:
    try:
        text = path.read_bytes()
        header = text[: text.find(b"\n") + 1 or len(text)]
        width = header.count(b",") + 1
        if not text[len(header):].strip():
            raise ValueError("no samples after the header")
        data = np.loadtxt(io.BytesIO(text), delimiter=",", skiprows=1, comments=None,
                          dtype=np.float64, ndmin=2, encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise NotStreamable("not plain numbers: read whole") from exc
    lines = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
    # np.loadtxt skips blank lines, which the whole-file reader counts (and may repair)
    if (len(data) == 0 or len(data) != lines - 1 or data.shape[1] != width
            or not np.isfinite(data).all()):
        raise NotStreamable("not plain finite numbers on every line: read whole")
    _check_seconds(data[:, 0])
    yield SampleChunk(t_s=data[:, 0], acc=data[:, 1:4],
                      gyro_dps=data[:, 4:7] if width == 7 else None, first_row=0)


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
            if first_row == 0:
                _check_seconds(data[:, 0])
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


def _check_seconds(t: np.ndarray) -> None:
    """The stream reads time as seconds from the start: a column the readers would take as
    ms, us, ns or Unix time is not streamed here (``TimeNotInSeconds``)."""
    from analysis.timebase import detect_time_unit

    unit = detect_time_unit(t)
    if unit.unit != "s" or unit.epoch:
        raise TimeNotInSeconds(f"time column in {unit.describe()}")

