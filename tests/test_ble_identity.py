"""Device identity (issue 16): the device `--device` names is the one recorded, or none is.

An impostor advertising the wanted strap's address as its *name* is never taken for
it; two straps with one name are an error listing both; a device whose advertisement
looks right but which lacks the profile's services is left without a single write,
and the trace header records what was verified about the device that was recorded.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.polar_h10 import H10_ADDRESS, H10_NAME, PolarH10Emulator
from firmware_bridge.emulation.radio import EmulatedRadio
from firmware_bridge.profiles.polar_pmd import POLAR_PMD
from firmware_bridge.recorder import WrongDeviceError, record
from firmware_bridge.scanner import AmbiguousDeviceError, find_sensor, is_address
from firmware_bridge.trace import read_trace
from tests.ble_harness import (
    FAST_RECONNECT,
    H10_200HZ_8G,
    TIME_SCALE,
    advertise_impostor,
    emulated_h10,
    run,
)

IMPOSTOR_ADDRESS = "C4:66:66:66:66:66"


def test_addresses_are_told_from_names() -> None:
    assert is_address("A0:9E:1A:1A:2B:3C") and is_address("a0-9e-1a-1a-2b-3c")
    assert is_address("6F1A2B3C-0000-4000-8000-00805F9B34FB")  # macOS device id
    assert not is_address("Polar H10 1A2B3C4D") and not is_address("A0:9E:1A:1A:2B")


def test_impostor_named_after_the_straps_address_is_not_taken_for_it(tmp_path) -> None:
    async def scenario():  # noqa: ANN202
        async with emulated_h10(np.zeros((2000, 3))) as (radio, h10):
            impostor = await advertise_impostor(radio, H10_ADDRESS, IMPOSTOR_ADDRESS)
            found = await find_sensor(H10_ADDRESS, 2.0, backend=radio.scanner_backend)
            lower = await find_sensor(H10_ADDRESS.lower(), 2.0, backend=radio.scanner_backend)
            assert found is not None and lower is not None
            summary = await record(found[0], found[1], H10_200HZ_8G, tmp_path / "a.swtrace",
                                   duration_s=0.5, backend=radio.client_backend,
                                   reconnect=FAST_RECONNECT)
            return found, lower, summary, impostor, h10

    (device, profile), lower, summary, impostor, h10 = run(scenario())
    assert device.address == H10_ADDRESS == lower[0].address and profile is POLAR_PMD
    assert impostor.connected_log == [] and h10.connection_count == 1
    header = read_trace(tmp_path / "a.swtrace").header
    assert header.device_address == H10_ADDRESS
    verified = header.raw["device"]["verified"]
    assert verified["address"] == H10_ADDRESS and verified["profile"] == "polar-pmd"
    assert "fb005c80-02e7-f387-1cad-8acd2d8df0c8" in verified["services"]  # PMD service
    assert summary.notifications > 0


def test_impostor_without_the_services_gets_no_write_and_no_trace(tmp_path) -> None:
    trace_path = tmp_path / "impostor.swtrace"

    async def scenario():  # noqa: ANN202
        radio = EmulatedRadio()
        impostor = await advertise_impostor(radio, H10_NAME, IMPOSTOR_ADDRESS)
        found = await find_sensor(H10_NAME, 2.0, backend=radio.scanner_backend, confirm_s=0.2)
        assert found is not None and found[1] is POLAR_PMD  # the advertisement looks right
        with pytest.raises(WrongDeviceError) as caught:
            await record(found[0], POLAR_PMD, H10_200HZ_8G, trace_path,
                         backend=radio.client_backend, reconnect=FAST_RECONNECT)
        return caught.value, impostor

    error, impostor = run(scenario())
    assert len(impostor.connected_log) == 1  # reached, checked, left
    assert str(error) == (
        f"{H10_NAME} [{IMPOSTOR_ADDRESS}] is not a polar-pmd sensor: it does not offer "
        "fb005c80-02e7-f387-1cad-8acd2d8df0c8, fb005c81-02e7-f387-1cad-8acd2d8df0c8, "
        "fb005c82-02e7-f387-1cad-8acd2d8df0c8; disconnected without writing to it"
    )
    assert not trace_path.exists()


def test_two_straps_with_one_name_is_an_error_listing_both() -> None:
    async def scenario():  # noqa: ANN202
        radio = EmulatedRadio()
        acc = np.zeros((400, 3))
        first = PolarH10Emulator(radio, acc, clock=EmulatedClock(TIME_SCALE))
        second = PolarH10Emulator(radio, acc, clock=EmulatedClock(TIME_SCALE),
                                  address="A0:9E:1A:99:88:77")
        async with first, second:
            with pytest.raises(AmbiguousDeviceError) as caught:
                await find_sensor(H10_NAME, 2.0, backend=radio.scanner_backend, confirm_s=0.3)
            by_address = await find_sensor("A0:9E:1A:99:88:77", 2.0,
                                           backend=radio.scanner_backend)
        return caught.value, by_address

    error, by_address = run(scenario())
    assert sorted(c.address for c in error.found) == [H10_ADDRESS, "A0:9E:1A:99:88:77"]
    message = str(error)
    assert message.startswith(f"2 devices are named {H10_NAME!r}: ")
    assert "A0:9E:1A:1A:2B:3C (RSSI " in message and "A0:9E:1A:99:88:77 (RSSI " in message
    assert "dBm, polar-pmd)" in message
    assert "Pick one with --device ADDRESS" in message
    assert by_address is not None and by_address[0].address == "A0:9E:1A:99:88:77"
