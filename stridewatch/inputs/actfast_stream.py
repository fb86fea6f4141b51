"""A long file that actfast reads (``stridewatch.inputs.actfast_files``) analysed as a stream
of pieces, so memory does not grow with its length: each piece is a small file of the same
format holding a run of the original's blocks (``stridewatch.inputs.cwa_stream``,
``stridewatch.inputs.gt3x_stream`` make them), written to a temporary file and read by
actfast. A piece's samples are the whole reading's as long as the piece carries what
actfast would carry over from earlier blocks; whenever a piece generator cannot promise
that, or actfast refuses a piece, the stream raises ``NotStreamable`` and the file is read
whole, which gives the whole-file error (naming the place in the whole file).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analysis.streaming import NotStreamable, SampleChunk
from stridewatch.inputs.actfast_files import acceleration_table, library_read, samples_read
from stridewatch.inputs.recording import InputFileError, Recording


class PieceStream:
    """``chunks()`` yields the samples of the files ``pieces`` gives (their bytes), a piece
    at a time, seconds counted from the first piece's first stamp; ``recording`` (no
    samples) says how the file was read, known before the first chunk."""

    def __init__(self, path: Path, fmt: str, units: str | None,
                 pieces: Iterator[bytes]) -> None:
        self.path, self.fmt, self._units, self._pieces = path, fmt, units, pieces
        self._spool = tempfile.NamedTemporaryFile(suffix=f".{fmt}")  # noqa: SIM115
        try:
            first = next(pieces, None)
            if first is None:
                raise NotStreamable("no blocks: read whole")
            self._first, self._t0_ns = self._decode(first, None)
        except BaseException:
            self._spool.close()
            raise
        read = self._first
        self.acc_units = read.acc_units
        self.recording = Recording(
            source=str(path), t_s=np.zeros(0), acc=np.zeros((0, 3)), gyro_dps=None,
            acc_units=read.acc_units, nominal_rate_hz=read.nominal_rate_hz, format=fmt,
            time_unit=read.time_unit, first_data_line=None, warnings=read.warnings,
            meta=read.meta)

    def chunks(self) -> Iterator[SampleChunk]:
        """The samples, a piece at a time (``NotStreamable`` when iterated: read it whole)."""
        if self._first is None:
            raise NotStreamable("the stream was read already: read whole")
        try:
            read, self._first = self._first, None  # let the first piece go once yielded
            first_row = len(read.t_s)
            yield SampleChunk(t_s=read.t_s, acc=read.acc, gyro_dps=read.gyro_dps, first_row=0)
            del read
            for piece in self._pieces:
                part, _ = self._decode(piece, self._t0_ns)
                if part is None:  # no samples in this piece (a device idling): none to give
                    continue
                yield SampleChunk(t_s=part.t_s, acc=part.acc, gyro_dps=part.gyro_dps,
                                  first_row=first_row)
                first_row += len(part.t_s)
        finally:
            self._spool.close()

    def _decode(self, piece: bytes, t0_ns: int | None) -> tuple[Recording | None, int]:
        """The samples of one piece as actfast reads it (seconds from ``t0_ns``, the file's
        first stamp; None for the first piece), with that first stamp; None for a later
        piece without samples."""
        spool = self._spool
        try:
            spool.seek(0)
            spool.truncate()
            spool.write(piece)
            spool.flush()
            result = library_read(self.path, self.fmt, Path(spool.name))
            table = acceleration_table(result)
            stamps = None if table is None else table["datetime"]
            if t0_ns is not None and stamps is not None and len(stamps) == 0:
                return None, t0_ns
            read = samples_read(self.path, self.fmt, result, self._units, t0_ns)
        except (InputFileError, OSError) as exc:  # (OSError: the temporary file, a full disk)
            raise NotStreamable(f"not read as a stream: {exc}") from exc
        if t0_ns is None:
            t0_ns = int(stamps[0])
        return read, t0_ns


#: The formats read a piece at a time.
PIECE_FORMATS = ("cwa", "gt3x")


def piece_stream(path: Path, fmt: str, units: str | None = None) -> PieceStream | None:
    """The stream of a long file of a ``PIECE_FORMATS`` format; None for a short one, or
    one the whole-file reader should judge (read it whole then)."""
    if fmt == "cwa":
        from stridewatch.inputs.cwa_stream import cwa_stream

        return cwa_stream(path, units)
    if fmt == "gt3x":
        from stridewatch.inputs.gt3x_stream import gt3x_stream

        return gt3x_stream(path, units)
    return None
