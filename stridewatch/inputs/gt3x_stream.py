"""Long ActiGraph ``.gt3x`` recordings read as a stream of pieces (``actfast_stream``), so
memory does not grow with length (a week at 100 Hz is ~60 M samples: GB read whole).

A ``.gt3x`` file is a ZIP archive holding ``info.txt`` and ``log.bin``, a sequence of
records (0x1E, type, u32 Unix time, u16 size, payload, checksum: ActiGraph's
GT3X-File-Format). actfast decodes each ACTIVITY record on its own (its samples from its
own time stamp) with the sample rate and acceleration scale of the last PARAMETERS record
before it (actfast ``src/actigraph/mod.rs``); nothing else crosses records. So a piece is
an archive of the same ``info.txt`` and a ``log.bin`` of that last PARAMETERS record and
the next run of records, about ``PIECE_BYTES`` long: its samples are the whole reading's,
bit for bit (a piece without samples, the device idling, gives none). A record the stream
cannot split out (a broken separator, a log ending inside a record), an archive it cannot
read to the end (a bad CRC, broken deflate data) and a compression actfast does not read
(anything but stored or deflate; the pieces are stored) make the file be read whole, which
gives the whole-file answer or error.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from analysis.streaming import NotStreamable
from stridewatch.inputs.actfast_stream import PieceStream

#: log.bin bytes per piece: 1 MB, ~38 min at 100 Hz (12-bit samples, a record a second).
PIECE_BYTES = 1 << 20
SEPARATOR = 0x1E
PARAMETERS = 0x15
HEADER_BYTES = 8  # separator, type, u32 time, u16 size


def _records(log: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(type, bytes) of each record of ``log`` (a record's bytes include its checksum); a
    last part of a record header is the end of the log, as actfast reads it."""
    while len(head := log.read(HEADER_BYTES)) == HEADER_BYTES:
        if head[0] != SEPARATOR:
            raise NotStreamable("not a record where one should start: read whole")
        size = int.from_bytes(head[6:8], "little") + 1  # the payload and its checksum
        body = log.read(size)
        if len(body) < size:
            raise NotStreamable("the log ends inside a record: read whole")
        yield head[1], head + body


def _archive(info: bytes, log: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", log)
    return out.getvalue()


#: What reading the archive can raise besides OSError: a damaged or unusual ZIP (a bad
#: CRC, broken deflate data, encryption, a compression zipfile lacks).
ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
                  KeyError, OSError)
#: Compressions actfast reads (its zip crate has deflate only).
READABLE_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _pieces(path: Path) -> Iterator[bytes]:
    """Archives of ``info.txt`` and runs of records, each after the last PARAMETERS record
    that came before it; ``NotStreamable`` when the archive cannot be read to its end."""
    try:
        yield from _archive_pieces(path)
    except ARCHIVE_ERRORS as exc:
        raise NotStreamable(f"archive not read as a stream ({exc}): read whole") from exc


def _archive_pieces(path: Path) -> Iterator[bytes]:
    with zipfile.ZipFile(path) as source:
        info = source.read("info.txt")
        with source.open("log.bin") as log:
            parameters = latest = b""  # in force at the start of the piece; the last seen
            piece = bytearray()
            for kind, data in _records(log):
                piece += data
                if kind == PARAMETERS:
                    latest = data
                if len(piece) >= PIECE_BYTES:
                    yield _archive(info, parameters + piece)
                    parameters, piece = latest, bytearray()
            if piece:
                yield _archive(info, parameters + piece)


def gt3x_stream(path: Path, units: str | None = None) -> PieceStream | None:
    """The stream of a ``.gt3x`` file whose log is longer than one piece; None for a shorter
    one (read whole), or one the whole-file reader should judge (its error then)."""
    try:
        with zipfile.ZipFile(path) as archive:
            log = archive.getinfo("log.bin")
            if (log.file_size <= PIECE_BYTES or log.compress_type not in READABLE_COMPRESSION
                    or log.flag_bits & 0x1):  # (encrypted)
                return None
        return PieceStream(path, "gt3x", units, _pieces(path))
    except (*ARCHIVE_ERRORS, NotStreamable):
        return None
