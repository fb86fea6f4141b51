"""Polar Verity Sense offline ACC recordings: start/stop over PMD, list/read/remove over PSFTP.

Facts (polarofficial/polar-ble-sdk: ``PmdControlPointCommand.kt``, ``PmdRecordingType.kt``,
``PmdActiveMeasurement.kt``, ``BlePMDClient.kt``, ``utils/PolarOfflineRecordingUtils.kt``,
``BDBleApiImpl.kt``; summarised in ``data/offline-recording.md``):

* offline recording is started and stopped on the PMD control point like a stream, with
  bit 7 of the measurement-type byte set: ``02 82 <settings>`` / ``03 82``; op ``05``
  asks for the measurement status, one byte per measurement: bits 6–7 = 1 online,
  2 offline, 3 both; bits 0–5 = the measurement type.
* recordings live under ``/U/0/<YYYYMMDD>/R/<HHMMSS>/`` as ``ACC0.REC``, ``ACC1.REC`` …
  (a long recording is split into numbered parts, read in order and joined); folders are
  directory entries whose name ends in ``/``; zero-size files are ignored.
* a recording is removed by removing its files, then each folder on the way up to
  ``/U/0`` that is left empty.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

from bleak import BleakClient

from firmware_bridge.offline.psftp_client import Progress, PsftpClient, Tap
from firmware_bridge.profiles.polar_pmd import (
    MEAS_ACC,
    OP_STOP,
    PMD_CONTROL_UUID,
    PmdResponse,
    parse_control_point,
    start_acc_payload,
)

OFFLINE_BIT = 0x80
OP_GET_MEASUREMENT_STATUS = 0x05
RECORDINGS_ROOT = "/U/0/"
#: Verity Sense offline ACC rates (Hz) and ranges (±g), firmware ≥ 2.1.0.
OFFLINE_ACC_RATES_HZ = (13, 26, 52)
OFFLINE_ACC_RANGES_G = (2, 4, 8, 16)

_DATE_DIR = re.compile(r"^\d{8}/$")
_TIME_DIR = re.compile(r"^\d{6}/$")
_ACC_PART = re.compile(r"^ACC(\d+)\.REC$")


def offline_start_acc_payload(sample_rate_hz: int, range_g: int) -> bytes:
    """``02 82 …``: start offline ACC at ``sample_rate_hz``, 16 bit, ±``range_g``, 3 channels."""
    if sample_rate_hz not in OFFLINE_ACC_RATES_HZ:
        allowed = ", ".join(map(str, OFFLINE_ACC_RATES_HZ))
        raise ValueError(f"offline ACC rate {sample_rate_hz} Hz is not offered (use {allowed})")
    if range_g not in OFFLINE_ACC_RANGES_G:
        allowed = ", ".join(map(str, OFFLINE_ACC_RANGES_G))
        raise ValueError(f"offline ACC range ±{range_g} g is not offered (use ±{allowed})")
    payload = bytearray(start_acc_payload(sample_rate_hz, range_g, 16, 3))
    payload[1] |= OFFLINE_BIT
    return bytes(payload)


def offline_stop_acc_payload() -> bytes:
    """``03 82``: stop the offline ACC recording."""
    return bytes([OP_STOP, MEAS_ACC | OFFLINE_BIT])


def measurement_status_payload() -> bytes:
    return bytes([OP_GET_MEASUREMENT_STATUS])


def parse_measurement_status(parameters: bytes) -> dict[int, tuple[bool, bool]]:
    """measurement type -> (online active, offline active) from a status response."""
    status: dict[int, tuple[bool, bool]] = {}
    for byte in parameters:
        state = byte >> 6
        status[byte & 0x3F] = (bool(state & 1), bool(state & 2))
    return status


@dataclass(frozen=True)
class OfflineRecording:
    """One recording on the sensor: its id (the SDK's grouped path), parts and start time.

    ``recording_id`` is ``/U/0/<date>/R/<time>/ACC.REC``; ``files`` are (path, size) of
    ``ACC0.REC``, ``ACC1.REC`` … in order; ``started`` comes from the folder names (the
    sensor's clock).
    """

    recording_id: str
    folder: str
    files: tuple[tuple[str, int], ...]
    started: datetime

    @property
    def size_bytes(self) -> int:
        return sum(size for _, size in self.files)


def recording_from_folder(folder: str, names: list[tuple[str, int]]) -> OfflineRecording | None:
    """The ACC recording in ``/U/0/<date>/R/<time>/`` given its directory entries (or None)."""
    parts = sorted(
        ((int(m.group(1)), name, size) for name, size in names
         if (m := _ACC_PART.match(name)) and size > 0),
    )
    if not parts:
        return None
    pieces = folder.strip("/").split("/")
    started = datetime.strptime(pieces[2] + pieces[4], "%Y%m%d%H%M%S")
    return OfflineRecording(
        recording_id=folder + "ACC.REC",
        folder=folder,
        files=tuple((folder + name, size) for _, name, size in parts),
        started=started,
    )


class PolarOfflineSensor:
    """Offline ACC on a connected Polar sensor (Verity Sense): PMD control + PSFTP files."""

    def __init__(self, client: BleakClient, psftp: PsftpClient | None = None) -> None:
        self.client = client
        self.psftp = psftp or PsftpClient(client)
        self._responses: list[PmdResponse] = []
        self._pmd_open = False

    async def open(self) -> None:
        await self.psftp.open()

    # -- PMD control point (offline bit) ------------------------------------------

    async def _pmd(self, payload: bytes) -> PmdResponse:
        if not self._pmd_open:
            await self.client.start_notify(PMD_CONTROL_UUID, self._on_control)
            self._pmd_open = True
        self._responses.clear()
        await self.client.write_gatt_char(PMD_CONTROL_UUID, payload, response=True)
        for _ in range(100):
            for response in self._responses:
                if response.op_code == payload[0]:
                    return response
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no PMD answer to {payload.hex()}")

    def _on_control(self, _char: object, data: bytearray) -> None:
        message = parse_control_point(bytes(data))
        if isinstance(message, PmdResponse):
            self._responses.append(message)

    async def start_acc(self, sample_rate_hz: int, range_g: int) -> PmdResponse:
        return await self._pmd(offline_start_acc_payload(sample_rate_hz, range_g))

    async def stop_acc(self) -> PmdResponse:
        return await self._pmd(offline_stop_acc_payload())

    async def offline_acc_active(self) -> bool:
        response = await self._pmd(measurement_status_payload())
        return parse_measurement_status(response.parameters).get(MEAS_ACC, (False, False))[1]

    # -- files --------------------------------------------------------------------

    async def list_recordings(self) -> list[OfflineRecording]:
        """Every ACC recording under ``/U/0/``, oldest first."""
        found: list[OfflineRecording] = []
        for date_name, _ in await self.psftp.list_directory(RECORDINGS_ROOT):
            if not _DATE_DIR.match(date_name):
                continue
            date_folder = RECORDINGS_ROOT + date_name
            if ("R/", 0) not in [(n, 0) for n, _ in await self.psftp.list_directory(date_folder)]:
                continue
            for time_name, _ in await self.psftp.list_directory(date_folder + "R/"):
                if not _TIME_DIR.match(time_name):
                    continue
                folder = date_folder + "R/" + time_name
                recording = recording_from_folder(folder, await self.psftp.list_directory(folder))
                if recording is not None:
                    found.append(recording)
        return sorted(found, key=lambda r: (r.started, r.recording_id))

    async def read_file(
        self, path: str, *, tap: Tap | None = None, progress: Progress | None = None
    ) -> bytes:
        return await self.psftp.get(path, tap=tap, progress=progress)

    async def remove_recording(self, recording: OfflineRecording) -> None:
        """Remove the recording's files, then each folder up to ``/U/0`` left empty."""
        for path, _ in recording.files:
            await self.psftp.remove(path)
        folder = recording.folder
        while len(folder) > len(RECORDINGS_ROOT):
            if await self.psftp.list_directory(folder):
                break
            await self.psftp.remove(folder)
            folder = folder[: folder.rstrip("/").rfind("/") + 1]
