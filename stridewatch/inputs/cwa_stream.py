"""Long Axivity ``.cwa`` recordings read as a stream of sample chunks, so memory does not
grow with length (a week on the lower back, as free-living studies record, is ~60 M samples:
several GB read whole).

A ``.cwa`` file is a 1024-byte header, then 512-byte data sectors, each complete in itself:
its own time stamp, sample count and samples (OpenMovement's cwa.h). actfast, which reads a
file whole (``stridewatch.inputs.actfast_files``), takes the rate, ranges and layout from
the first data sector, then decodes every sector on its own: no state crosses sectors
(actfast ``src/axivity/mod.rs``). So the file is read ``PIECE_SECTORS`` sectors at a time:
the header and that run of sectors go to a temporary file that actfast reads. Each piece's
samples are then the whole-file reading's, bit for bit, as long as the piece's first sector
states the rate, ranges and layout the file's first sector does. When one does not, or a
piece cannot be read (a damaged sector), the stream raises ``NotStreamable`` and the file
is read whole, which gives the error naming the sector's offset in the file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from analysis.streaming import NotStreamable, SampleChunk
from stridewatch.inputs.actfast_files import library_read, samples_read
from stridewatch.inputs.recording import InputFileError, Recording

HEADER_BYTES = 1024
SECTOR_BYTES = 512
#: Sectors read at a time: 1 MB, 80-120 samples each (27-41 min of an AX3 at 100 Hz).
PIECE_SECTORS = 2048


def _layout(sector: bytes) -> tuple[int, int, int, int]:
    """What actfast takes from the first data sector for the whole file: the range codes
    (bits 10-15 of bytes 18-19), the rate code (byte 24), the axes and packing (byte 25),
    and whether the time offset holds a fraction of a second (top bit of bytes 4-5)."""
    return (int.from_bytes(sector[18:20], "little") >> 10, sector[24], sector[25],
            int.from_bytes(sector[4:6], "little") & 0x8000)


class CwaStream:
    """One long ``.cwa`` file: ``chunks()`` yields its samples a piece at a time;
    ``recording`` (no samples) says how it was read, known before the first chunk."""

    acc_units = "g"

    def __init__(self, path: Path, units: str | None = None) -> None:
        self.path = path
        self._spool: BinaryIO = tempfile.NamedTemporaryFile(suffix=".cwa")  # noqa: SIM115
        try:
            with open(path, "rb") as handle:
                self._header = handle.read(HEADER_BYTES)
                first = self._read_piece(handle)
            if len(self._header) < HEADER_BYTES or not first:
                raise NotStreamable("shorter than a header and a data sector: read whole")
            self._layout = _layout(first[:SECTOR_BYTES])
            self._first = self._decode(first, units, None)
        except BaseException:
            self._spool.close()
            raise
        self._t0_ns = self._first[1]
        self._units = units
        read = self._first[0]
        self.recording = Recording(
            source=str(path), t_s=np.zeros(0), acc=np.zeros((0, 3)), gyro_dps=None,
            acc_units=read.acc_units, nominal_rate_hz=read.nominal_rate_hz, format="cwa",
            time_unit=read.time_unit, first_data_line=None, warnings=read.warnings,
            meta=read.meta)

    def chunks(self) -> Iterator[SampleChunk]:
        """The samples, a piece at a time (``NotStreamable`` when iterated: read it whole)."""
        try:
            read = self._first[0]
            self._first = None  # let the first piece go once it is yielded
            first_row = len(read.t_s)
            yield SampleChunk(t_s=read.t_s, acc=read.acc, gyro_dps=read.gyro_dps, first_row=0)
            del read
            with open(self.path, "rb") as handle:
                handle.seek(HEADER_BYTES + PIECE_SECTORS * SECTOR_BYTES)
                while piece := self._read_piece(handle):
                    if _layout(piece[:SECTOR_BYTES]) != self._layout:
                        raise NotStreamable("a sector's rate, range or layout differs from "
                                            "the first sector's: read whole")
                    part, _ = self._decode(piece, self._units, self._t0_ns)
                    yield SampleChunk(t_s=part.t_s, acc=part.acc, gyro_dps=part.gyro_dps,
                                      first_row=first_row)
                    first_row += len(part.t_s)
        finally:
            self._spool.close()

    @staticmethod
    def _read_piece(handle: BinaryIO) -> bytes:
        """The next whole sectors, up to ``PIECE_SECTORS`` (actfast ignores a last part-sector)."""
        piece = handle.read(PIECE_SECTORS * SECTOR_BYTES)
        return piece[: len(piece) - len(piece) % SECTOR_BYTES]

    def _decode(self, piece: bytes, units: str | None,
                t0_ns: int | None) -> tuple[Recording, int]:
        """The samples of one piece, as actfast reads the header and ``piece`` (seconds from
        ``t0_ns``, the file's first stamp; None for the first piece), with its first stamp."""
        spool = self._spool
        spool.seek(0)
        spool.truncate()
        spool.write(self._header)
        spool.write(piece)
        spool.flush()
        try:
            result = library_read(self.path, "cwa", Path(spool.name))
            read = samples_read(self.path, "cwa", result, units, t0_ns)
        except InputFileError as exc:
            raise NotStreamable(f"not read as a stream: {exc}") from exc
        if t0_ns is None:
            t0_ns = int(next(s for s in result["timeseries"].values()
                             if "acceleration" in s)["datetime"][0])
        return read, t0_ns


def cwa_stream(path: Path, units: str | None = None) -> CwaStream | None:
    """The stream of a ``.cwa`` file longer than one piece; None for a shorter one (read
    whole: one piece anyway), or one the whole-file reader should judge (its error then)."""
    try:
        if path.stat().st_size <= HEADER_BYTES + PIECE_SECTORS * SECTOR_BYTES:
            return None
        return CwaStream(path, units)
    except (OSError, NotStreamable):
        return None
