"""A bumble peripheral that behaves like a MbientLab MetaMotion board (BMI160), byte for byte.

GATT: the MetaWear service 326A9000 with its command characteristic 9001 (write, write
without response) and notify characteristic 9006, and Device Information. Behaviour
(facts in ``data/offline-recording.md`` and ../shared/reference/sensor-protocols.md):

- accelerometer 0x03: ``03 03 <conf> <range>`` configures, ``03 04 01`` subscribes,
  ``03 01 01`` starts: ``03 04`` + int16 x,y,z notifications at the configured rate
  (host arrival time is the only clock, as with the real board);
- logger 0x0B: ``0B 02 03 04 FF 60`` / ``… 24`` create the x,y and z loggers (answer
  ``0B 02 <id>``); ``0B 01 01`` logs the accelerometer into entries
  ``(reset_uid<<5)|id, tick u32, data u32`` (one tick = 48/32768 s, wrapping at 2³²);
  ``0B 84`` / ``0B 85`` answer the time and the number of entries; ``0B 06 n k`` reads
  out n entries two per ``0B 07`` notification, ``0B 08 <left>`` every k entries, and
  after each page of ``page_entries`` sends ``0B 0D`` and waits for ``0B 0E``;
  ``0B 09 FF FF FF FF`` clears what was read;
- haptic 0x08: ``08 01 <duty> <pulse ms u16> <0 motor|1 buzzer>`` is logged in
  :attr:`MetaWearEmulator.haptic_log` as a :class:`HapticReceipt` (the board's clock and
  the stream's sample time when the write arrived, and the payload) when the board has a
  motor. Run on a virtual-time loop (tests/ble_harness.py), both are exact whatever the
  machine's load.

Tests set faults in :class:`BoardBehaviour` (drop the link once after some entries,
pace the readout) and the MetaWear equivalents of a busy or full sensor
(``data/offline-recording.md``): ``other_central`` — the board is connected to another app
(it accepts one central at a time and stops advertising while connected, so it is not
found and cannot be connected); ``log_capacity_entries`` — the log memory holds this many
entries, and once full a logger started without overwrite (``0B 0B 00``) drops every new
sample (with overwrite the oldest entries go); ``logger_slots`` — how many loggers the
board can hold (the SDK's module info ``extra[0]``): a trigger beyond them gets no answer.
There is no "unbonded" fault: MetaWear boards do not use bonding (the SDK connects and
logs without pairing). Recordings stored with :meth:`store_recording` keep their truth.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
from bleak.backends.device import BLEDevice
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.peripheral_shutdown import shut_down
from firmware_bridge.emulation.radio import EmulatedRadio

logger = logging.getLogger(__name__)

BOARD_NAME = "MetaWear"
BOARD_ADDRESS = "F1:4A:3C:00:7E:21"
SERVICE = "326A9000-85CB-9195-D9DD-464CFBBAE75A"
COMMAND = "326A9001-85CB-9195-D9DD-464CFBBAE75A"
NOTIFY = "326A9006-85CB-9195-D9DD-464CFBBAE75A"
TICK_S = 48.0 / 32768.0
_RATES = {0x05: 12.5, 0x06: 25.0, 0x07: 50.0, 0x08: 100.0, 0x09: 200.0, 0x0A: 400.0}
_XY_TRIGGER = bytes([0x03, 0x04, 0xFF, 0x60])  # loggers of the acceleration signal 03 04
_Z_TRIGGER = bytes([0x03, 0x04, 0xFF, 0x24])
_RANGES = {0x03: 2, 0x05: 4, 0x08: 8, 0x0C: 16}


@dataclass(frozen=True)
class BoardBehaviour:
    """has_motor: a coin vibration motor is fitted (MetaMotionC/R); page_entries: entries
    per readout page; drop_after_entries: lose the link once after this many entries of a
    readout; down_s: no connection for this long after a drop (emulated s);
    entries_per_s: readout pace (emulated time; None = as fast as the link goes)."""

    has_motor: bool = True
    page_entries: int = 64
    drop_after_entries: int | None = None
    down_s: float = 0.5
    entries_per_s: float | None = None
    advertising_interval_ms: float = 20.0
    other_central: bool = False
    log_capacity_entries: int | None = None
    logger_slots: int = 8


@dataclass(frozen=True)
class HapticReceipt:
    """One haptic write as the board received it. ``clock_s``: the board's emulated clock;
    ``sample_s``: how far into the streamed source the accelerometer was (emulated time since
    streaming started, i.e. the recording time of the sample it was measuring; None when not
    streaming); ``streamed_s``: samples notified so far / rate."""

    clock_s: float
    sample_s: float | None
    streamed_s: float
    payload: bytes


@dataclass(frozen=True)
class LoggedWalk:
    """Truth of a recording in the log: counts (n, 3) int16, ticks, reset uid, Unix times."""

    reset_uid: int
    ticks: np.ndarray
    counts: np.ndarray
    range_g: int
    t_unix_s: np.ndarray

    @property
    def acc_g(self) -> np.ndarray:
        return self.counts.astype(np.float64) / (32768.0 / self.range_g)


class MetaWearEmulator:
    """An emulated MetaMotion board on ``radio``; ``stream_source`` (N, 3 g) is what its
    accelerometer measures when streaming or logging live (repeated)."""

    def __init__(
        self,
        radio: EmulatedRadio,
        *,
        stream_source: np.ndarray | None = None,
        stream_source_rate_hz: float = 100.0,
        log_source: np.ndarray | None = None,
        behaviour: BoardBehaviour | None = None,
        clock: EmulatedClock | None = None,
        reset_uid: int = 2,
        tick_at_power_on: int = 7_000_000,
        unix_at_power_on: float = 1_736_200_000.0,
        name: str = BOARD_NAME,
        address: str = BOARD_ADDRESS,
    ) -> None:
        self.radio = radio
        self.behaviour = behaviour or BoardBehaviour()
        self.clock = clock or EmulatedClock()
        self.name = name
        self.address = address.upper()
        self.reset_uid = reset_uid
        self.tick_at_power_on = tick_at_power_on
        self.unix_at_power_on = unix_at_power_on
        self.stream_source = stream_source
        self.stream_source_rate_hz = stream_source_rate_hz
        #: What the accelerometer measures while logging (same rate; default: the stream
        #: source), from its start each time logging is switched on.
        self.log_source = log_source
        self._log_j = 0
        #: 9-byte log entries in the board's memory, oldest first.
        self.entries: list[bytes] = []
        #: Recordings stored, with their truth.
        self.recordings: list[LoggedWalk] = []
        #: Every haptic command received (when the board has a motor), in order.
        self.haptic_log: list[HapticReceipt] = []
        self._streamed = 0
        #: Every command written, in order.
        self.command_log: list[bytes] = []
        self.link_log: list[tuple[float, str, int]] = []
        #: Set once a streamed (not logged) source has been sent to its last sample.
        self.source_exhausted = asyncio.Event()
        #: Emulated time when the accelerometer was started for streaming (None before).
        self.stream_started_s: float | None = None
        self.cleared = 0
        #: Truth of every sample logged live: (reset uid, tick, Unix s on the board's clock).
        self.logged: list[tuple[int, int, float]] = []
        #: Samples the logger could not keep because the log memory was full (no overwrite).
        self.dropped_samples = 0
        self._overwrite = False
        self._loggers: list[bytes] = []
        self._acc_rate_hz = 100.0
        self._acc_range_g = 16
        self._acc_on = False
        self._acc_subscribed = False
        self._logging = False
        self._connection: Connection | None = None
        self._notify_on = False
        self._confirm = asyncio.Event()
        self._read_upto = 0
        self._dropped = False
        self._accept_after_s = 0.0
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._acc_task: asyncio.Task[None] | None = None
        self._device = radio.create_device(name, hci.Address(self.address))
        self._device.gatt_server.max_mtu = 23  # MetaWear boards keep the default MTU
        self._build_gatt()

    # -- clock and log ------------------------------------------------------------------

    def stream_time_s(self) -> float:
        """Recorded time of the stream: samples sent so far / rate (robust to a slow host)."""
        return self._streamed / self._acc_rate_hz

    def tick_now(self) -> int:
        return (self.tick_at_power_on + int(self.clock.now_s() / TICK_S)) % (1 << 32)

    def unix_now(self) -> float:
        return self.unix_at_power_on + self.clock.now_s()

    def unix_at_tick(self, tick: int) -> float:
        """The Unix time of ``tick`` of the current reset uid (on the board's clock)."""
        since_power_on = ((tick - self.tick_at_power_on) % (1 << 32)) * TICK_S
        return self.unix_at_power_on + since_power_on

    async def reset_board(self) -> None:
        """A board reset (power cycle, firmware reset): the link drops, the reset uid
        moves on, ticks count from 0 again, loggers and logging are gone; the log's entries
        stay in flash (as on the real board)."""
        now = self.clock.now_s()
        self._logging = self._acc_on = False
        self._loggers.clear()
        self.reset_uid = (self.reset_uid + 1) % 8
        self.tick_at_power_on = (-int(now / TICK_S)) % (1 << 32)  # tick 0 now
        if self._connection is not None:
            await self._connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)

    def store_recording(self, reset_uid: int, start_tick: int, start_unix_s: float,
                        acc_g: np.ndarray, rate_hz: float, range_g: int = 16) -> LoggedWalk:
        """Put a recording into the log as logger entries (x,y id 0, z id 1), ticks wrapping."""
        counts = np.clip(np.rint(np.asarray(acc_g) * 32768.0 / range_g), -32768, 32767)
        counts = counts.astype(np.int64)
        offsets = np.rint(np.arange(len(counts)) / rate_hz / TICK_S).astype(np.int64)
        ticks = (start_tick + offsets) % (1 << 32)
        for (x, y, z), tick in zip(counts, ticks, strict=True):
            self._append_sample(reset_uid, int(tick), int(x), int(y), int(z))
        walk = LoggedWalk(reset_uid, ticks, counts.astype(np.int16), range_g,
                          start_unix_s + offsets * TICK_S)
        self.recordings.append(walk)
        return walk

    def _append_sample(self, reset_uid: int, tick: int, x: int, y: int, z: int,
                       ids: tuple[int, int] = (0, 1)) -> None:
        xy = struct.unpack("<I", struct.pack("<hh", x, y))[0]
        zz = struct.unpack("<I", struct.pack("<hH", z, 0))[0]
        self.entries.append(bytes([(reset_uid << 5) | ids[0]]) + struct.pack("<II", tick, xy))
        self.entries.append(bytes([(reset_uid << 5) | ids[1]]) + struct.pack("<II", tick, zz))

    def _acc_logger_ids(self) -> tuple[int, int] | None:
        """Ids of the newest x,y and z accelerometer loggers (None: nothing logs them)."""
        found = []
        for trigger in (_XY_TRIGGER, _Z_TRIGGER):
            ids = [k for k, body in enumerate(self._loggers) if body == trigger]
            if not ids:
                return None
            found.append(ids[-1])
        return found[0], found[1]

    # -- lifecycle ----------------------------------------------------------------------

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
        if not self.behaviour.other_central:  # connected elsewhere: not advertising
            await self._advertise()

    async def close(self) -> None:
        self._closing = True
        await shut_down(self._device, self._connection, self._tasks, advertising=False)

    async def __aenter__(self) -> MetaWearEmulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def _build_gatt(self) -> None:
        self._command = Characteristic(
            UUID(COMMAND),
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE, CharacteristicValue(write=self._on_command))
        self._notify = Characteristic(UUID(NOTIFY), Characteristic.Properties.NOTIFY,
                                      Characteristic.READABLE, b"")

        def on_subscription(_bearer: object, notify: bool, _indicate: bool) -> None:
            self._notify_on = notify

        self._notify.on(self._notify.EVENT_SUBSCRIPTION, on_subscription)
        self._device.add_services([
            Service(UUID.from_16_bits(0x180A), [
                Characteristic(UUID.from_16_bits(0x2A29), Characteristic.Properties.READ,
                               Characteristic.READABLE, b"MbientLab Inc"),
                Characteristic(UUID.from_16_bits(0x2A24), Characteristic.Properties.READ,
                               Characteristic.READABLE, b"5" if self.behaviour.has_motor
                               else b"8"),
            ]),
            Service(UUID(SERVICE), [self._command, self._notify]),
        ])

    async def _advertise(self) -> None:
        data = bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]))
        interval = self.behaviour.advertising_interval_ms
        await self._device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM, advertising_data=data,
            advertising_interval_min=interval, advertising_interval_max=interval)

    async def _advertise_when_allowed(self) -> None:
        await self.clock.sleep_until(self._accept_after_s)
        if not self._closing and self._connection is None:
            await self._advertise()

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._notify_on = False
        self.link_log.append((self.clock.now_s(), "connected", 0))
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self.link_log.append((self.clock.now_s(), "disconnected", reason))
        self._connection = None
        self._notify_on = False
        self._acc_subscribed = False
        if not self._logging:
            self._acc_on = False
        if not self._closing:
            self._spawn(self._advertise_when_allowed())

    # -- commands -----------------------------------------------------------------------

    def _on_command(self, connection: Connection, value: bytes) -> None:
        command = bytes(value)
        self.command_log.append(command)
        self._spawn(self._handle(connection, command))

    async def _notify_host(self, connection: Connection, payload: bytes) -> None:
        if self._connection is connection and self._notify_on:
            await self._device.notify_subscriber(connection, self._notify, payload)

    async def _handle(self, connection: Connection, command: bytes) -> None:
        if len(command) < 2:
            return
        module, register, body = command[0], command[1], command[2:]
        if module == 0x08 and register == 0x01 and len(body) == 4:
            if self.behaviour.has_motor:
                now = self.clock.now_s()
                started = self.stream_started_s
                self.haptic_log.append(HapticReceipt(
                    now, None if started is None else now - started, self.stream_time_s(),
                    command))
        elif module == 0x03:
            self._accelerometer(connection, register, body)
        elif module == 0x0B:
            await self._logger(connection, register, body)

    def _accelerometer(self, connection: Connection, register: int, body: bytes) -> None:
        if register == 0x03 and len(body) >= 2:
            self._acc_rate_hz = _RATES.get(body[0] & 0x0F, self._acc_rate_hz)
            self._acc_range_g = _RANGES.get(body[1] & 0x0F, self._acc_range_g)
        elif register == 0x04 and body:
            self._acc_subscribed = bool(body[0])
        elif register == 0x01 and body:
            self._acc_on = bool(body[0])
            if self._acc_on and (self._acc_task is None or self._acc_task.done()):
                self._acc_task = self._spawn(self._run_accelerometer(connection))

    async def _logger(self, connection: Connection, register: int, body: bytes) -> None:
        if register == 0x02 and len(body) == 4:
            if len(self._loggers) >= self.behaviour.logger_slots:
                return  # no free logger: the board does not answer (the SDK times out)
            self._loggers.append(body)
            await self._notify_host(connection, bytes([0x0B, 0x02, len(self._loggers) - 1]))
        elif register == 0x0B and body:
            self._overwrite = bool(body[0])
        elif register == 0x01 and body:
            if body[0] and not self._logging:
                self._log_j = 0
            self._logging = bool(body[0])
        elif register == 0x84:
            await self._notify_host(connection, bytes([0x0B, 0x84]) + struct.pack(
                "<I", self.tick_now()) + bytes([self.reset_uid]))
        elif register == 0x85:
            await self._notify_host(connection, bytes([0x0B, 0x85]) + struct.pack(
                "<I", len(self.entries)))
        elif register == 0x06 and len(body) == 8:
            n, every = struct.unpack("<II", body)
            self._spawn(self._readout(connection, min(n, len(self.entries)), every))
        elif register == 0x0E:
            self._confirm.set()
        elif register == 0x09:
            del self.entries[: self._read_upto]
            self.cleared += self._read_upto
            self._read_upto = 0

    async def _readout(self, connection: Connection, n: int, every: int) -> None:
        pace = self.behaviour.entries_per_s
        t0 = self.clock.now_s()
        sent = 0
        since_page = 0
        while sent < n:
            if self._connection is not connection:
                return
            pair = self.entries[sent : min(sent + 2, n)]
            if pace:
                await self.clock.sleep_until(t0 + (sent + len(pair)) / pace)
            await self._notify_host(connection, bytes([0x0B, 0x07]) + b"".join(pair))
            sent += len(pair)
            since_page += len(pair)
            self._read_upto = max(self._read_upto, sent)
            drop = self.behaviour.drop_after_entries
            if drop is not None and not self._dropped and sent >= drop:
                self._dropped = True
                self._accept_after_s = self.clock.now_s() + self.behaviour.down_s
                await connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)
                return
            if every and sent % every < 2 and sent < n:
                await self._notify_host(connection, bytes([0x0B, 0x08]) + struct.pack(
                    "<I", n - sent))
            if since_page >= self.behaviour.page_entries and sent < n:
                since_page = 0
                self._confirm.clear()
                await self._notify_host(connection, bytes([0x0B, 0x0D]))
                try:
                    await asyncio.wait_for(self._confirm.wait(), 5.0)
                except TimeoutError:
                    return  # the host did not confirm the page: the readout stops
        await self._notify_host(connection, bytes([0x0B, 0x08]) + struct.pack("<I", 0))

    async def _run_accelerometer(self, connection: Connection) -> None:
        """Sample the source at the configured rate: notify when streaming, log when logging."""
        source = self.stream_source
        j = 0
        t0 = self.clock.now_s()
        if not self._logging and self.stream_started_s is None:
            self.stream_started_s = t0
        while self._acc_on and not self._closing:
            rate = self._acc_rate_hz
            await self.clock.sleep_until(t0 + (j + 1) / rate)
            if self._logging:
                logged = self.log_source if self.log_source is not None else source
                if logged is not None and len(logged):
                    k = int(self._log_j * self.stream_source_rate_hz / rate) % len(logged)
                    self._log_j += 1
                    self._log_sample(*self._counts(logged[k]))
                j += 1
                continue
            if source is None or len(source) == 0:
                j += 1
                continue
            k = int(j * self.stream_source_rate_hz / rate)
            if k >= len(source):
                self.source_exhausted.set()
                return
            x, y, z = self._counts(source[k])
            if self._acc_subscribed and self._connection is connection:
                await self._notify_host(connection, bytes([0x03, 0x04]) + struct.pack(
                    "<hhh", x, y, z))
                self._streamed += 1
            elif self._connection is not connection:
                return
            j += 1

    def _counts(self, acc_g: np.ndarray) -> tuple[int, int, int]:
        counts = np.clip(np.rint(acc_g * 32768.0 / self._acc_range_g), -32768, 32767)
        x, y, z = (int(c) for c in counts)
        return x, y, z

    def _log_sample(self, x: int, y: int, z: int) -> None:
        ids = self._acc_logger_ids()
        if ids is None:
            return  # logging is on, but no logger takes the accelerometer
        capacity = self.behaviour.log_capacity_entries
        if capacity is not None and len(self.entries) + 2 > capacity:
            if not self._overwrite:
                self.dropped_samples += 1
                return
            del self.entries[:2]
        tick = self.tick_now()
        self.logged.append((self.reset_uid, tick, self.unix_at_tick(tick)))
        self._append_sample(self.reset_uid, tick, x, y, z, ids)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("MetaWear emulator task failed", exc_info=task.exception())


def wrap_scenario(board: MetaWearEmulator, walks: list[np.ndarray], rate_hz: float = 50.0
                  ) -> dict[int, tuple[int, float]]:
    """Three logged walks: the first crosses the 2³² tick wrap (reset uid 1), then the
    board is reset (uid 2) and two more are logged. Returns the clock references a host
    saw when it started each reset uid's logging: reset uid -> (tick, Unix s)."""
    references: dict[int, tuple[int, float]] = {}
    start_tick = (1 << 32) - int(20.0 / TICK_S)  # wraps 20 s into the first walk
    unix_1 = board.unix_at_power_on - 3 * 3600.0
    references[1] = (start_tick, unix_1)
    board.store_recording(1, start_tick, unix_1, walks[0], rate_hz)
    # board reset at unix_1 + 1 h: ticks restart near 0 under reset uid 2
    unix_reset = unix_1 + 3600.0
    tick_reset = 0
    references[2] = (tick_reset, unix_reset)
    for k, walk in enumerate(walks[1:]):
        start = unix_reset + 600.0 * (k + 1)
        tick = tick_reset + int(round((start - unix_reset) / TICK_S))
        board.store_recording(2, tick, unix_reset + (tick - tick_reset) * TICK_S, walk, rate_hz)
    board.tick_at_power_on = tick_reset + int(round((board.unix_at_power_on - unix_reset)
                                                    / TICK_S))
    board.reset_uid = 2
    assert math.isfinite(unix_reset)
    return references
