"""`sync` for a Polar Verity Sense: list, download, verify, store, then (optionally) delete.

Order of a recording's life, so that nothing on the sensor is lost:

1. download every part file (ACC0.REC, ACC1.REC …) over PSFTP, checking each size
   against the listing and that the file parses;
2. write the raw transfer as a ``.swtrace`` (temp file + rename), read it back and check
   it holds exactly the downloaded bytes (same SHA-256) and decodes to the same samples;
3. analyse it and file it as a session (patient, device, start on the sensor clock),
   then add its row to the ``synced_recordings`` ledger;
4. only with ``--delete``, and only once 1–3 are done (or the ledger row and its trace
   are verified on a later run), remove it from the sensor.

A lost link during a download reconnects and restarts that recording; recordings already
stored are skipped by the ledger, so a second run stores nothing twice.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from analysis.rules import RuleSet
from firmware_bridge.offline.offline_trace import (
    FileTransfer,
    content_sha256,
    files_in_trace,
    write_offline_trace,
)
from firmware_bridge.offline.polar_offline import OfflineRecording, PolarOfflineSensor
from firmware_bridge.offline.polar_rec import RecFormatError, parse_rec, start_unix_s
from firmware_bridge.offline.psftp import PsftpError
from firmware_bridge.offline.psftp_client import LinkLost, NotBonded
from firmware_bridge.profiles.polar_pmd import PmdStatus
from firmware_bridge.trace import decode_trace, read_trace
from stridewatch.store import synced_recordings as ledger
from stridewatch.sync.filing import file_trace_as_session
from stridewatch.sync.messages import (
    BUSY,
    FULL,
    LINK_GAVE_UP,
    NOT_BONDED,
    SyncRefused,
)
from stridewatch.sync.progress import DownloadProgress

#: Delays (s) between reconnect attempts after a drop; then the run gives up.
RECONNECT_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class SyncOptions:
    db: Path
    traces_dir: Path
    rules: RuleSet
    patient_id: str | None = None
    delete: bool = False
    out: TextIO = field(default_factory=lambda: sys.stderr)
    reconnect_delays_s: tuple[float, ...] = RECONNECT_DELAYS_S
    connect_timeout_s: float = 10.0
    #: Unix time now (the host's wall clock; an emulated world passes its own).
    wall_clock: Callable[[], float] = time.time


@dataclass
class SyncReport:
    """What a run did, by recording id."""

    stored: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)
    traces: list[Path] = field(default_factory=list)
    reconnects: int = 0
    download_s: float = 0.0


def device_key(device: BLEDevice) -> str:
    """How a sensor is named in the ledger: its address, upper case."""
    return device.address.upper()


def trace_name(device: BLEDevice, recording: OfflineRecording) -> str:
    safe = "".join(c for c in device_key(device) if c.isalnum())
    return f"{safe}_{recording.started:%Y%m%d_%H%M%S}_ACC.swtrace"


class _Link:
    """One sensor connection that can be re-established after a drop."""

    def __init__(self, device: BLEDevice, backend: type[BaseBleakClient] | None,
                 delays_s: tuple[float, ...] = RECONNECT_DELAYS_S,
                 connect_timeout_s: float = 10.0) -> None:
        self.device = device
        self.backend = backend
        self.delays_s = delays_s
        self.connect_timeout_s = connect_timeout_s
        self.client: BleakClient | None = None
        self.sensor: PolarOfflineSensor | None = None

    async def open(self) -> PolarOfflineSensor:
        kwargs: dict[str, Any] = {} if self.backend is None else {"backend": self.backend}
        client = BleakClient(self.device, timeout=self.connect_timeout_s, **kwargs)
        await client.connect()
        self.client = client
        sensor = PolarOfflineSensor(client)
        try:
            await sensor.open()
        except NotBonded as error:
            raise SyncRefused(NOT_BONDED.format(device=self.device.name or self.device.address)
                              ) from error
        self.sensor = sensor
        return sensor

    async def reopen(self, out: TextIO) -> PolarOfflineSensor:
        await self.close()
        for delay in self.delays_s:
            await asyncio.sleep(delay)
            try:
                return await self.open()
            except (BleakError, TimeoutError, OSError) as error:
                out.write(f"  reconnect failed ({error}); retrying\n")
        raise SyncRefused(LINK_GAVE_UP)

    async def close(self) -> None:
        if self.client is not None:
            try:
                await self.client.disconnect()
            except (BleakError, OSError):
                pass
        self.client = None
        self.sensor = None


async def _download(
    link: _Link, recording: OfflineRecording, options: SyncOptions, report: SyncReport,
    clock: Callable[[], float],
) -> tuple[list[bytes], list[FileTransfer]]:
    """Every part file of ``recording``, restarting the recording after a lost link."""
    progress = DownloadProgress(
        options.out, f"{recording.started:%Y-%m-%d %H:%M:%S}", recording.size_bytes, clock
    )
    while True:
        sensor = link.sensor or await link.reopen(options.out)
        contents: list[bytes] = []
        transfers: list[FileTransfer] = []
        progress.restart()
        started = clock()
        try:
            for path, size in recording.files:
                transfer = FileTransfer(path)

                def tap(direction: str, _char: str, payload: bytes,
                        transfer: FileTransfer = transfer) -> None:
                    transfer.packets.append((clock(), direction, payload))

                data = await sensor.read_file(path, tap=tap, progress=progress.update)
                if len(data) != size:
                    raise SyncRefused(f"{path}: downloaded {len(data)} bytes, the sensor listed "
                                      f"{size}; nothing was stored or deleted")
                try:
                    parse_rec(data, path)
                except RecFormatError as error:
                    raise SyncRefused(f"{error}; nothing was stored or deleted") from error
                progress.add_finished(len(data))
                contents.append(data)
                transfers.append(transfer)
            report.download_s += clock() - started
            progress.update(0, final=True)
            return contents, transfers
        except LinkLost:
            report.reconnects += 1
            options.out.write(f"\n  link lost during {recording.recording_id}; reconnecting "
                              "to restart it (nothing on the sensor is touched)\n")
            await link.reopen(options.out)


def _stored_copy_ok(row: ledger.SyncedRecording) -> bool:
    """The ledger row's trace exists and still holds exactly the content it was stored with."""
    try:
        files = files_in_trace(read_trace(row.trace_path))
    except (OSError, ValueError):
        return False
    return content_sha256([content for _, content in files]) == row.content_sha256


def _store(
    device: BLEDevice, recording: OfflineRecording, contents: list[bytes],
    transfers: list[FileTransfer], options: SyncOptions, report: SyncReport,
) -> ledger.SyncedRecording:
    """Trace, verification, session and ledger row for one downloaded recording."""
    digest = content_sha256(contents)
    key = device_key(device)
    for row in ledger.synced(options.db, key, recording.recording_id):
        if row.content_sha256 == digest and _stored_copy_ok(row):
            return row
    first = parse_rec(contents[0], recording.files[0][0])
    options.traces_dir.mkdir(parents=True, exist_ok=True)
    path = options.traces_dir / trace_name(device, recording)
    if path.exists():
        path = path.with_name(f"{path.stem}_{digest[:8]}{path.suffix}")
    write_offline_trace(
        path, transfers, device_name=device.name, device_address=device.address,
        started_unix_s=start_unix_s(first),
        config={"sample_rate_hz": first.sample_rate_hz, "range_g": first.range_g,
                "recording_id": recording.recording_id, "content_sha256": digest,
                "source": "offline recording"},
    )
    trace = read_trace(path)
    if content_sha256([c for _, c in files_in_trace(trace)]) != digest:
        path.unlink(missing_ok=True)
        raise SyncRefused(f"{path}: the written trace does not hold the downloaded bytes; "
                          "nothing was stored or deleted")
    decoded = decode_trace(trace)
    if decoded.n_bad_notifications:
        raise SyncRefused(f"{path}: {decoded.problems[0]}")
    session_id = file_trace_as_session(path, options.db, options.rules, options.patient_id,
                                       options.out)
    ledger.record_synced(options.db, key, recording.recording_id, digest, session_id, path)
    report.traces.append(path)
    if session_id is not None:
        report.sessions.append(session_id)
    report.stored.append(recording.recording_id)
    return ledger.synced(options.db, key, recording.recording_id)[-1]


async def sync_polar(
    device: BLEDevice,
    options: SyncOptions,
    *,
    backend: type[BaseBleakClient] | None = None,
    clock: Callable[[], float] | None = None,
) -> SyncReport:
    """Sync every ACC recording on ``device`` (a Verity Sense the user chose)."""
    clock = clock or asyncio.get_running_loop().time
    report = SyncReport()
    link = _Link(device, backend, options.reconnect_delays_s, options.connect_timeout_s)
    try:
        await _sync_recordings(link, device, options, report, clock)
    except NotBonded as error:
        raise SyncRefused(NOT_BONDED.format(device=device.name or device.address)) from error
    finally:
        await link.close()
    return report


async def _sync_recordings(
    link: _Link, device: BLEDevice, options: SyncOptions, report: SyncReport,
    clock: Callable[[], float],
) -> None:
    out = options.out
    try:
        sensor = await link.open()
    except (BleakError, TimeoutError) as error:
        raise SyncRefused(f"cannot connect to {device.name or device.address}: {error}"
                          ) from error
    try:
        recordings = await sensor.list_recordings()
    except PsftpError as error:
        raise _refusal(error) from error
    except LinkLost:
        sensor = await link.reopen(out)
        recordings = await sensor.list_recordings()
    key = device_key(device)
    out.write(f"{device.name or key}: {len(recordings)} recording(s) on the sensor\n")
    for recording in recordings:
        rows = ledger.synced(options.db, key, recording.recording_id)
        row = next((r for r in rows if _stored_copy_ok(r)), None)
        if row is not None:
            report.already.append(recording.recording_id)
            out.write(f"  {recording.started:%Y-%m-%d %H:%M:%S}: already stored "
                      f"({row.trace_path.name})\n")
        else:
            try:
                contents, transfers = await _download(link, recording, options, report,
                                                      clock)
            except PsftpError as error:
                raise _refusal(error) from error
            row = _store(device, recording, contents, transfers, options, report)
            out.write(f"  stored as {row.trace_path.name}"
                      + (f", session {row.session_id}" if row.session_id else "") + "\n")
        if options.delete:
            if not _stored_copy_ok(row):
                out.write(f"  not deleting {recording.recording_id}: its stored copy "
                          "could not be verified\n")
                continue
            sensor = link.sensor or await link.reopen(out)
            try:
                await sensor.remove_recording(recording)
            except LinkLost:
                sensor = await link.reopen(out)
                await sensor.remove_recording(recording)
            except PsftpError as error:
                raise _refusal(error) from error
            report.deleted.append(recording.recording_id)
            out.write("  deleted on the sensor\n")


def _refusal(error: PsftpError) -> SyncRefused:
    if error.code == 202:
        return SyncRefused(BUSY)
    if error.code == 205:
        return SyncRefused(FULL)
    return SyncRefused(f"the sensor refused the transfer: {error}")


async def start_or_stop_recording(
    device: BLEDevice, *, start: bool, rate_hz: int = 52, range_g: int = 8,
    backend: type[BaseBleakClient] | None = None, out: TextIO | None = None,
) -> None:
    """``sync --start`` / ``--stop``: start or stop the offline ACC recording (messages to
    ``out``, standard error by default: looked up when called, not when imported)."""
    out = sys.stderr if out is None else out
    link = _Link(device, backend)
    try:
        try:
            sensor = await link.open()
        except (BleakError, TimeoutError) as error:
            raise SyncRefused(f"cannot connect to {device.name or device.address}: {error}"
                              ) from error
        response = await (sensor.start_acc(rate_hz, range_g) if start else sensor.stop_acc())
        if response.status == PmdStatus.DISK_FULL:
            raise SyncRefused(FULL)
        if response.status == PmdStatus.ALREADY_IN_STATE:
            out.write("the sensor was already " + ("recording\n" if start else "stopped\n"))
            return
        if not response.ok:
            raise SyncRefused(f"the sensor refused: status {response.status} "
                              f"{response.status_name}")
        if start:
            out.write(f"recording on the sensor at {rate_hz} Hz, ±{range_g} g; walk, then run "
                      "`stridewatch sync --stop` and `stridewatch sync`\n")
        else:
            out.write("recording stopped; run `stridewatch sync` to download it\n")
    finally:
        await link.close()
