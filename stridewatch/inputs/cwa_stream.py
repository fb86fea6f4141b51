"""Long Axivity ``.cwa`` recordings read as a stream of pieces (``actfast_stream``), so
memory does not grow with length (a week on the lower back, as free-living studies record,
is ~60 M samples: several GB read whole).

A ``.cwa`` file is a 1024-byte header, then 512-byte data sectors, each complete in itself:
its own time stamp, sample count and samples (OpenMovement's cwa.h). actfast takes the
rate, ranges and layout from the first data sector, then decodes every sector on its own:
no state crosses sectors (actfast ``src/axivity/mod.rs``). So a piece is the header and a
run of ``PIECE_SECTORS`` sectors; its samples are the whole reading's, bit for bit, as long
as its first sector states the rate, ranges and layout the file's first sector does. When
one does not, the stream gives up (``NotStreamable``) and the file is read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from analysis.streaming import NotStreamable
from stridewatch.inputs.actfast_stream import PieceStream

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


def _pieces(path: Path) -> Iterator[bytes]:
    """The header and each run of whole sectors (actfast ignores a last part-sector)."""
    with open(path, "rb") as handle:
        header = handle.read(HEADER_BYTES)
        layout = None
        while piece := handle.read(PIECE_SECTORS * SECTOR_BYTES):
            piece = piece[: len(piece) - len(piece) % SECTOR_BYTES]
            if not piece:
                return
            if layout is None:
                layout = _layout(piece)
            elif _layout(piece) != layout:
                raise NotStreamable("a sector's rate, range or layout differs from the "
                                    "first sector's: read whole")
            yield header + piece


def cwa_stream(path: Path, units: str | None = None) -> PieceStream | None:
    """The stream of a ``.cwa`` file longer than one piece; None for a shorter one (read
    whole: one piece anyway), or one the whole-file reader should judge (its error then)."""
    try:
        if path.stat().st_size <= HEADER_BYTES + PIECE_SECTORS * SECTOR_BYTES:
            return None
        return PieceStream(path, "cwa", units, _pieces(path))
    except (OSError, NotStreamable):
        return None
