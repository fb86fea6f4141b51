"""MbientLab MetaWear on-board logger: commands, log entries and tick → time, bytes only.

Facts (mbientlab/MetaWear-SDK-Cpp ``src/metawear/core/cpp/logging.cpp``,
``logging_register.h``, ``test/test_logging.py``; summarised in ``data/offline-recording.md``):

* logging is module 0x0B; registers ENABLE 1, TRIGGER 2, TIME 4, LENGTH 5, READOUT 6,
  READOUT_NOTIFY 7, READOUT_PROGRESS 8, REMOVE_ENTRIES 9, CIRCULAR_BUFFER 0x0B,
  READOUT_PAGE_COMPLETED 0x0D, READOUT_PAGE_CONFIRM 0x0E; a register is read by writing
  ``0B <0x80|reg>`` and the answer comes back as a notification with that header.
* an accelerometer logger is two triggers on the acceleration signal ``03 04 FF``: bytes
  0–3 (x, y) ``0B 02 03 04 FF 60`` and bytes 4–5 (z) ``0B 02 03 04 FF 24``; the board
  answers each with ``0B 02 <logger id>``.
* start: ``0B 0B <overwrite>`` then ``0B 01 01``; stop ``0B 01 00``.
* download: ``0B 08 01`` (progress), ``0B 0D 01`` (page completed), ``0B 07 01``
  (readout notify), read the length ``0B 85`` → ``0B 85 <entries u32>``, then
  ``0B 06 <entries u32> <progress every u32>``; every ``0B 0D`` is confirmed with
  ``0B 0E``; ``0B 08 <entries left u32>`` reports progress; ``0B 07`` notifications carry
  one or two 9-byte entries: ``(reset_uid << 5) | logger id``, tick u32 LE, data u32 LE.
* time: ``0B 84`` → ``0B 84 <tick u32> <reset_uid>``; one tick is 48/32768 s; ticks count
  from the board's last reset (the reset uid, 3 bits, changes at each reset) and wrap at
  2³²; an entry's time is the reference time plus its (wrapped) tick difference.
* clear after a download: ``0B 09 FF FF FF FF``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MODULE_LOGGING = 0x0B
REG_ENABLE = 0x01
REG_TRIGGER = 0x02
REG_TIME = 0x04
REG_LENGTH = 0x05
REG_READOUT = 0x06
REG_READOUT_NOTIFY = 0x07
REG_READOUT_PROGRESS = 0x08
REG_REMOVE_ENTRIES = 0x09
REG_CIRCULAR_BUFFER = 0x0B
REG_PAGE_COMPLETED = 0x0D
REG_PAGE_CONFIRM = 0x0E
READ_BIT = 0x80
ENTRY_BYTES = 9
ENTRY_ID_MASK = 0x1F
TICK_S = 48.0 / 32768.0
TICK_MODULO = 1 << 32

#: The two triggers that log the acceleration signal (x,y and z).
ACC_XY_TRIGGER = bytes([MODULE_LOGGING, REG_TRIGGER, 0x03, 0x04, 0xFF, 0x60])
ACC_Z_TRIGGER = bytes([MODULE_LOGGING, REG_TRIGGER, 0x03, 0x04, 0xFF, 0x24])


def start_logging_commands(overwrite: bool = False) -> list[bytes]:
    return [bytes([MODULE_LOGGING, REG_CIRCULAR_BUFFER, int(overwrite)]),
            bytes([MODULE_LOGGING, REG_ENABLE, 0x01])]


def stop_logging_command() -> bytes:
    return bytes([MODULE_LOGGING, REG_ENABLE, 0x00])


def read_command(register: int) -> bytes:
    return bytes([MODULE_LOGGING, READ_BIT | register])


def download_setup_commands() -> list[bytes]:
    """Subscribe to progress, page-completed and readout notifications (in the SDK's order)."""
    return [bytes([MODULE_LOGGING, REG_READOUT_PROGRESS, 0x01]),
            bytes([MODULE_LOGGING, REG_PAGE_COMPLETED, 0x01]),
            bytes([MODULE_LOGGING, REG_READOUT_NOTIFY, 0x01])]


def readout_command(n_entries: int, notify_every: int) -> bytes:
    return bytes([MODULE_LOGGING, REG_READOUT]) + struct.pack("<II", n_entries, notify_every)


def page_confirm_command() -> bytes:
    return bytes([MODULE_LOGGING, REG_PAGE_CONFIRM])


def clear_entries_command() -> bytes:
    return bytes([MODULE_LOGGING, REG_REMOVE_ENTRIES, 0xFF, 0xFF, 0xFF, 0xFF])


@dataclass(frozen=True)
class LogEntry:
    logger_id: int
    reset_uid: int
    tick: int
    data: int  # uint32 LE as stored

    def to_bytes(self) -> bytes:
        return bytes([(self.reset_uid << 5) | self.logger_id]) + struct.pack(
            "<II", self.tick, self.data)


def parse_entries(payload: bytes) -> list[LogEntry]:
    """Entries of a ``0B 07`` notification (one or two); ValueError for another length."""
    if len(payload) < 2 or payload[0] != MODULE_LOGGING or payload[1] != REG_READOUT_NOTIFY:
        raise ValueError("not a logger readout notification (0B 07)")
    body = payload[2:]
    if len(body) not in (ENTRY_BYTES, 2 * ENTRY_BYTES):
        raise ValueError(f"logger readout of {len(body)} bytes is not one or two 9-byte entries")
    entries = []
    for offset in range(0, len(body), ENTRY_BYTES):
        head = body[offset]
        tick, data = struct.unpack_from("<II", body, offset + 1)
        entries.append(LogEntry(head & ENTRY_ID_MASK, head >> 5, tick, data))
    return entries


def parse_time(payload: bytes) -> tuple[int, int]:
    """(tick, reset uid) of a ``0B 84`` answer."""
    if len(payload) < 7 or payload[:2] != bytes([MODULE_LOGGING, READ_BIT | REG_TIME]):
        raise ValueError("not a logger time answer (0B 84 tick u32 reset_uid)")
    return struct.unpack_from("<I", payload, 2)[0], payload[6]


def parse_length(payload: bytes) -> int:
    if len(payload) < 6 or payload[:2] != bytes([MODULE_LOGGING, READ_BIT | REG_LENGTH]):
        raise ValueError("not a logger length answer (0B 85 entries u32)")
    return struct.unpack_from("<I", payload, 2)[0]


def parse_progress(payload: bytes) -> int:
    """Entries left from a ``0B 08`` notification."""
    return struct.unpack_from("<I", payload + bytes(4), 2)[0]


@dataclass(frozen=True)
class TimeReference:
    """A board tick seen at a known Unix time, valid for one reset uid."""

    reset_uid: int
    tick: int
    unix_s: float

    def time_of(self, ticks: np.ndarray) -> np.ndarray:
        """Unix times of ``ticks`` (same reset uid); wrap-safe within ±36 days of the reference."""
        diff = (np.asarray(ticks, dtype=np.int64) - self.tick + (TICK_MODULO >> 1)) \
            % TICK_MODULO - (TICK_MODULO >> 1)
        return self.unix_s + diff * TICK_S


def acc_samples(
    entries: list[LogEntry], xy_id: int, z_id: int, range_g: float
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Join x,y and z entries, in order per reset uid, into samples.

    Returns (reset uid per sample, tick per sample (of the x,y entry), acc in g (n, 3)).
    An x,y entry without its z (the log cut between them) is dropped.
    """
    xy: dict[int, list[LogEntry]] = {}
    z: dict[int, list[LogEntry]] = {}
    order: list[int] = []
    for entry in entries:
        if entry.logger_id == xy_id:
            xy.setdefault(entry.reset_uid, []).append(entry)
            if entry.reset_uid not in order:
                order.append(entry.reset_uid)
        elif entry.logger_id == z_id:
            z.setdefault(entry.reset_uid, []).append(entry)
    uids: list[int] = []
    ticks: list[int] = []
    counts: list[tuple[int, int, int]] = []
    for uid in order:
        for a, b in zip(xy.get(uid, []), z.get(uid, []), strict=False):
            x, y = struct.unpack("<hh", struct.pack("<I", a.data))
            zz = struct.unpack("<h", struct.pack("<I", b.data)[:2])[0]
            uids.append(uid)
            ticks.append(a.tick)
            counts.append((x, y, zz))
    acc = np.asarray(counts, dtype=np.float64).reshape(-1, 3) / (32768.0 / range_g)
    return uids, np.asarray(ticks, dtype=np.int64), acc
