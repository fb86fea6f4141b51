"""Long text tables read as a stream of sample chunks: a CSV in any layout the tolerant
reader takes (``stridewatch.inputs.csv_file``: aliases, units in the header, semicolons,
Unix or nanosecond time), Polar Sensor Logger exports and Xsens MT Manager text exports
(``stridewatch.inputs.xsens_text.XsensStream``), so an hours-long phone-app or lab
recording is analysed in memory that does not grow with its length.

Read as the whole-file readers read them: pandas' C parser with their options, a chunk
of ``CHUNK_ROWS`` rows at a time, the columns found by ``find_columns``, the samples by the
same ``TableSamples``, which decides the time unit on the first ``TIME_UNIT_STAMPS``
stamps as the whole-file reader does. So each chunk's samples are the whole-file
reader's, bit for bit, as long as the chunk is read the same way; whenever it might not
be, the stream raises ``NotStreamable`` and the file is read whole, which then gives the
error or repair it always gave:

- a cell that is not a number, or a missing time;
- a column whose type changes between chunks (integers, then decimals): the whole-file
  reader would have read it all as decimals;
- a line the parser refuses (a wrong number of fields), or bytes that are not UTF-8.

Files up to ``STREAM_ABOVE_BYTES`` are always read whole (the plain layout has its own,
faster stream: ``stridewatch.inputs.chunks``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.streaming import NotStreamable, SampleChunk
from analysis.timebase import TIME_UNIT_STAMPS
from stridewatch.inputs.chunks import CHUNK_ROWS, STREAM_ABOVE_BYTES
from stridewatch.inputs.columns import find_columns
from stridewatch.inputs.recording import InputFileError, Recording
from stridewatch.inputs.table import TableSamples

if TYPE_CHECKING:
    from stridewatch.inputs.xsens_text import XsensStream

#: Both formats have their header on line 1, so samples start on line 2.
FIRST_DATA_LINE = 2


def frames_read_alike(path: Path, read: dict, names: list[str], used: list[str],
                      chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The frames of ``pd.read_csv(path, **read)`` ``chunk_rows`` rows at a time, each checked
    to hold what reading the whole file would have given for its rows: the header's ``names``,
    and the ``used`` columns numeric with one type throughout (else ``NotStreamable``)."""
    dtypes: list[np.dtype] | None = None
    try:
        with pd.read_csv(path, chunksize=chunk_rows, engine="c", **read) as reader:
            for frame in reader:
                if [str(c) for c in frame.columns] != names:
                    raise NotStreamable("a chunk's columns differ from the header's")
                kinds = [frame[name].dtype for name in used]
                if dtypes is None:
                    dtypes = kinds
                if kinds != dtypes or any(k.kind not in "iuf" for k in kinds):
                    raise NotStreamable("a column changes type or holds text: read whole")
                yield frame
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            ValueError) as exc:
        raise NotStreamable(f"not read as a stream: {exc}") from exc


class TableStream:
    """One long table: ``chunks()`` yields its samples; ``recording`` (no samples) says how it
    was read: its sensor from the start, its time unit and start once the first chunks are in
    (before the first is yielded)."""

    def __init__(self, path: Path, fmt: str, sep: str, units: str | None,
                 time_unit: str | None, chunk_rows: int = CHUNK_ROWS) -> None:
        self.path, self.fmt, self.sep = path, fmt, sep
        self._time_unit, self._chunk_rows = time_unit, chunk_rows
        try:
            header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
            self._names = [str(c) for c in header.columns]
            columns = find_columns(self._names, str(path))
        except (InputFileError, pd.errors.ParserError, pd.errors.EmptyDataError,
                UnicodeDecodeError, ValueError) as exc:
            raise NotStreamable(f"header not read as a stream: {exc}") from exc
        self._table = TableSamples(columns, source=str(path), units=units, time_unit=time_unit)
        self._used = [columns[role].header for role in columns]
        self.acc_units = self._table.acc_units
        # what the file says beyond its samples now (a Polar file's sensor, for how it is
        # worn); how its time was read once the first chunks are in
        self.recording = self._polar(Recording(
            source=str(path), t_s=np.zeros(0), acc=np.zeros((0, 3)), gyro_dps=None,
            acc_units=self.acc_units, format=fmt, first_data_line=FIRST_DATA_LINE))

    def chunks(self) -> Iterator[SampleChunk]:
        """The samples, chunk by chunk (``NotStreamable`` when iterated: read it whole)."""
        table = self._table
        head: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, int]] = []
        n_head = first_row = 0
        read = dict(sep=self.sep, skip_blank_lines=False, encoding="utf-8-sig")
        for frame in frames_read_alike(self.path, read, self._names, self._used,
                                       self._chunk_rows):
            line = FIRST_DATA_LINE + first_row
            try:
                raw_t = table.raw_time(frame, line)
                parts = (raw_t, table.acc(frame, line), table.gyro(frame, line), first_row)
            except InputFileError as exc:
                raise NotStreamable(str(exc)) from exc
            first_row += len(frame)
            if table.time is None:
                head.append(parts)
                n_head += len(frame)
                if n_head < TIME_UNIT_STAMPS:
                    continue
                yield from self._start(head)
                head = []
            else:
                yield self._chunk(*parts)
        if table.time is None:
            if not n_head:
                raise NotStreamable("no samples after the header")
            yield from self._start(head)

    def _start(self, head: list[tuple]) -> Iterator[SampleChunk]:
        """Decide the time unit on the first stamps, then give the chunks held for it."""
        table = self._table
        table.start(np.concatenate([raw_t for raw_t, *_ in head]))
        read = self._polar(table.recording(np.zeros(0), np.zeros((0, 3)), None, fmt=self.fmt,
                                           first_data_line=FIRST_DATA_LINE))
        self.recording.meta.update(read.meta)
        self.recording.time_unit, self.recording.warnings = read.time_unit, read.warnings
        for parts in head:
            yield self._chunk(*parts)

    def _polar(self, recording: Recording) -> Recording:
        if self.fmt != "polar-sensor-logger":
            return recording
        from stridewatch.inputs.polar_sensor_logger import with_polar_meta

        return with_polar_meta(recording, self.path, self._time_unit)

    def _chunk(self, raw_t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None,
               first_row: int) -> SampleChunk:
        return SampleChunk(t_s=self._table.seconds(raw_t), acc=acc, gyro_dps=gyro,
                           first_row=first_row)


def table_stream(path: Path, fmt: str, units: str | None = None,
                 time_unit: str | None = None) -> TableStream | XsensStream | None:
    """The stream of a text table of format ``fmt`` (``detect_format``) larger than
    ``STREAM_ABOVE_BYTES``; None for a smaller file, another format, or a header the
    whole-file reader should judge (its error then)."""
    try:
        if path.stat().st_size <= STREAM_ABOVE_BYTES:
            return None
        if fmt == "csv":
            from stridewatch.inputs.csv_file import csv_separator

            sep = csv_separator(path)
        elif fmt == "polar-sensor-logger":
            from stridewatch.inputs.polar_sensor_logger import SEPARATOR as sep
        elif fmt == "xsens-text":
            from stridewatch.inputs.xsens_text import XsensStream

            return XsensStream(path, units, CHUNK_ROWS)
        else:
            return None
        return TableStream(path, fmt, sep, units, time_unit, CHUNK_ROWS)
    except (OSError, InputFileError, NotStreamable):
        return None
