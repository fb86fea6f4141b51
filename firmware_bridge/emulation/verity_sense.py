"""A bumble peripheral that behaves like a Polar Verity Sense holding offline recordings.

GATT: Device Information, the PMD service (control point read/write/indicate, data
notify) and Polar's file transfer service 0xFEEE (MTU characteristic FB005C51 write +
notify, FB005C52 notify, FB005C53 write). Behaviour, byte for byte as described in
``data/offline-recording.md``:

- PMD ``02 02 <settings>`` starts an online ACC stream (answer ``F0 02 02 00``): int16
  frames in mg on the PMD data characteristic, stamped on the sensor clock, sampled from
  ``online_source`` (what the wearer does while connected, e.g. standing for the guided
  calibration of ``sync --start``); ``03 02`` stops it;
- PMD ``02 82 <settings>`` starts an offline ACC recording (answer ``F0 02 82 <status>``:
  14 DISK_FULL when the memory is full, 6 ALREADY_IN_STATE when one runs); ``03 82``
  stops it and files it as ``/U/0/<date>/R/<time>/ACC0.REC`` (ACC1… when long);
  ``05`` answers the measurement status;
- PSFTP GET of a folder answers a ``PbPFtpDirectory``, GET of a file its bytes, REMOVE
  deletes a file or an empty folder; while a recording runs every request gets error
  202 (SYSTEM_BUSY), as the real sensor does; unknown paths get 103;
- an unbonded link (``bonded=False``) refuses PSFTP writes with ATT error 0x05
  (insufficient authentication);
- responses are paced to ``throughput_bytes_per_s`` (emulated time) and the link can be
  dropped once after a given number of bytes of a file (``drop_after_bytes``).

Recordings come from synthetic walks sampled at the recording rate; every sample
stored is kept in :attr:`VeritySenseEmulator.recordings` (counts and sensor-clock
times) as the truth to compare a download with.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import numpy as np
from bleak.backends.device import BLEDevice
from bumble import att, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from firmware_bridge.emulation import pmd_device_bytes as pmd_bytes
from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.peripheral_shutdown import shut_down
from firmware_bridge.emulation.polar_offline_bytes import (
    acc_factor,
    air_packets,
    delta_frame,
    error_packet,
    rec_file,
)
from firmware_bridge.emulation.radio import EmulatedRadio
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.offline import pftp_messages as pftp

logger = logging.getLogger(__name__)

SENSE_NAME = "Polar Sense 5E7A0C11"
SENSE_ADDRESS = "A0:9E:1A:5E:7A:0C"
PMD_SERVICE = "FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"
PMD_CONTROL = "FB005C81-02E7-F387-1CAD-8ACD2D8DF0C8"
PMD_DATA = "FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8"
PSFTP_SERVICE_16 = 0xFEEE
PSFTP_MTU = "FB005C51-02E7-F387-1CAD-8ACD2D8DF0C8"
PSFTP_D2H = "FB005C52-02E7-F387-1CAD-8ACD2D8DF0C8"
PSFTP_H2D = "FB005C53-02E7-F387-1CAD-8ACD2D8DF0C8"
POLAR_EPOCH_S = 946_684_800
SYSTEM_BUSY = 202
NO_SUCH_FILE = 103
NOT_PERMITTED = 106
PMD_DISK_FULL = 14
PMD_ALREADY = 6
PMD_INVALID_RATE = 8
#: The sensor's clock at power-on (2025-01-06 09:00:00 UTC) and how far apart recordings are.
CLOCK_START = datetime(2025, 1, 6, 9, 0, 0)
#: The sensor's clock at emulated time 0 (after the sample recordings were made).
POWER_ON = CLOCK_START + timedelta(hours=8)
#: Part files are cut at about this many bytes (the real sensor splits long recordings).
DEFAULT_PART_BYTES = 256 * 1024
FRAME_SAMPLES = 36


@dataclass(frozen=True)
class RecordedWalk:
    """Truth of one recording held by the emulator: counts (n, 3) int16 and their times."""

    folder: str
    started: datetime
    rate_hz: int
    range_g: int
    counts: np.ndarray
    t_unix_s: np.ndarray

    @property
    def acc_g(self) -> np.ndarray:
        return self.counts.astype(np.float64) * acc_factor(self.range_g)

    @property
    def recording_id(self) -> str:
        return self.folder + "ACC.REC"


@dataclass(frozen=True)
class SenseBehaviour:
    """Knobs for tests. ``drop_after_bytes`` maps a file path to the bytes after which the
    link is lost (once); the sensor then accepts no connection for ``down_s`` emulated s."""

    bonded: bool = True
    recording_active: bool = False
    memory_full: bool = False
    throughput_bytes_per_s: float | None = None
    drop_after_bytes: Mapping[str, int] = field(default_factory=dict)
    down_s: float = 0.5
    max_mtu: int = 232
    part_bytes: int = DEFAULT_PART_BYTES
    advertising_interval_ms: float = 20.0


def sample_walk_recordings(
    count: int = 3, *, rate_hz: int = 52, range_g: int = 8, walk_s: float = 60.0
) -> list[tuple[datetime, np.ndarray]]:
    """``count`` synthetic walks (start time on the sensor clock, acc in g at ``rate_hz``)."""
    walks = []
    for k in range(count):
        walk = synthetic_walk(walk_s + 20.0 * k, rate_hz=float(rate_hz), seed=11 + k,
                              cadence_spm=104.0 + 6 * k, lean_forward_deg=4.0 + 3 * k)
        walks.append((CLOCK_START + timedelta(hours=2 * k, minutes=7 * k), walk.acc_g))
    return walks


class VeritySenseEmulator:
    """An emulated Verity Sense on ``radio`` holding ``recordings`` ((start, acc_g) pairs)."""

    def __init__(
        self,
        radio: EmulatedRadio,
        recordings: Sequence[tuple[datetime, np.ndarray]] = (),
        *,
        rate_hz: int = 52,
        range_g: int = 8,
        behaviour: SenseBehaviour | None = None,
        clock: EmulatedClock | None = None,
        name: str = SENSE_NAME,
        address: str = SENSE_ADDRESS,
        live_source: np.ndarray | None = None,
        online_source: np.ndarray | None = None,
        online_source_rate_hz: float = 52.0,
    ) -> None:
        self.radio = radio
        self.behaviour = behaviour or SenseBehaviour()
        self.clock = clock or EmulatedClock()
        self.name = name
        self.address = address.upper()
        #: path -> bytes, the sensor's file system (folders are implied by the paths).
        self.files: dict[str, bytes] = {}
        #: Every folder that exists (paths end in /).
        self.folders: set[str] = {"/U/0/"}
        #: Truth of every recording stored, by folder.
        self.recordings: dict[str, RecordedWalk] = {}
        #: (op, path, result code) of every PSFTP request, in order.
        self.psftp_log: list[tuple[str, str, int]] = []
        #: Every path removed.
        self.removed: list[str] = []
        self.link_log: list[tuple[float, str, int]] = []
        self.recording_active = self.behaviour.recording_active
        self._live_source = live_source
        self._online_source = online_source
        self._online_source_rate_hz = online_source_rate_hz
        self._online: asyncio.Task[None] | None = None
        #: Samples sent on the online stream (source indices, in order).
        self.online_sent: list[int] = []
        self._live: tuple[float, int, int] | None = None  # (start emulated s, rate, range)
        self._drops_done: set[str] = set()
        self._accept_after_s = 0.0
        self._closing = False
        self._connection: Connection | None = None
        self._subscribed: dict[int, tuple[bool, bool]] = {}
        self._requests: dict[int, bytearray] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._psftp_lock = asyncio.Lock()
        for started, acc_g in recordings:
            self.store_recording(started, np.asarray(acc_g), rate_hz, range_g)
        self._device = radio.create_device(name, hci.Address(self.address))
        self._device.gatt_server.max_mtu = self.behaviour.max_mtu
        self._build_gatt()

    # -- recordings ------------------------------------------------------------------

    def store_recording(self, started: datetime, acc_g: np.ndarray, rate_hz: int,
                        range_g: int) -> RecordedWalk:
        """Quantise ``acc_g`` as the sensor does and file it as ACC0.REC (ACC1 … if long)."""
        factor = acc_factor(range_g)
        counts = np.clip(np.rint(acc_g / factor), -32768, 32767).astype(np.int64)
        start_ns = round((started.replace(tzinfo=UTC).timestamp() - POLAR_EPOCH_S) * 1e9)
        stamps_ns = start_ns + np.rint(np.arange(len(counts)) * 1e9 / rate_hz).astype(np.int64)
        frames = [
            delta_frame(int(stamps_ns[min(i + FRAME_SAMPLES, len(counts)) - 1]),
                        counts[i : i + FRAME_SAMPLES])
            for i in range(0, len(counts), FRAME_SAMPLES)
        ]
        folder = f"/U/0/{started:%Y%m%d}/R/{started:%H%M%S}/"
        parts: list[list[bytes]] = [[]]
        size = 0
        for frame in frames:
            if parts[-1] and size + len(frame) > self.behaviour.part_bytes:
                parts.append([])
                size = 0
            parts[-1].append(frame)
            size += len(frame) + 2
        pieces = folder.strip("/").split("/")
        for depth in range(3, len(pieces) + 1):
            self.folders.add("/" + "/".join(pieces[:depth]) + "/")
        for k, part in enumerate(parts):
            self.files[f"{folder}ACC{k}.REC"] = rec_file(started, rate_hz, range_g, part)
        truth = RecordedWalk(folder, started, rate_hz, range_g, counts.astype(np.int16),
                             (stamps_ns / 1e9) + POLAR_EPOCH_S)
        self.recordings[folder] = truth
        return truth

    def sensor_now(self) -> datetime:
        """The sensor's clock now."""
        return POWER_ON + timedelta(seconds=self.clock.now_s())

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def ble_device(self) -> BLEDevice:
        return self.radio.ble_device(self.address)

    @property
    def connected(self) -> bool:
        return self._connection is not None

    async def start(self) -> None:
        self._device.on(self._device.EVENT_CONNECTION, self._on_connection)
        await self._device.power_on()
        self.clock.start()
        await self._advertise()

    async def close(self) -> None:
        self._closing = True
        await shut_down(self._device, self._connection, self._tasks)

    async def __aenter__(self) -> VeritySenseEmulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # -- GATT ------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        self._cp = Characteristic(
            UUID(PMD_CONTROL),
            Characteristic.Properties.READ | Characteristic.Properties.WRITE
            | Characteristic.Properties.INDICATE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _c: bytes([0x0F, 0x04, 0x00]),
                                write=self._write_control),
        )
        self._data = Characteristic(UUID(PMD_DATA), Characteristic.Properties.NOTIFY,
                                    Characteristic.READABLE, b"")
        self._mtu = Characteristic(
            UUID(PSFTP_MTU),
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE
            | Characteristic.Properties.NOTIFY,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._write_psftp),
        )
        self._d2h = Characteristic(UUID(PSFTP_D2H), Characteristic.Properties.NOTIFY,
                                   Characteristic.READABLE, b"")
        self._h2d = Characteristic(UUID(PSFTP_H2D), Characteristic.Properties.WRITE,
                                   Characteristic.WRITEABLE, CharacteristicValue(write=None))
        for characteristic in (self._cp, self._data, self._mtu, self._d2h):
            characteristic.on(characteristic.EVENT_SUBSCRIPTION, self._subscription(characteristic))
        self._device.add_services([
            Service(UUID.from_16_bits(0x180A), [
                Characteristic(UUID.from_16_bits(0x2A29), Characteristic.Properties.READ,
                               Characteristic.READABLE, b"Polar Electro Oy"),
                Characteristic(UUID.from_16_bits(0x2A24), Characteristic.Properties.READ,
                               Characteristic.READABLE, b"Polar Sense"),
                Characteristic(UUID.from_16_bits(0x2A26), Characteristic.Properties.READ,
                               Characteristic.READABLE, b"2.1.8"),
            ]),
            Service(UUID(PMD_SERVICE), [self._cp, self._data]),
            Service(UUID.from_16_bits(PSFTP_SERVICE_16), [self._mtu, self._d2h, self._h2d]),
        ])

    def _subscription(self, characteristic: Characteristic):  # noqa: ANN202
        def on_subscription(_bearer: object, notify: bool, indicate: bool) -> None:
            self._subscribed[characteristic.handle] = (notify, indicate)

        return on_subscription

    def _advertising_data(self) -> bytes:
        return bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
            (AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
             struct.pack("<H", PSFTP_SERVICE_16)),
        ]))

    async def _advertise(self) -> None:
        interval = self.behaviour.advertising_interval_ms
        await self._device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM,
            advertising_data=self._advertising_data(),
            advertising_interval_min=interval, advertising_interval_max=interval,
        )

    async def _advertise_when_allowed(self) -> None:
        await self.clock.sleep_until(self._accept_after_s)
        if not self._closing and self._connection is None:
            await self._advertise()

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._subscribed.clear()
        self._requests.clear()
        self.link_log.append((self.clock.now_s(), "connected", 0))
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self.link_log.append((self.clock.now_s(), "disconnected", reason))
        self._connection = None
        self._subscribed.clear()
        if not self._closing:
            self._spawn(self._advertise_when_allowed())

    async def drop_link(self) -> None:
        """Lose the link now (supervision timeout); no connection for ``down_s``."""
        self._accept_after_s = self.clock.now_s() + self.behaviour.down_s
        if self._connection is not None:
            await self._connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)

    # -- PMD control point -----------------------------------------------------------------------

    def _write_control(self, connection: Connection, value: bytes) -> None:
        self._spawn(self._answer_control(connection, bytes(value)))

    async def _answer_control(self, connection: Connection, request: bytes) -> None:
        op = request[0] if request else 0
        if op == 0x05:
            state = (2 << 6) if self.recording_active else 0
            await self._indicate(connection, bytes([0xF0, 0x05, 0x00, 0x00, 0x00, state | 0x02]))
            return
        mtype = request[1] if len(request) > 1 else 0
        status = 3  # not supported
        if mtype == 0x02 and op == 0x02:
            status = self._start_online(connection, request[2:])
        elif mtype == 0x02 and op == 0x03:
            status = self._stop_online()
        elif mtype == 0x82 and op == 0x02:
            status = self._start_offline(request[2:])
        elif mtype == 0x82 and op == 0x03:
            status = self._stop_offline()
        await self._indicate(connection, bytes([0xF0, op, mtype, status, 0x00]))

    def _start_online(self, connection: Connection, body: bytes) -> int:
        if self._online is not None and not self._online.done():
            return PMD_ALREADY
        try:
            settings = {k: v[0] for k, v in pmd_bytes.parse_settings(body).items() if v}
        except ValueError:
            return PMD_INVALID_RATE
        rate = settings.get(0, 52)
        if rate not in (26, 52, 104, 208, 416):
            return PMD_INVALID_RATE
        task = asyncio.get_running_loop().create_task(self._stream_online(connection, rate))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        self._online = task
        return 0

    def _stop_online(self) -> int:
        if self._online is None or self._online.done():
            return PMD_ALREADY
        self._online.cancel()
        self._online = None
        return 0

    async def _stream_online(self, connection: Connection, rate: int) -> None:
        """Frames of int16 mg samples at ``rate`` while the link lasts (source repeats)."""
        source = self._online_source
        if source is None or len(source) == 0:
            return
        per_frame = pmd_bytes.acc_samples_per_frame(connection.att_mtu)
        t0 = self.clock.now_s()
        start_ns = round((self.sensor_now().replace(tzinfo=UTC).timestamp() - POLAR_EPOCH_S)
                         * 1e9)
        j = 0
        while self._connection is connection and not self._closing:
            await self.clock.sleep_until(t0 + (j + per_frame) / rate)
            index = (np.arange(j, j + per_frame) * self._online_source_rate_hz / rate
                     ).astype(np.int64) % len(source)
            mg = np.rint(source[index] * 1000.0).astype(np.int64)
            stamp = start_ns + round((j + per_frame - 1) * 1e9 / rate)
            if self._subscribed.get(self._data.handle, (False, False))[0]:
                await self._device.notify_subscriber(
                    connection, self._data, pmd_bytes.acc_frame_int16(stamp, mg))
                self.online_sent.extend(int(i) for i in index)
            j += per_frame

    def _start_offline(self, body: bytes) -> int:
        if self.recording_active:
            return PMD_ALREADY
        if self.behaviour.memory_full:
            return PMD_DISK_FULL
        settings: dict[int, int] = {}
        i = 0
        while i + 2 <= len(body):
            kind, count = body[i], body[i + 1]
            width = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}.get(kind, 0)
            if count:
                settings[kind] = int.from_bytes(body[i + 2 : i + 2 + width], "little")
            i += 2 + count * width
        rate = settings.get(0, 52)
        if rate not in (13, 26, 52):
            return PMD_INVALID_RATE
        self.recording_active = True
        self._live = (self.clock.now_s(), rate, settings.get(2, 8))
        return 0

    def _stop_offline(self) -> int:
        if not self.recording_active:
            return PMD_ALREADY
        self.recording_active = False
        if self._live is not None and self._live_source is not None:
            start_s, rate, range_g = self._live
            n = int((self.clock.now_s() - start_s) * rate)
            source = self._live_source[: max(n, 1)]
            started = POWER_ON + timedelta(seconds=math.floor(start_s))
            self.store_recording(started, source, rate, range_g)
        self._live = None
        return 0

    async def _indicate(self, connection: Connection, payload: bytes) -> None:
        if self._subscribed.get(self._cp.handle, (False, False))[1]:
            await self._device.indicate_subscriber(connection, self._cp, payload)

    # -- PSFTP -----------------------------------------------------------------------------------

    def _write_psftp(self, connection: Connection, value: bytes) -> None:
        if not self.behaviour.bonded:
            raise att.ATT_Error(att.ErrorCode.INSUFFICIENT_AUTHENTICATION)
        packet = bytes(value)
        if packet == bytes(3):  # host cancels the response in progress
            self._requests.pop(connection.handle, None)
            return
        header = packet[0]
        buffer = self._requests.setdefault(connection.handle, bytearray())
        if not header & 0x01:
            buffer.clear()
        buffer += packet[1:]
        if (header >> 1) & 0x03 == 1:  # last packet of the request
            message = bytes(buffer)
            buffer.clear()
            self._spawn(self._answer_psftp(connection, message))

    async def _answer_psftp(self, connection: Connection, message: bytes) -> None:
        async with self._psftp_lock:
            length = int.from_bytes(message[:2], "little") & 0x7FFF
            try:
                command, path = pftp.parse_operation(message[2 : 2 + length])
            except ValueError:
                await self._send(connection, [error_packet(101)])
                return
            code, body = self._operate(command, path)
            self.psftp_log.append((command.name, path, code))
            if code:
                await self._send(connection, [error_packet(code)])
            elif body is None:
                await self._send(connection, [error_packet(0)])
            else:
                packets = air_packets(body, connection.att_mtu - 3)
                await self._send(connection, packets, path)

    def _operate(self, command: pftp.Command, path: str) -> tuple[int, bytes | None]:
        if self.recording_active:
            return SYSTEM_BUSY, None
        if command == pftp.Command.GET:
            if path in self.files:
                return 0, self.files[path]
            if path.endswith("/"):
                entries = self._listing(path)
                if entries is None:
                    return NO_SUCH_FILE, None
                return 0, pftp.directory(entries)
            return NO_SUCH_FILE, None
        if command == pftp.Command.REMOVE:
            if path in self.files:
                del self.files[path]
                self.removed.append(path)
                return 0, None
            folder = path if path.endswith("/") else path + "/"
            entries = self._listing(folder)
            if entries is None:
                return NO_SUCH_FILE, None
            if entries:
                return NOT_PERMITTED, None
            self.folders.discard(folder)
            self.removed.append(folder)
            return 0, None
        return 201, None  # PUT / MERGE are not emulated

    def _listing(self, folder: str) -> list[tuple[str, int]] | None:
        if folder not in self.folders:
            return None
        entries: dict[str, int] = {}
        for child in self.folders:
            rest = child[len(folder):]
            if child.startswith(folder) and rest and rest.count("/") == 1:
                entries[rest] = 0
        for p, data in self.files.items():
            rest = p[len(folder):]
            if p.startswith(folder) and "/" not in rest:
                entries[rest] = len(data)
        return sorted(entries.items())

    async def _send(self, connection: Connection, packets: list[bytes], path: str = "") -> None:
        rate = self.behaviour.throughput_bytes_per_s
        drop_at = self.behaviour.drop_after_bytes.get(path)
        if path in self._drops_done:
            drop_at = None
        sent = 0
        on_air = 0  # bytes the link has carried for this response
        t0 = self.clock.now_s()
        for packet in packets:
            if self._connection is not connection:
                return
            if not self._subscribed.get(self._mtu.handle, (False, False))[0]:
                return
            if rate:  # the link carries `rate` bytes per second, whatever else runs meanwhile
                on_air += len(packet)
                await self.clock.sleep_until(t0 + on_air / rate)
            await self._device.notify_subscriber(connection, self._mtu, packet)
            sent += len(packet) - 1
            if drop_at is not None and sent >= drop_at:
                self._drops_done.add(path)
                await self.drop_link()
                return

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Verity Sense emulator task failed", exc_info=task.exception())
