"""The layout of a Polar offline recording file (``ACC0.REC``, ``ACC1.REC`` …), bytes only.

Facts (polarofficial/polar-ble-sdk ``offlinerecording/OfflineRecordingData.kt`` and its
test ``OfflineRecordingDataTest.kt``; summarised in ``data/offline-recording.md``), for a
file without encryption (security strategy 0):

| bytes | meaning |
|---|---|
| 1 | security strategy (0 none, 1 XOR, 2 AES-128, 3 AES-256) |
| 16 | header: magic ``0x3D7C4C2B``, version, free, firmware hash (uint32 LE each) |
| 20 | start time, ``"YYYY-MM-DD HH:MM:SS"`` plus a NUL, on the sensor's clock |
| 1 + n | length of the PMD settings, then the settings (``[type][count][values…]``) |
| 1 (+ …) | length of the security info (0: none) |
| then | repeated ``[uint16 LE size][PMD data frame of that size]`` |

The data frames are PMD frames exactly as streamed (type, uint64 stamp of the last sample
in ns since 2000-01-01, frame type, samples; delta-compressed ACC is 0x80/0x81), so they
are decoded by ``firmware_bridge.profiles.polar_pmd``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from firmware_bridge.profiles.base import DecodeError
from firmware_bridge.profiles.polar_pmd import (
    PMD_EPOCH_UNIX_NS,
    PmdSettings,
    decode_acc_frame,
    parse_settings,
    sample_times_unix_s,
)

REC_MAGIC = 0x3D7C4C2B
SECURITY_NONE = 0
SECURITY_NAMES = {0: "none", 1: "XOR", 2: "AES-128", 3: "AES-256"}
HEADER_BYTES = 16
START_TIME_BYTES = 20
FRAME_SIZE_BYTES = 2


class RecFormatError(ValueError):
    """A ``.REC`` file that cannot be read; the message says where and why."""


@dataclass(frozen=True)
class RecFile:
    """A parsed ``.REC`` file: its metadata and the PMD data frames it holds (raw bytes)."""

    version: int
    esw_hash: int
    start_time: datetime  # naive, the sensor's clock (the SDK reads it as UTC)
    settings: PmdSettings
    settings_bytes: bytes
    frames: tuple[bytes, ...]

    @property
    def sample_rate_hz(self) -> float | None:
        return float(self.settings.sample_rates_hz[0]) if self.settings.sample_rates_hz else None

    @property
    def range_g(self) -> float | None:
        return float(self.settings.ranges[0]) if self.settings.ranges else None


def parse_rec(data: bytes, name: str = "REC file") -> RecFile:
    """Parse an unencrypted ``.REC`` file; RecFormatError names the offending byte offset."""
    if not data:
        raise RecFormatError(f"{name}: empty file")
    security = data[0]
    if security != SECURITY_NONE:
        what = SECURITY_NAMES.get(security, f"strategy {security}")
        raise RecFormatError(
            f"{name}: the recording is encrypted ({what}); stridewatch reads only recordings "
            "started without a key"
        )
    offset = 1
    if len(data) < offset + HEADER_BYTES + START_TIME_BYTES + 2:
        raise RecFormatError(f"{name}: {len(data)} bytes is shorter than the file header")
    magic, version, _free, esw_hash = (
        int.from_bytes(data[offset + 4 * k : offset + 4 * k + 4], "little") for k in range(4)
    )
    if magic != REC_MAGIC:
        raise RecFormatError(f"{name}: magic 0x{magic:08X} at byte 1 is not 0x{REC_MAGIC:08X}")
    offset += HEADER_BYTES
    raw_time = data[offset : offset + START_TIME_BYTES]
    try:
        text = raw_time.split(b"\x00", 1)[0].decode("ascii")
        start_time = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except (UnicodeDecodeError, ValueError) as error:
        raise RecFormatError(
            f"{name}: start time at byte {offset} is not a date: {error}"
        ) from None
    offset += START_TIME_BYTES
    settings_length = data[offset]
    offset += 1
    if offset + settings_length + 1 > len(data):
        raise RecFormatError(f"{name}: settings of {settings_length} bytes run past the file")
    settings_bytes = bytes(data[offset : offset + settings_length])
    try:
        settings = parse_settings(settings_bytes) if settings_bytes else PmdSettings()
    except DecodeError as error:
        raise RecFormatError(f"{name}: settings at byte {offset}: {error.problem}") from None
    offset += settings_length
    security_info_length = data[offset]
    if security_info_length:
        raise RecFormatError(f"{name}: security info of {security_info_length} bytes at byte "
                             f"{offset} (encrypted recordings are not read)")
    offset += 1
    frames: list[bytes] = []
    while offset < len(data):
        if offset + FRAME_SIZE_BYTES > len(data):
            raise RecFormatError(f"{name}: frame size at byte {offset} is cut off")
        size = int.from_bytes(data[offset : offset + FRAME_SIZE_BYTES], "little")
        offset += FRAME_SIZE_BYTES
        if size == 0 or offset + size > len(data):
            raise RecFormatError(
                f"{name}: frame {len(frames)} at byte {offset} claims {size} bytes, "
                f"{len(data) - offset} left"
            )
        frames.append(bytes(data[offset : offset + size]))
        offset += size
    return RecFile(
        version=version, esw_hash=esw_hash, start_time=start_time, settings=settings,
        settings_bytes=settings_bytes, frames=tuple(frames),
    )


@dataclass(frozen=True, eq=False)
class RecSamples:
    """Samples of one or more ``.REC`` files: Unix times (sensor clock) and g."""

    t_unix_s: np.ndarray
    acc_g: np.ndarray
    last_stamp_ns: int | None
    lost_frames: int


def decode_rec_samples(
    rec: RecFile, previous_stamp_ns: int | None = None, name: str = "REC file"
) -> RecSamples:
    """Decode every ACC frame of ``rec`` with the streaming decoder.

    ``previous_stamp_ns`` is the last stamp of the previous part of the same recording
    (ACC0 before ACC1), so samples of the first frame are spread from it as in streaming.
    """
    times: list[np.ndarray] = []
    accs: list[np.ndarray] = []
    lost = 0
    factor = rec.settings.factor
    for index, frame in enumerate(rec.frames):
        try:
            acc = decode_acc_frame(frame, index, factor, rec.range_g)
        except DecodeError as error:
            raise RecFormatError(f"{name}: frame {index}: {error.problem}") from None
        t, lost_here, _gap = sample_times_unix_s(
            acc.stamp_ns, acc.acc_g.shape[0], previous_stamp_ns, rec.sample_rate_hz
        )
        lost += lost_here
        previous_stamp_ns = acc.stamp_ns
        times.append(t)
        accs.append(acc.acc_g)
    return RecSamples(
        t_unix_s=np.concatenate(times) if times else np.zeros(0),
        acc_g=np.concatenate(accs) if accs else np.zeros((0, 3)),
        last_stamp_ns=previous_stamp_ns,
        lost_frames=lost,
    )


def start_unix_s(rec: RecFile) -> float:
    """The header's start time as Unix seconds (read as UTC, as the SDK does)."""
    return rec.start_time.replace(tzinfo=UTC).timestamp()


def stamp_unix_s(stamp_ns: int) -> float:
    return (stamp_ns + PMD_EPOCH_UNIX_NS) / 1e9
