"""Long ActiGraph ``.gt3x`` recordings read as a stream of pieces (``actfast_stream``), so
memory does not grow with length (a week at 100 Hz is ~60 M samples: GB read whole).

A ``.gt3x`` file is a ZIP archive holding ``info.txt`` and ``log.bin``, a sequence of
records (0x1E, type, u32 Unix time, u16 size, payload, checksum: ActiGraph's
GT3X-File-Format). actfast decodes each ACTIVITY record on its own (its samples from its
own time stamp) with the sample rate and acceleration scale of the last PARAMETERS record
before it (actfast ``src/actigraph/mod.rs``); nothing else crosses records. So a piece is
an archive of the same ``info.txt`` and a ``log.bin`` of that last PARAMETERS record and
the next run of records, about ``PIECE_BYTES`` long: its samples are the whole reading's,
bit for bit. A record the stream cannot split out (a broken separator, a file ending
inside a record) makes the file be read whole, which gives the whole-file error.
"""

from __future__ import annotations

import io
import zipfile
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
    """(type, bytes) of each record of ``log`` (a record's bytes include its checksum)."""
    while head := log.read(HEADER_BYTES):
        if len(head) < HEADER_BYTES or head[0] != SEPARATOR:
            raise NotStreamable("not a record where one should start: read whole")
        body = log.read(int.from_bytes(head[6:8], "little") + 1)
        if len(body) < int.from_bytes(head[6:8], "little") + 1:
            raise NotStreamable("the log ends inside a record: read whole")
        yield head[1], head + body


def _archive(info: bytes, log: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", log)
    return out.getvalue()


def _pieces(path: Path) -> Iterator[bytes]:
    """Archives of ``info.txt`` and runs of records, each after the last PARAMETERS record
    that came before it."""
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
            if archive.getinfo("log.bin").file_size <= PIECE_BYTES:
                return None
        return PieceStream(path, "gt3x", units, _pieces(path))
    except (OSError, KeyError, zipfile.BadZipFile, NotStreamable):
        return None
