"""Scanning finds the emulated H10 (through the real BleakScanner) and matches its profile."""

from __future__ import annotations

import struct

import numpy as np
from bleak import BleakScanner
from bumble.core import AdvertisingData
from bumble.hci import Address

from firmware_bridge.profiles.polar_pmd import POLAR_PMD
from firmware_bridge.scanner import find_device, scan
from tests.ble_harness import emulated_h10, run

SCAN_S = 0.3


async def _advertise_other_device(radio, name: str, address: str) -> None:  # noqa: ANN001
    """A peripheral that is not a sensor we know (a pair of headphones)."""
    other = radio.create_device(name, Address(address))
    await other.power_on()
    await other.start_advertising(
        advertising_data=bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        struct.pack("<H", 0x110B),  # audio sink
                    ),
                ]
            )
        ),
        advertising_interval_min=20,
        advertising_interval_max=20,
    )


def test_scan_finds_the_emulated_h10_and_only_it() -> None:
    async def scenario():  # noqa: ANN202
        async with emulated_h10(np.zeros((200, 3))) as (radio, h10):
            await _advertise_other_device(radio, "Some Headphones", "C3:11:22:33:44:55")
            seen = await BleakScanner.discover(
                SCAN_S, return_adv=True, backend=radio.scanner_backend
            )
            found = await scan(SCAN_S, backend=radio.scanner_backend)
            by_name = await find_device("Polar H10 1A2B3C4D", 2.0, backend=radio.scanner_backend)
            by_address = await find_device(h10.address.lower(), 2.0, backend=radio.scanner_backend)
            missing = await find_device("Polar H10 00000000", SCAN_S, backend=radio.scanner_backend)
            return seen, found, by_name, by_address, missing, h10

    seen, found, by_name, by_address, missing, h10 = run(scenario())
    # both advertisers are on the air; only the strap matches a sensor profile
    assert set(seen) == {h10.address, "C3:11:22:33:44:55"}
    headphones = seen["C3:11:22:33:44:55"][1]
    assert headphones.local_name == "Some Headphones"
    assert headphones.service_uuids == ["0000110b-0000-1000-8000-00805f9b34fb"]
    strap = seen[h10.address][1]
    assert strap.service_uuids == ["0000180d-0000-1000-8000-00805f9b34fb"]
    assert len(found) == 1
    hit = found[0]
    assert hit.profile is POLAR_PMD
    assert hit.name == "Polar H10 1A2B3C4D"
    assert hit.address == h10.address == hit.device.address
    assert isinstance(hit.rssi, int) and -127 <= hit.rssi <= 20
    assert by_name is not None and by_name.address == h10.address
    assert by_address is not None and by_address.name == "Polar H10 1A2B3C4D"
    assert missing is None
