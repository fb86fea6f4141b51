"""The bumble backend under the real ``bleak.BleakClient``: GATT operations and link loss."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bleak import BleakClient
from bleak.exc import BleakError

from firmware_bridge.emulation.pmd_device_bytes import acc_frame_int16
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from tests.ble_harness import emulated_h10, run

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
HEART_RATE_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER = "00002a24-0000-1000-8000-00805f9b34fb"
ACC_SETTINGS_ANSWER = bytes.fromhex("f0010200000004190032006400c800010110000203020004000800")
ECG_SETTINGS_ANSWER = bytes.fromhex("f0010000000001820001010e00")
START_ACC = bytes.fromhex("02020001c8000101100002010800")


class Inbox:
    """Values delivered to a notify callback, with a way to await the n-th one."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self._changed = asyncio.Event()

    def __call__(self, _characteristic: object, data: bytearray) -> None:
        self.values.append(bytes(data))
        self._changed.set()

    async def wait_for(self, count: int) -> list[bytes]:
        while len(self.values) < count:
            self._changed.clear()
            await self._changed.wait()
        return self.values


def test_gatt_operations_through_real_bleak_client() -> None:
    walk = synthetic_walk(30.0, stand_before_s=1.0, stand_after_s=1.0)

    async def scenario() -> None:
        async with emulated_h10(walk.acc_g) as (radio, h10):
            disconnected: list[BleakClient] = []
            client = BleakClient(h10.ble_device, disconnected.append, backend=radio.client_backend)
            await client.connect()
            assert client.is_connected and client.name == "Polar H10 1A2B3C4D"
            # MTU exchange: host asked 517, the strap offers 232
            assert client.mtu_size == 232

            pmd = client.services.get_service(PMD_SERVICE)
            assert pmd is not None
            control = pmd.get_characteristic(PMD_CONTROL)
            data = pmd.get_characteristic(PMD_DATA)
            assert sorted(control.properties) == ["indicate", "read", "write"]
            assert data.properties == ["notify"]
            assert control.max_write_without_response_size == 229

            # reads
            assert await client.read_gatt_char(PMD_CONTROL) == bytes.fromhex("0f0500") + bytes(14)
            assert await client.read_gatt_char(MODEL_NUMBER) == b"H10"

            # indications (control point), write with response
            answers = Inbox()
            await client.start_notify(PMD_CONTROL, answers)
            await client.write_gatt_char(PMD_CONTROL, b"\x01\x02", response=True)
            assert (await answers.wait_for(1))[0] == ACC_SETTINGS_ANSWER
            # write without response reaches the strap too
            await client.write_gatt_char(PMD_CONTROL, b"\x01\x00", response=False)
            assert (await answers.wait_for(2))[1] == ECG_SETTINGS_ANSWER
            assert [p for d, p in h10.control_log if d == "write"] == [b"\x01\x02", b"\x01\x00"]

            # notifications (data): subscribe, start, receive the strap's frames
            frames = Inbox()
            await client.start_notify(PMD_DATA, frames)
            await client.write_gatt_char(PMD_CONTROL, START_ACC, response=True)
            assert (await answers.wait_for(3))[2] == bytes.fromhex("f002020000")
            received = await frames.wait_for(5)
            assert received[:5] == h10.data_notifications[:5]
            first = h10.sent_frames[0]
            assert received[0] == acc_frame_int16(first.stamp_ns, first.samples_mg)
            np.testing.assert_array_equal(
                first.samples_mg, np.rint(walk.acc_g[first.source_index] * 1000)
            )

            # stop_notify: the strap's CCCD goes off, so it sends no more data while
            # it keeps streaming; two heart-rate beats prove time went by meanwhile
            await client.stop_notify(PMD_DATA)
            delivered, sent = len(frames.values), len(h10.data_notifications)
            beats = Inbox()
            await client.start_notify(HEART_RATE_MEASUREMENT, beats)
            assert (await beats.wait_for(2))[0] == bytes.fromhex(
                "10608002"
            )  # 96 bpm, RR 640/1024 s
            assert h10.streaming
            assert len(frames.values) == delivered and len(h10.data_notifications) == sent

            # a solicited disconnect does not call disconnected_callback
            await client.disconnect()
            assert not client.is_connected and disconnected == []

    run(scenario())


def test_link_loss_calls_back_and_the_client_reconnects() -> None:
    down_s = 10.0  # emulated: 0.5 s real

    async def scenario() -> None:
        async with emulated_h10(np.zeros((20_000, 3))) as (radio, h10):
            lost = asyncio.Event()
            client = BleakClient(
                h10.ble_device, lambda _client: lost.set(), backend=radio.client_backend
            )
            await client.connect()
            # a read in flight when the link goes: a BleakError, not a cancelled task
            pending_read = asyncio.ensure_future(client.read_gatt_char(PMD_CONTROL))
            await h10.drop_link(down_s)
            with pytest.raises(BleakError):
                await pending_read
            await lost.wait()
            assert not client.is_connected
            with pytest.raises(BleakError):
                await client.read_gatt_char(PMD_CONTROL)

            # while the strap is silent a connect times out (and does not wedge the adapter) ...
            dropped_at = h10.link_log[-1][0]
            with pytest.raises(TimeoutError):
                await client.connect(timeout=0.05)
            assert not client.is_connected and h10.connection_count == 1
            # ... and the same client connects again once the strap advertises again
            await client.connect()
            assert client.is_connected and h10.connection_count == 2
            assert h10.link_log[-1][0] - dropped_at >= down_s
            assert await client.read_gatt_char(PMD_CONTROL) == bytes.fromhex("0f0500") + bytes(14)
            await client.disconnect()

    run(scenario())


def test_services_filter_limits_discovery() -> None:
    async def scenario() -> list[str]:
        async with emulated_h10(np.zeros((400, 3))) as (radio, h10):
            client = BleakClient(
                h10.ble_device, services=["180d", PMD_SERVICE], backend=radio.client_backend
            )
            await client.connect()
            uuids = [service.uuid for service in client.services]
            await client.disconnect()
            return uuids

    assert run(scenario()) == ["0000180d-0000-1000-8000-00805f9b34fb", PMD_SERVICE]


@pytest.mark.parametrize("walk_starts_with_stream", [False, True])
def test_emulated_wearer_starts_the_walk_when_the_stream_starts(walk_starts_with_stream) -> None:
    """`record --emulate` must not lose the scripted standing to a slow connect (a busy machine)."""
    from firmware_bridge.emulation.polar_h10 import H10Behaviour

    walk = synthetic_walk(10.0, stand_before_s=1.0, stand_after_s=1.0)
    behaviour = H10Behaviour(walk_starts_with_stream=walk_starts_with_stream)

    async def scenario() -> None:
        async with emulated_h10(walk.acc_g, behaviour=behaviour) as (radio, h10):
            client = BleakClient(h10.ble_device, backend=radio.client_backend)
            await client.connect()
            await h10.clock.sleep_until(3.0)  # connecting took 3 emulated seconds
            frames = Inbox()
            await client.start_notify(PMD_DATA, frames)
            await client.write_gatt_char(PMD_CONTROL, START_ACC, response=True)
            await frames.wait_for(2)
            first = h10.sent_frames[0]
            n = len(first.source_index)
            clock_index = (first.stamp_ns - h10.behaviour.clock_start_ns) * 200 / 1e9
            assert clock_index >= 3.0 * 200 + n - 1 - 1e-6  # the strap's clock ran all along
            if walk_starts_with_stream:
                assert first.source_index[0] == 0
            else:
                assert first.source_index[0] >= 3.0 * 200
            np.testing.assert_array_equal(
                first.samples_mg, np.rint(walk.acc_g[first.source_index] * 1000)
            )
            await client.disconnect()

    run(scenario())
