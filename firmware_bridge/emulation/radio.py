"""An in-process Bluetooth LE "radio": a bumble ``LocalLink`` shared by emulated devices.

One :class:`EmulatedRadio` stands for the air between a host adapter and the
sensors around it. Emulated peripherals (see :mod:`.polar_h10`) attach their
own bumble controller to it; the host side is a single bumble central device,
shared like a real adapter by every bleak client and scanner bound to the
radio through :attr:`EmulatedRadio.client_backend` and
:attr:`EmulatedRadio.scanner_backend`::

    radio = EmulatedRadio()
    async with PolarH10Emulator(radio, acc_g) as h10:
        async with BleakClient(h10.ble_device, backend=radio.client_backend) as c:
            ...

Everything runs on the current asyncio event loop; create the radio inside
the loop that will use it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bleak.backends.device import BLEDevice
from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from firmware_bridge.emulation.bumble_backend import BumbleBleakClient, BumbleBleakScanner

#: ATT MTU BlueZ asks for on connect; a peripheral answers with its own limit.
DEFAULT_REQUESTED_MTU = 517


class _Controller(Controller):
    """bumble's emulated controller, finishing "LE Create Connection Cancel" as real ones do.

    bumble 0.0.236 acknowledges the cancel but keeps initiating and never reports the
    cancelled attempt, so a central whose connect timed out or was cancelled could
    never connect again. A real controller stops initiating and reports an LE
    Connection Complete with status "unknown connection identifier".
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        peer_address = getattr(pending, "peer_address", hci.Address.ANY)
        cancelled = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=peer_address.address_type,
            peer_address=peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # reported after the Command Complete that this return value becomes
        asyncio.get_running_loop().call_soon(self.send_hci_packet, cancelled)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class EmulatedRadio:
    """A shared in-process LE link plus the host-side central that bleak talks through.

    ``requested_mtu`` is the ATT MTU the host asks for when connecting (BlueZ asks
    517, iOS 185); the negotiated MTU is the smaller of it and the peripheral's.
    """

    def __init__(
        self,
        *,
        central_address: str = "C0:FF:EE:00:00:01",
        requested_mtu: int = DEFAULT_REQUESTED_MTU,
    ) -> None:
        if not 23 <= requested_mtu <= 517:
            raise ValueError(f"requested_mtu must be within 23..517 bytes, got {requested_mtu}")
        self.link = LocalLink()
        self.requested_mtu = requested_mtu
        self._central_address = central_address
        self._central: Device | None = None
        self._central_lock = asyncio.Lock()
        #: Serialises LE connection attempts: a controller creates one at a time.
        self.connect_lock = asyncio.Lock()
        self._addresses: dict[str, Address] = {}
        self._names: dict[str, str] = {}
        #: ``BleakClient(..., backend=radio.client_backend)`` runs on this radio.
        self.client_backend: type[BumbleBleakClient] = type(
            "BumbleBleakClient", (BumbleBleakClient,), {"radio": self}
        )
        #: ``BleakScanner(..., backend=radio.scanner_backend)`` scans this radio.
        self.scanner_backend: type[BumbleBleakScanner] = type(
            "BumbleBleakScanner", (BumbleBleakScanner,), {"radio": self}
        )

    def create_device(self, name: str, address: Address) -> Device:
        """A bumble device with its own controller on this radio (not yet powered on)."""
        controller = _Controller(name, link=self.link, public_address=address.to_string(False))
        device = Device(
            name=name, address=address, host=Host(controller, AsyncPipeSink(controller))
        )
        self._addresses[address.to_string(False).upper()] = address
        self._names[address.to_string(False).upper()] = name
        return device

    def ble_device(self, address: str) -> BLEDevice:
        """The :class:`BLEDevice` a scan of this radio would return for ``address``."""
        key = address.upper()
        return BLEDevice(key, self._names.get(key), self.resolve_address(key))

    def resolve_address(self, address: str) -> Address:
        """The bumble address (with its public/random type) registered for ``address``."""
        key = address.upper()
        if key in self._addresses:
            return self._addresses[key]
        return Address(key)

    async def central_device(self) -> Device:
        """The host-side central device, powered on at first use."""
        async with self._central_lock:
            if self._central is None:
                central = self.create_device("stridewatch-host", Address(self._central_address))
                await central.power_on()
                self._central = central
            return self._central


@dataclass(frozen=True)
class OnEmulatedRadio:
    """An emulated peripheral's handle: the radio it is on and the bleak backends to pass
    (``BleakScanner(backend=…)``, ``BleakClient(…, backend=…)``) to reach it."""

    radio: EmulatedRadio

    @property
    def client_backend(self) -> type[BumbleBleakClient]:
        return self.radio.client_backend

    @property
    def scanner_backend(self) -> type[BumbleBleakScanner]:
        return self.radio.scanner_backend
