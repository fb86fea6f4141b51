"""bleak backends that run over a bumble central on an :class:`EmulatedRadio`.

:class:`BumbleBleakClient` implements bleak's ``BaseBleakClient`` and
:class:`BumbleBleakScanner` its ``BaseBleakScanner``, so the *real*
``bleak.BleakClient`` / ``BleakScanner`` (and bleak-retry-connector on top of
them) drive emulated peripherals exactly as they would drive hardware:
connect with an ATT MTU exchange, discover services, read, write with and
without response, notifications and indications, and an unsolicited
``disconnected_callback`` when the link is lost.

Do not use these classes directly: take the subclasses bound to a radio,
``radio.client_backend`` and ``radio.scanner_backend``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR
from bumble.gatt_client import CharacteristicProxy

if TYPE_CHECKING:
    from firmware_bridge.emulation.radio import EmulatedRadio

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: ATT header bytes in a notification / write PDU (opcode + handle).
_ATT_VALUE_HEADER_BYTES = 3
_DEFAULT_ATT_MTU = 23


def bleak_uuid(bumble_uuid: UUID) -> str:
    """A bumble UUID as bleak's normalised form: 128-bit, lower case, dashed."""
    return str(uuid.UUID(bytes=bytes(reversed(bumble_uuid.uuid_128_bytes))))


class BumbleBleakClient(BaseBleakClient):
    """bleak client backend over the bumble central of the radio bound in :attr:`radio`."""

    radio: ClassVar[EmulatedRadio | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        radio = type(self).radio
        if radio is None:
            raise BleakError(
                "BumbleBleakClient is not bound to a radio: pass backend=radio.client_backend"
            )
        self._radio = radio
        if isinstance(address_or_ble_device, BLEDevice):
            self._advertised_name = address_or_ble_device.name
        else:
            self._advertised_name = None
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        #: HCI reason code of the last disconnection (0x08 = supervision timeout).
        self.last_disconnect_reason: int | None = None

    # -- connection ------------------------------------------------------

    @property
    def name(self) -> str:
        return self._advertised_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        if self._connection is None:
            return _DEFAULT_ATT_MTU
        return self._connection.att_mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        if pair:
            logger.info("emulated link: pairing is not emulated, connecting without it")
        timeout_s = float(kwargs.get("timeout", self._timeout))
        central = await self._radio.central_device()
        peer_address = self._radio.resolve_address(self.address)
        async with self._radio.connect_lock:
            try:
                connection = await central.connect(peer_address, timeout=timeout_s)
            except asyncio.CancelledError:
                # bumble's connect does not stop the controller initiating when it is
                # cancelled; without this the next attempt is refused (command disallowed)
                with contextlib.suppress(Exception):
                    await central.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
                raise
            except core.TimeoutError as error:
                raise TimeoutError(
                    f"no connectable advertisement from {self.address} within {timeout_s} s"
                ) from error
            except core.ConnectionError as error:
                raise BleakError(f"connection to {self.address} failed: {error}") from error
        self._closing = False
        self._subscribers.clear()
        self._connection = connection
        self._peer = Peer(connection)
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            await self._gatt(self._peer.request_mtu(self._radio.requested_mtu))
            self.services = await self._discover_services()
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await connection.disconnect()
        except core.BaseBumbleError as error:
            logger.debug("emulated link: disconnect of %s: %s", self.address, error)
        # The disconnection event has cleared the state unless the link was already gone.
        self._forget_connection()

    def _on_disconnection(self, reason: int) -> None:
        self.last_disconnect_reason = reason
        solicited = self._closing
        self._forget_connection()
        if not solicited and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    def _forget_connection(self) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated on the in-process link")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated on the in-process link")

    # -- services ----------------------------------------------------------

    async def _discover_services(self) -> BleakGATTServiceCollection:
        peer = self._require_peer()
        wanted = (
            [UUID(service_uuid) for service_uuid in self._service_filter]
            if self._service_filter
            else []
        )
        services = await self._gatt(peer.discover_services(wanted))
        for service in services:
            await self._gatt(peer.discover_characteristics(service=service))
        for service in services:
            for characteristic in service.characteristics:
                await self._gatt(peer.discover_descriptors(characteristic=characteristic))

        collection = BleakGATTServiceCollection()
        for service in services:
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    list(gatt_char_props_to_strs(int(characteristic.properties))),
                    lambda: self.mtu_size - _ATT_VALUE_HEADER_BYTES,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            bleak_uuid(descriptor.type),
                            bleak_characteristic,
                        )
                    )
        return collection

    # -- I/O -----------------------------------------------------------------

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def _gatt(self, operation: Awaitable[_T]) -> _T:
        """Await a bumble GATT operation, translating its failures to bleak's exceptions."""
        try:
            return await operation
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from error
        except core.TimeoutError as error:
            raise TimeoutError(f"GATT operation timed out: {error}") from error
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller is being cancelled
            # bumble cancels pending requests when the link goes down.
            raise BleakError("Disconnected while a GATT operation was pending") from None

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        peer = self._require_peer()
        if use_cached:
            cached = peer.gatt_client.cached_values.get(characteristic.handle)
            if cached is not None:
                return bytearray(cached[1])
        return bytearray(await self._gatt(peer.read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        peer = self._require_peer()
        if use_cached:
            cached = peer.gatt_client.cached_values.get(descriptor.handle)
            if cached is not None:
                return bytearray(cached[1])
        return bytearray(await self._gatt(peer.read_value(descriptor.obj)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        payload = bytes(data)
        if not response and len(payload) > self.mtu_size - _ATT_VALUE_HEADER_BYTES:
            raise BleakError(
                f"{len(payload)} bytes do not fit a write without response "
                f"(MTU {self.mtu_size} allows {self.mtu_size - _ATT_VALUE_HEADER_BYTES})"
            )
        await self._gatt(peer.write_value(characteristic.obj, payload, with_response=response))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await self._gatt(peer.write_value(descriptor.obj, bytes(data), with_response=True))

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        peer = self._require_peer()
        proxy: CharacteristicProxy = characteristic.obj
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"{characteristic.uuid} supports neither notify nor indicate")
        if proxy.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR) is None:
            raise BleakError(f"{characteristic.uuid} has no CCCD to subscribe through")
        previous = self._subscribers.pop(characteristic.handle, None)
        if previous is not None:
            await self._gatt(peer.unsubscribe(proxy, previous))

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = on_value
        # Like every bleak backend: notifications when possible, else indications.
        await self._gatt(peer.subscribe(proxy, on_value, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if subscriber is None:
            return
        await self._gatt(peer.unsubscribe(characteristic.obj, subscriber))


def _advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    data = advertisement.data
    names = data.get_all(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get_all(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    service_uuids: list[str] = []
    for list_type in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for uuids in data.get_all(list_type):
            service_uuids.extend(
                text for text in map(bleak_uuid, uuids) if text not in service_uuids
            )
    service_data: dict[str, bytes] = {}
    for data_type in (
        AdvertisingData.SERVICE_DATA_16_BIT_UUID,
        AdvertisingData.SERVICE_DATA_32_BIT_UUID,
        AdvertisingData.SERVICE_DATA_128_BIT_UUID,
    ):
        for service_uuid, value in data.get_all(data_type):
            service_data[bleak_uuid(service_uuid)] = bytes(value)
    manufacturer_data = {
        company: bytes(value)
        for company, value in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
    }
    tx_powers = data.get_all(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=names[0] if names else None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_powers[0] if tx_powers else None,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleBleakScanner(BaseBleakScanner):
    """bleak scanner backend listening on the radio bound in :attr:`radio`."""

    radio: ClassVar[EmulatedRadio | None] = None

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        radio = type(self).radio
        if radio is None:
            raise BleakError(
                "BumbleBleakScanner is not bound to a radio: pass backend=radio.scanner_backend"
            )
        self._radio = radio
        self._active = scanning_mode != "passive"
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        central = await self._radio.central_device()
        if not self._listening:
            central.on(central.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._listening = True
        await central.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        central = await self._radio.central_device()
        if self._listening:
            central.remove_listener(central.EVENT_ADVERTISEMENT, self._on_advertisement)
            self._listening = False
        if central.is_scanning:
            await central.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = _advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(False)
        device = self.create_or_update_device(
            address, address, adv.local_name, advertisement.address, adv
        )
        self.call_detection_callbacks(device, adv)
