"""The device side of Polar offline recording: the bytes a Verity Sense stores and sends.

Independent of the host decoders (``firmware_bridge.offline``), so an emulated sensor
built from this module checks them: delta-compressed PMD ACC frames (frame type 0x80,
raw counts × factor = g), the ``.REC`` file layout, and PSFTP air packets (RFC76).
Facts: ../shared/reference/sensor-protocols.md and ``data/offline-recording.md``.
"""

from __future__ import annotations

import struct
from datetime import datetime

import numpy as np

REC_MAGIC = 0x3D7C4C2B
ACC_TYPE = 0x02
DELTA_FRAME_TYPE = 0x80
SAMPLES_PER_BLOCK = 25


def acc_factor(range_g: int) -> float:
    """g per count of a 16-bit sample at ±``range_g`` (0.000244140625 at ±8 g)."""
    return range_g / 32768.0


def _width(deltas: np.ndarray) -> int:
    """Fewest bits holding every delta as two's complement (at least 1)."""
    lo, hi = int(deltas.min()), int(deltas.max())
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi < (1 << (width - 1))):
        width += 1
    return width


def delta_frame(stamp_ns_since_2000: int, counts: np.ndarray) -> bytes:
    """A delta-compressed ACC frame (type 0x80) of ``counts`` (n, 3) int, stamped at the last."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] != 3 or len(counts) == 0:
        raise ValueError(f"counts must be (n>0, 3), got {counts.shape}")
    out = bytearray([ACC_TYPE]) + struct.pack("<Q", stamp_ns_since_2000)
    out += bytes([DELTA_FRAME_TYPE])
    out += counts[0].astype("<i2").tobytes()
    deltas = np.diff(counts, axis=0)
    for start in range(0, len(deltas), SAMPLES_PER_BLOCK):
        block = deltas[start : start + SAMPLES_PER_BLOCK]
        width = _width(block)
        flat = (block.reshape(-1) & ((1 << width) - 1)).astype(np.uint64)
        bits = ((flat[:, None] >> np.arange(width, dtype=np.uint64)) & 1).astype(np.uint8)
        packed = np.packbits(bits.reshape(-1), bitorder="little").tobytes()
        out += bytes([width, len(block)]) + packed
    return bytes(out)


def settings_block(rate_hz: int, range_g: int) -> bytes:
    """PMD settings stored in a .REC: rate, 16-bit resolution, range, 3 channels, factor."""
    return (
        bytes([0, 1]) + struct.pack("<H", rate_hz)
        + bytes([1, 1]) + struct.pack("<H", 16)
        + bytes([2, 1]) + struct.pack("<H", range_g)
        + bytes([4, 1, 3])
        + bytes([5, 1]) + struct.pack("<f", acc_factor(range_g))
    )


def rec_file(started: datetime, rate_hz: int, range_g: int, frames: list[bytes]) -> bytes:
    """An unencrypted ``.REC`` file holding ``frames``."""
    settings = settings_block(rate_hz, range_g)
    out = bytearray([0])  # security strategy: none
    out += struct.pack("<IIII", REC_MAGIC, 1, 0, 0x5FC37904)
    out += started.strftime("%Y-%m-%d %H:%M:%S").encode("ascii") + b"\x00"
    out += bytes([len(settings)]) + settings
    out += bytes([0])  # no security info
    for frame in frames:
        out += struct.pack("<H", len(frame)) + frame
    return bytes(out)


def air_packets(message: bytes, packet_bytes: int) -> list[bytes]:
    """RFC76 packets of a response: header (next, status 3 more / 1 last, seq) + payload."""
    room = packet_bytes - 1
    chunks = [message[i : i + room] for i in range(0, len(message), room)] or [b""]
    packets = []
    for k, chunk in enumerate(chunks):
        status = 1 if k == len(chunks) - 1 else 3
        header = (1 if k else 0) | (status << 1) | ((k % 16) << 4)
        packets.append(bytes([header]) + chunk)
    return packets


def error_packet(code: int) -> bytes:
    """RFC76 status-0 packet ending a request with ``code`` (0 = done, nothing to send)."""
    return bytes([0x00]) + struct.pack("<H", code)
