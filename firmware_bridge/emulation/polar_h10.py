"""A bumble peripheral that behaves like a Polar H10 chest strap, byte for byte.

GATT database: Generic Access (name "Polar H10 1A2B3C4D"), Heart Rate 0x180D
(measurement notifications once per emulated second), Device Information,
Battery, and the Polar Measurement Data service with its control point
(read / write / indicate) and data characteristic (notify).

PMD behaviour (see ../shared/reference/sensor-protocols.md):

- control-point read → ``0F 05 00 …`` (ECG and ACC);
- ``01 02`` (get ACC settings) → ``F0 01 02 00 00`` + 25/50/100/200 Hz, 16 bit, 2/4/8 g;
- ``02 02 <settings>`` (start ACC) → ``F0 02 02 00 00``, then ACC frames of type 1
  (int16 x,y,z in mg) on the data characteristic at the requested rate, each
  stamped with the device time (ns since 2000) of its last sample; an ATT MTU
  below :attr:`H10Behaviour.min_mtu` is answered with status 10 (invalid MTU);
- ``03 02`` (stop ACC) → ``F0 03 02 00 00`` and the frames stop;
- responses go out as indications, so a host that has not enabled them on the
  control point gets no answer (as with the real strap).

The acceleration streamed comes from a sample source (``acc_g`` at
``source_rate_hz``, e.g. :func:`.synthetic_walk.synthetic_walk`): stream sample
``j`` is source sample ``j * source_rate_hz / rate`` and is measured at emulated
time ``j / rate`` seconds after power-on. Everything the device transmits is
logged (:attr:`PolarH10Emulator.sent_frames`, :attr:`data_notifications`) so
tests can compare what was recorded with what was sent.

Faults for tests are configured in :class:`H10Behaviour`: link drops with a
period during which the strap accepts no connection, device-initiated stream
stops, mangled frames (see :mod:`.notification_faults`) and MTU limits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
from bleak.backends.device import BLEDevice
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.notification_faults import FrameFault
from firmware_bridge.emulation.peripheral_shutdown import shut_down
from firmware_bridge.emulation.pmd_device_bytes import (
    H10_ACC_SETTINGS,
    H10_ECG_SETTINGS,
    H10_FEATURES,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    POLAR_EPOCH_OFFSET_S,
    MeasurementType,
    PmdOp,
    PmdStatus,
    SettingType,
    acc_frame_int16,
    acc_samples_per_frame,
    control_response,
    encode_settings,
    parse_settings,
    stream_stopped_message,
)
from firmware_bridge.emulation.radio import EmulatedRadio

logger = logging.getLogger(__name__)

H10_NAME = "Polar H10 1A2B3C4D"
H10_ADDRESS = "A0:9E:1A:1A:2B:3C"  # Polar Electro's OUI
#: 2025-01-06T09:00:00Z as ns since 2000-01-01: the strap's clock at power-on.
DEFAULT_CLOCK_START_NS = (1_736_154_000 - POLAR_EPOCH_OFFSET_S) * 1_000_000_000

_HEART_RATE_SERVICE = 0x180D
_HEART_RATE_MEASUREMENT = 0x2A37
_BODY_SENSOR_LOCATION = 0x2A38
_DEVICE_INFORMATION_SERVICE = 0x180A
_MANUFACTURER_NAME = 0x2A29
_MODEL_NUMBER = 0x2A24
_BATTERY_SERVICE = 0x180F
_BATTERY_LEVEL = 0x2A19


@dataclass(frozen=True)
class LinkDrop:
    """The radio link is lost at emulated time ``at_s``; the strap then accepts no
    connection (does not advertise) for ``down_s`` emulated seconds."""

    at_s: float
    down_s: float


@dataclass(frozen=True)
class H10Behaviour:
    """Knobs for tests. Times are emulated seconds since power-on.

    min_mtu: ATT MTU below which a start request is answered with status 10
        (invalid MTU); None accepts any MTU (frames then shrink to fit).
    max_mtu: the strap's own ATT MTU limit offered in the MTU exchange.
    link_drops: links lost on purpose (see :class:`LinkDrop`).
    stream_stops_at_s: the strap stops the ACC stream on its own at these
        times and indicates ``01 02`` on the control point.
    frame_faults: ACC frame number (0-based, counted over the whole session)
        → fault applied to that frame's notifications.
    heart_rate_bpm: value sent on the heart-rate measurement characteristic.
    clock_start_ns: the strap's clock (ns since 2000) at emulated time 0.
    advertising_interval_ms: real milliseconds between advertisements.
    walk_starts_with_stream: the source's first sample is measured when the
        first ACC stream starts (an emulated wearer who starts the scripted walk
        when the app is ready), not at power-on; the strap's clock still runs
        from power-on. Makes the signal a run records independent of how long
        scanning and connecting took.
    """

    min_mtu: int | None = 232
    max_mtu: int = 232
    link_drops: Sequence[LinkDrop] = ()
    stream_stops_at_s: Sequence[float] = ()
    frame_faults: Mapping[int, FrameFault] = field(default_factory=dict)
    heart_rate_bpm: int = 96
    clock_start_ns: int = DEFAULT_CLOCK_START_NS
    advertising_interval_ms: float = 20.0
    walk_starts_with_stream: bool = False


@dataclass(frozen=True, eq=False)
class SentFrame:
    """One ACC frame the strap built and transmitted.

    index: frame number over the session; connection: 1 for the first link, …;
    source_index: (n,) indices into the sample source; stamp_ns: device time of
    the last sample (ns since 2000); samples_mg: (n, 3) int16 as sent;
    notifications: the payloads that went on the air for it (one unless faulted).
    """

    index: int
    connection: int
    source_index: np.ndarray
    stamp_ns: int
    samples_mg: np.ndarray
    notifications: tuple[bytes, ...]

    @property
    def intact(self) -> bool:
        """True when the whole frame went out as one notification (extras aside)."""
        return acc_frame_int16(self.stamp_ns, self.samples_mg) in self.notifications


@dataclass
class _AccStream:
    rate_hz: int
    range_g: int
    decimation: int
    task: asyncio.Task[None]


class PolarH10Emulator:
    """An emulated Polar H10 on ``radio`` streaming ``acc_g`` (N, 3, in g) at ``source_rate_hz``.

    Use as an async context manager (or call :meth:`start` / :meth:`close`).
    ``clock`` sets how fast emulated time runs (default: real time).
    """

    def __init__(
        self,
        radio: EmulatedRadio,
        acc_g: np.ndarray,
        source_rate_hz: float = 200.0,
        *,
        behaviour: H10Behaviour | None = None,
        clock: EmulatedClock | None = None,
        name: str = H10_NAME,
        address: str = H10_ADDRESS,
    ) -> None:
        acc = np.asarray(acc_g, dtype=np.float64)
        if acc.ndim != 2 or acc.shape[1] != 3:
            raise ValueError(f"acc_g must be (N, 3), got {acc.shape}")
        self.radio = radio
        self.acc_g = acc
        self.source_rate_hz = float(source_rate_hz)
        self.behaviour = behaviour or H10Behaviour()
        self.clock = clock or EmulatedClock()
        self.name = name
        self.address = address.upper()

        #: Every ACC frame transmitted, in order.
        self.sent_frames: list[SentFrame] = []
        #: Every payload notified on the PMD data characteristic, in order.
        self.data_notifications: list[bytes] = []
        #: (direction, payload) on the control point: "write" in, "indicate" out.
        self.control_log: list[tuple[str, bytes]] = []
        #: What the host did, in order, as the strap saw it: "pmd data: notify",
        #: "pmd control point: indicate", "write 0202…", "connected", "disconnected".
        self.host_log: list[str] = []
        #: (emulated time s, "connected" | "disconnected", HCI reason; 0 on connect).
        self.link_log: list[tuple[float, str, int]] = []
        #: Set once the last source sample has been transmitted.
        self.source_exhausted = asyncio.Event()

        # bumble's LocalLink routes LE traffic by the controllers' random addresses,
        # so the strap advertises its (public-looking) address as a random one.
        self._device = radio.create_device(name, hci.Address(self.address))
        self._device.gatt_server.max_mtu = self.behaviour.max_mtu
        self._build_gatt()
        self._connection: Connection | None = None
        self._connection_number = 0
        self._stream: _AccStream | None = None
        self._frame_counter = 0
        self._walk_origin_j: int | None = None
        self._subscribed: dict[int, tuple[bool, bool]] = {}
        self._link_tasks: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._heart_rate_task: asyncio.Task[None] | None = None
        self._accept_after_s = 0.0
        self._closing = False

    # -- lifecycle -------------------------------------------------------------

    @property
    def ble_device(self) -> BLEDevice:
        """The :class:`BLEDevice` a scan would return for this strap."""
        return self.radio.ble_device(self.address)

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    @property
    def connection_count(self) -> int:
        """Connections accepted so far."""
        return self._connection_number

    async def start(self) -> None:
        """Power on, start the emulated clock and advertise."""
        self._device.on(self._device.EVENT_CONNECTION, self._on_connection)
        await self._device.power_on()
        self.clock.start()
        await self._advertise()
        self._spawn(self._run_scenario(), self._background)

    async def close(self) -> None:
        """Stop everything and power off."""
        self._closing = True
        self._stream = None  # its task is among the link tasks, cancelled next
        await shut_down(self._device, self._connection, [*self._link_tasks, *self._background])

    async def __aenter__(self) -> PolarH10Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- derived facts for tests -------------------------------------------------

    def stamp_ns(self, source_index: int) -> int:
        """Device time (ns since 2000) of source sample ``source_index``."""
        return self.behaviour.clock_start_ns + round(source_index * 1e9 / self.source_rate_hz)

    def stamp_unix_s(self, source_index: int) -> float:
        """Device time of source sample ``source_index`` in Unix seconds."""
        return self.stamp_ns(source_index) / 1e9 + POLAR_EPOCH_OFFSET_S

    def sent_source_indices(self, *, intact_only: bool = False) -> np.ndarray:
        """Source indices of all transmitted samples (of intact frames only if asked)."""
        frames = [f for f in self.sent_frames if f.intact or not intact_only]
        if not frames:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([f.source_index for f in frames])

    # -- GATT database -----------------------------------------------------------

    def _build_gatt(self) -> None:
        self._cp_char = Characteristic(
            UUID(PMD_CONTROL_POINT_UUID.upper()),
            Characteristic.Properties.READ
            | Characteristic.Properties.WRITE
            | Characteristic.Properties.INDICATE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=self._read_control_point, write=self._write_control_point),
        )
        self._data_char = Characteristic(
            UUID(PMD_DATA_UUID.upper()),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            b"",
        )
        self._hr_char = Characteristic(
            UUID.from_16_bits(_HEART_RATE_MEASUREMENT),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            b"",
        )
        for characteristic, label in (
            (self._cp_char, "pmd control point"),
            (self._data_char, "pmd data"),
            (self._hr_char, "heart rate"),
        ):
            characteristic.on(
                characteristic.EVENT_SUBSCRIPTION,
                self._subscription_listener(characteristic, label),
            )
        self._device.add_services(
            [
                Service(
                    UUID.from_16_bits(_HEART_RATE_SERVICE),
                    [
                        self._hr_char,
                        Characteristic(
                            UUID.from_16_bits(_BODY_SENSOR_LOCATION),
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            bytes([0x01]),  # chest
                        ),
                    ],
                ),
                Service(
                    UUID.from_16_bits(_DEVICE_INFORMATION_SERVICE),
                    [
                        Characteristic(
                            UUID.from_16_bits(_MANUFACTURER_NAME),
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            b"Polar Electro Oy",
                        ),
                        Characteristic(
                            UUID.from_16_bits(_MODEL_NUMBER),
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            b"H10",
                        ),
                    ],
                ),
                Service(
                    UUID.from_16_bits(_BATTERY_SERVICE),
                    [
                        Characteristic(
                            UUID.from_16_bits(_BATTERY_LEVEL),
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            bytes([100]),
                        )
                    ],
                ),
                Service(UUID(PMD_SERVICE_UUID.upper()), [self._cp_char, self._data_char]),
            ]
        )

    def _subscription_listener(
        self, characteristic: Characteristic, label: str
    ) -> Callable[[object, bool, bool], None]:
        def on_subscription(_bearer: object, notify: bool, indicate: bool) -> None:
            self._subscribed[characteristic.handle] = (notify, indicate)
            modes = [m for m, on in (("notify", notify), ("indicate", indicate)) if on]
            self.host_log.append(f"{label}: {'+'.join(modes) or 'off'}")
            if characteristic is self._hr_char and notify and self._connection is not None:
                if self._heart_rate_task is None or self._heart_rate_task.done():
                    self._heart_rate_task = self._spawn(
                        self._heart_rate(self._connection), self._link_tasks
                    )

        return on_subscription

    def _notify_enabled(self, characteristic: Characteristic) -> bool:
        return self._subscribed.get(characteristic.handle, (False, False))[0]

    def _indicate_enabled(self, characteristic: Characteristic) -> bool:
        return self._subscribed.get(characteristic.handle, (False, False))[1]

    # -- advertising and links -------------------------------------------------------

    def _advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (
                        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        struct.pack("<H", _HEART_RATE_SERVICE),
                    ),
                ]
            )
        )

    async def _advertise(self) -> None:
        interval_ms = self.behaviour.advertising_interval_ms
        await self._device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM,
            advertising_data=self._advertising_data(),
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )

    async def _advertise_when_allowed(self) -> None:
        await self.clock.sleep_until(self._accept_after_s)
        if not self._closing and self._connection is None:
            await self._advertise()

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._connection_number += 1
        self._subscribed.clear()
        self.link_log.append((self.clock.now_s(), "connected", 0))
        self.host_log.append("connected")
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self.link_log.append((self.clock.now_s(), "disconnected", reason))
        self.host_log.append("disconnected")
        self._connection = None
        self._stream = None
        self._subscribed.clear()
        for task in self._link_tasks:
            task.cancel()
        if not self._closing:
            self._spawn(self._advertise_when_allowed(), self._background)

    async def _run_scenario(self) -> None:
        events: list[tuple[float, LinkDrop | None]] = [
            (drop.at_s, drop) for drop in self.behaviour.link_drops
        ] + [(at_s, None) for at_s in self.behaviour.stream_stops_at_s]
        for at_s, drop in sorted(events, key=lambda event: event[0]):
            await self.clock.sleep_until(at_s)
            if drop is not None:
                await self.drop_link(drop.down_s)
            else:
                await self.stop_stream_on_device()

    async def drop_link(self, down_s: float) -> None:
        """Lose the link now (the host sees a supervision timeout) and accept no
        connection for ``down_s`` emulated seconds."""
        self._accept_after_s = max(self._accept_after_s, self.clock.now_s() + down_s)
        connection = self._connection
        if connection is not None:
            self._stop_stream()
            await connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)
        else:
            await self._device.stop_advertising()
            self._spawn(self._advertise_when_allowed(), self._background)

    async def stop_stream_on_device(self) -> None:
        """Stop the ACC stream on the strap's own initiative and say so (``01 02``)."""
        connection = self._connection
        if self._stream is None or connection is None:
            return
        self._stop_stream()
        await self._indicate(connection, stream_stopped_message([MeasurementType.ACC]))

    # -- control point -----------------------------------------------------------

    def _read_control_point(self, _connection: Connection) -> bytes:
        return H10_FEATURES

    def _write_control_point(self, connection: Connection, value: bytes) -> None:
        request = bytes(value)
        self.control_log.append(("write", request))
        self.host_log.append(f"write {request.hex()}")
        # Answer after the ATT write response, as the strap does.
        self._spawn(self._answer_control(connection, request), self._link_tasks)

    async def _indicate(self, connection: Connection, payload: bytes) -> None:
        if not self._indicate_enabled(self._cp_char):
            logger.debug("H10: control-point indications are off; answer %s dropped", payload.hex())
            return
        self.control_log.append(("indicate", payload))
        await self._device.indicate_subscriber(connection, self._cp_char, payload)

    async def _answer_control(self, connection: Connection, request: bytes) -> None:
        op = request[0] if request else 0
        if len(request) < 2:
            await self._indicate(connection, control_response(op, 0, PmdStatus.INVALID_LENGTH))
            return
        measurement = request[1]
        if op == PmdOp.GET_SETTINGS:
            status, params = self._settings_for(measurement)
            await self._indicate(connection, control_response(op, measurement, status, params))
        elif op == PmdOp.START:
            status = self._start(connection, measurement, request[2:])
            await self._indicate(connection, control_response(op, measurement, status))
        elif op == PmdOp.STOP:
            if measurement == MeasurementType.ACC:
                self._stop_stream()
                status = PmdStatus.SUCCESS
            else:
                status = PmdStatus.NOT_SUPPORTED
            await self._indicate(connection, control_response(op, measurement, status))
        else:
            await self._indicate(
                connection, control_response(op, measurement, PmdStatus.INVALID_OP_CODE)
            )

    def _settings_for(self, measurement: int) -> tuple[PmdStatus, bytes]:
        if measurement == MeasurementType.ACC:
            return PmdStatus.SUCCESS, encode_settings(H10_ACC_SETTINGS)
        if measurement == MeasurementType.ECG:
            return PmdStatus.SUCCESS, encode_settings(H10_ECG_SETTINGS)
        return PmdStatus.NOT_SUPPORTED, b""

    def _start(self, connection: Connection, measurement: int, body: bytes) -> PmdStatus:
        if measurement != MeasurementType.ACC:
            # ECG exists on the strap but is not emulated.
            return PmdStatus.NOT_SUPPORTED
        if self.behaviour.min_mtu is not None and connection.att_mtu < self.behaviour.min_mtu:
            return PmdStatus.INVALID_MTU
        if self._stream is not None:
            return PmdStatus.ALREADY_IN_STATE
        try:
            settings = parse_settings(body)
        except ValueError:
            return PmdStatus.INVALID_PARAMETER
        rate = settings.get(SettingType.SAMPLE_RATE, [None])[0]
        resolution = settings.get(SettingType.RESOLUTION, [16])[0]
        range_g = settings.get(SettingType.RANGE, [8])[0]
        if rate not in H10_ACC_SETTINGS[SettingType.SAMPLE_RATE]:
            return PmdStatus.INVALID_SAMPLE_RATE
        if resolution not in H10_ACC_SETTINGS[SettingType.RESOLUTION]:
            return PmdStatus.INVALID_RESOLUTION
        if range_g not in H10_ACC_SETTINGS[SettingType.RANGE]:
            return PmdStatus.INVALID_RANGE
        decimation = self.source_rate_hz / rate
        if not math.isclose(decimation, round(decimation)) or decimation < 1:
            logger.warning(
                "H10 emulator: a %g Hz source cannot be streamed at %d Hz",
                self.source_rate_hz,
                rate,
            )
            return PmdStatus.INVALID_SAMPLE_RATE
        stream_task = self._spawn(
            self._stream_acc(connection, rate, range_g, int(round(decimation))), self._link_tasks
        )
        self._stream = _AccStream(rate, range_g, int(round(decimation)), stream_task)
        return PmdStatus.SUCCESS

    def _stop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and stream.task is not asyncio.current_task():
            stream.task.cancel()

    # -- streams -------------------------------------------------------------------

    async def _stream_acc(
        self, connection: Connection, rate_hz: int, range_g: int, decimation: int
    ) -> None:
        per_frame = acc_samples_per_frame(connection.att_mtu)
        # the first sample measured after the start request (j counts the strap's clock)
        j = max(math.ceil(self.clock.now_s() * rate_hz - 1e-9), 0)
        if self.behaviour.walk_starts_with_stream and self._walk_origin_j is None:
            self._walk_origin_j = j
        origin = self._walk_origin_j or 0
        n_stream = (len(self.acc_g) + decimation - 1) // decimation + origin
        limit_mg = range_g * 1000
        while True:
            if j >= n_stream:
                self.source_exhausted.set()
                return
            j_end = min(j + per_frame, n_stream)
            await self.clock.sleep_until((j_end - 1) / rate_hz)
            if self._connection is not connection:
                return
            source_index = np.arange(j - origin, j_end - origin, dtype=np.int64) * decimation
            samples_mg = np.clip(np.rint(self.acc_g[source_index] * 1000.0), -limit_mg, limit_mg)
            samples_mg = samples_mg.astype(np.int16)
            stamp_ns = self.stamp_ns(int(source_index[-1]) + origin * decimation)
            frame = acc_frame_int16(stamp_ns, samples_mg)
            fault = self.behaviour.frame_faults.get(self._frame_counter)
            payloads = fault(frame) if fault is not None else [frame]
            if self._notify_enabled(self._data_char):
                for payload in payloads:
                    await self._device.notify_subscriber(connection, self._data_char, payload)
                    self.data_notifications.append(payload)
                self.sent_frames.append(
                    SentFrame(
                        index=self._frame_counter,
                        connection=self._connection_number,
                        source_index=source_index,
                        stamp_ns=stamp_ns,
                        samples_mg=samples_mg,
                        notifications=tuple(payloads),
                    )
                )
            self._frame_counter += 1
            j = j_end

    async def _heart_rate(self, connection: Connection) -> None:
        bpm = self.behaviour.heart_rate_bpm
        rr_1024 = round(60.0 / bpm * 1024)
        # flags 0x10: uint8 heart rate followed by one RR interval (1/1024 s)
        measurement = bytes([0x10, bpm]) + struct.pack("<H", rr_1024)
        while self._connection is connection and self._notify_enabled(self._hr_char):
            await self._device.notify_subscriber(connection, self._hr_char, measurement)
            await self.clock.sleep(1.0)

    def _spawn(
        self, coroutine: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]
    ) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(_log_failure)
        return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("H10 emulator task failed", exc_info=task.exception())
