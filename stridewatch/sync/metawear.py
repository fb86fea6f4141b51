"""`sync` for a MetaWear board: read out the on-board log, split it into recordings, store.

The log is one stream of entries; a recording is a run of entries under one reset uid
without a gap longer than ``SPLIT_GAP_S``. Each recording is written as a
``metawear-log`` trace (the raw readout notifications holding its entries), read back
and checked (same entries, same SHA-256), analysed and filed, and entered in the
``synced_recordings`` ledger. The board can only clear its whole log, so ``--delete``
clears it only when every recording in it is stored and verified. A lost link restarts
the readout (entries stay on the board until cleared).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from firmware_bridge.offline import metawear_log as mw
from firmware_bridge.offline.metawear_client import MetaWearLogClient, Readout
from firmware_bridge.offline.offline_trace import write_events_trace
from firmware_bridge.offline.psftp_client import LinkLost
from firmware_bridge.profiles.metawear import METAWEAR_NOTIFY_UUID
from firmware_bridge.profiles.metawear_log import LogSelection
from firmware_bridge.trace import NotifyEvent, decode_trace, read_trace
from stridewatch.store import synced_recordings as ledger
from stridewatch.sync import board_memory
from stridewatch.sync.filing import file_trace_as_session
from stridewatch.sync.messages import (
    BOARD_BUSY,
    FULL,
    LINK_GAVE_UP,
    NO_FREE_LOGGER,
    SyncRefused,
)
from stridewatch.sync.polar import SyncOptions, SyncReport, device_key
from stridewatch.sync.progress import DownloadProgress

SPLIT_GAP_S = 2.0
#: After ``sync --start`` the log must have grown within this long (s), else it is full.
GROWTH_CHECK_S = 1.0


@dataclass(frozen=True)
class LogRecording:
    recording_id: str
    reset_uid: int
    entries: tuple[mw.LogEntry, ...]

    @property
    def first_tick(self) -> int:
        return self.entries[0].tick

    @property
    def last_tick(self) -> int:
        return self.entries[-1].tick

    def sha256(self) -> str:
        return hashlib.sha256(b"".join(e.to_bytes() for e in self.entries)).hexdigest()


def split_recordings(entries: list[mw.LogEntry]) -> list[LogRecording]:
    """Runs of entries under one reset uid with no tick gap over ``SPLIT_GAP_S`` (wrap-safe)."""
    runs: list[list[mw.LogEntry]] = []
    gap_ticks = SPLIT_GAP_S / mw.TICK_S
    for entry in entries:
        if runs:
            last = runs[-1][-1]
            step = (entry.tick - last.tick) % mw.TICK_MODULO
            if entry.reset_uid == last.reset_uid and step <= gap_ticks:
                runs[-1].append(entry)
                continue
        runs.append([entry])
    return [LogRecording(f"log/{run[0].reset_uid}/{run[0].tick}", run[0].reset_uid, tuple(run))
            for run in runs]


class NotConnected(BleakError):
    """The board could not be connected at all (out of range, or connected elsewhere)."""


async def _connect(device: BLEDevice, backend: type[BaseBleakClient] | None,
                   timeout_s: float, wall_clock: Callable[[], float] = time.time
                   ) -> tuple[BleakClient, MetaWearLogClient]:
    kwargs: dict[str, Any] = {} if backend is None else {"backend": backend}
    client = BleakClient(device, timeout=timeout_s, **kwargs)
    try:
        await client.connect()
    except (BleakError, TimeoutError) as error:
        raise NotConnected(str(error)) from error
    log = MetaWearLogClient(client, wall_clock=wall_clock)
    await log.open()
    return client, log


async def _readout(device: BLEDevice, options: SyncOptions, backend: type[BaseBleakClient]
                   | None, report: SyncReport, clock: Callable[[], float]
                   ) -> tuple[BleakClient, MetaWearLogClient, Readout, tuple[int, int, float]]:
    delays = (0.0, *options.reconnect_delays_s)
    ever_connected = False
    for attempt, delay in enumerate(delays):
        await asyncio.sleep(delay)
        client: BleakClient | None = None
        try:
            client, log = await _connect(device, backend, options.connect_timeout_s,
                                         options.wall_clock)
            ever_connected = True
            now = await log.read_time()
            progress: DownloadProgress | None = None

            def on_progress(left: int, total: int) -> None:
                nonlocal progress
                if progress is None:
                    progress = DownloadProgress(options.out, "on-board log",
                                                total * mw.ENTRY_BYTES, clock)
                progress.update((total - left) * mw.ENTRY_BYTES, final=left == 0)

            started = clock()
            readout = await log.read_out(on_progress)
            report.download_s += clock() - started
            return client, log, readout, now
        except (LinkLost, BleakError, TimeoutError) as error:
            if client is not None:
                try:
                    await client.disconnect()
                except BleakError:
                    pass
            if attempt == len(delays) - 1 or isinstance(error, NotConnected) and attempt == 0:
                # retries are for a link lost mid-readout; a board that never answered
                # a connection (within its timeout) is connected elsewhere or away
                if not ever_connected:
                    raise SyncRefused(BOARD_BUSY.format(device=device.name or device.address)
                                      ) from error
                raise SyncRefused(LINK_GAVE_UP) from error
            if attempt == 0 and ever_connected:  # later failures: reconnect attempts
                report.reconnects += 1
                options.out.write(f"\n  link lost during the readout ({error}); reconnecting "
                                  "to read the log again (nothing on the board is touched)\n")
    raise SyncRefused(LINK_GAVE_UP)


async def sync_metawear(
    device: BLEDevice, options: SyncOptions, *, backend: type[BaseBleakClient] | None = None,
    clock: Callable[[], float] | None = None,
) -> SyncReport:
    clock = clock or asyncio.get_running_loop().time
    report = SyncReport()
    key = device_key(device)
    memory = board_memory.load(options.db, key) or board_memory.BoardMemory()
    client, log, readout, (tick, uid, unix_now) = await _readout(device, options, backend,
                                                                 report, clock)
    try:
        if uid not in memory.clocks:  # a reference kept from `sync --start` stays as it was
            memory.clocks[uid] = (tick, unix_now)
            board_memory.save(options.db, key, memory)
        recordings = split_recordings(readout.entries)
        out = options.out
        out.write(f"{device.name or key}: {len(recordings)} recording(s) in the log "
                  f"({len(readout.entries)} entries, {readout.pages_confirmed} pages "
                  "confirmed)\n")
        verified = 0
        for recording in recordings:
            digest = recording.sha256()
            rows = [r for r in ledger.synced(options.db, key, recording.recording_id)
                    if r.content_sha256 == digest and _stored_ok(r.trace_path, digest)]
            if rows:
                report.already.append(recording.recording_id)
                verified += 1
                out.write(f"  {recording.recording_id}: already stored "
                          f"({rows[0].trace_path.name})\n")
                continue
            clock_ref = memory.clocks.get(recording.reset_uid)
            if clock_ref is None:
                out.write(f"  {recording.recording_id}: no clock reference for board reset "
                          f"{recording.reset_uid} (logging was not started by stridewatch); "
                          "left on the board\n")
                continue
            selection = LogSelection(
                recording.reset_uid, recording.first_tick, recording.last_tick,
                memory.xy_logger, memory.z_logger, memory.range_g,
                mw.TimeReference(recording.reset_uid, clock_ref[0], clock_ref[1]))
            path = _store(device, recording, selection, readout, options, digest, memory)
            session_id = file_trace_as_session(path, options.db, options.rules,
                                               options.patient_id, out)
            ledger.record_synced(options.db, key, recording.recording_id, digest, session_id,
                                 path)
            report.stored.append(recording.recording_id)
            report.traces.append(path)
            if session_id is not None:
                report.sessions.append(session_id)
            verified += 1
            out.write(f"  stored as {path.name}"
                      + (f", session {session_id}" if session_id else "") + "\n")
        if options.delete:
            if verified == len(recordings) and recordings:
                left = await log.clear()
                if left:
                    out.write(f"  the board still holds {left} entries after clearing "
                              "(logged meanwhile); they stay for the next sync\n")
                report.deleted.extend(r.recording_id for r in recordings)
                out.write("  log cleared on the board\n")
            elif recordings:
                out.write("  not clearing the log: not every recording in it is stored\n")
    finally:
        try:
            await client.disconnect()
        except BleakError:
            pass
    return report


def _entries_in_trace(path: object, selection: LogSelection) -> list[mw.LogEntry]:
    trace = read_trace(path)  # type: ignore[arg-type]
    found = []
    for event in trace.events:
        if isinstance(event, NotifyEvent) and event.payload[:2] == b"\x0b\x07":
            found.extend(e for e in mw.parse_entries(event.payload) if selection.contains(e))
    return found


def _stored_ok(path: object, digest: str) -> bool:
    try:
        trace = read_trace(path)  # type: ignore[arg-type]
        selection = LogSelection.from_config(trace.header.config)
        entries = _entries_in_trace(path, selection)
    except (OSError, ValueError, KeyError):
        return False
    return hashlib.sha256(b"".join(e.to_bytes() for e in entries)).hexdigest() == digest


def _store(device: BLEDevice, recording: LogRecording, selection: LogSelection,
           readout: Readout, options: SyncOptions, digest: str,
           memory: board_memory.BoardMemory) -> Any:
    wanted = set(recording.entries)
    events = [(t, "notify", METAWEAR_NOTIFY_UUID, payload)
              for t, payload in readout.notifications
              if any(e in wanted for e in mw.parse_entries(payload))]
    start_unix = float(selection.reference.time_of([recording.first_tick])[0])
    options.traces_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(c for c in device_key(device) if c.isalnum())
    path = options.traces_dir / f"{safe}_log_{recording.reset_uid}_{recording.first_tick}.swtrace"
    config = {"sample_rate_hz": memory.rate_hz, **selection.to_config(),
              "recording_id": recording.recording_id, "content_sha256": digest,
              "source": "on-board log"}
    write_events_trace(path, "metawear-log", events, device_name=device.name,
                       device_address=device.address, started_unix_s=start_unix,
                       config=config)
    if not _stored_ok(path, digest):
        path.unlink(missing_ok=True)
        raise SyncRefused(f"{path}: the written trace does not hold the downloaded entries; "
                          "nothing was stored or cleared")
    decoded = decode_trace(read_trace(path))
    if decoded.n_bad_notifications or len(decoded.t_s) * 2 != len(recording.entries):
        raise SyncRefused(f"{path}: the trace decodes to {len(decoded.t_s)} samples for "
                          f"{len(recording.entries)} entries")
    return path


async def start_or_stop_logging(
    device: BLEDevice, db: Any, *, start: bool, rate_hz: float = 50.0, range_g: float = 16.0,
    backend: type[BaseBleakClient] | None = None, out: Any = None,
    wall_clock: Callable[[], float] = time.time,
) -> None:
    """``sync --start`` / ``--stop`` on a MetaWear: loggers, clock reference, logging.

    A start is checked: the log must grow once logging runs, else the board's memory is
    full (logging stopped again, :data:`FULL` refusal); a board that does not answer the
    logger triggers has no free logger (:data:`NO_FREE_LOGGER`)."""
    name = device.name or device.address
    try:
        client, log = await _connect(device, backend, 10.0, wall_clock)
    except NotConnected as error:
        raise SyncRefused(BOARD_BUSY.format(device=name)) from error
    try:
        key = device_key(device)
        memory = board_memory.load(db, key) or board_memory.BoardMemory()
        tick, uid, unix_now = await log.read_time()
        memory.clocks.setdefault(uid, (tick, unix_now))
        if start:
            before = await log.read_length()
            # loggers made since the last reset still exist: log into them again
            kept = (memory.xy_logger, memory.z_logger) if memory.loggers_uid == uid else None
            try:
                loggers = await log.start_acc_logging(rate_hz, range_g, loggers=kept)
            except TimeoutError as error:
                raise SyncRefused(NO_FREE_LOGGER.format(device=name)) from error
            await asyncio.sleep(max(GROWTH_CHECK_S, 4.0 / rate_hz))
            if await log.read_length() <= before:
                await log.stop_acc_logging()
                raise SyncRefused(FULL)
            memory.xy_logger, memory.z_logger = loggers
            memory.loggers_uid = uid
            memory.rate_hz, memory.range_g = rate_hz, range_g
        else:
            await log.stop_acc_logging()
        board_memory.save(db, key, memory)
        if out is not None:
            out.write("logging on the board\n" if start else "logging stopped\n")
    finally:
        try:
            await client.disconnect()
        except BleakError:
            pass
