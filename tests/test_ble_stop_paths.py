"""How recordings end: cancelled (Ctrl-C), duration reached, link never back, no device."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from bleak.backends.device import BLEDevice

from firmware_bridge.emulation.polar_h10 import H10Behaviour, LinkDrop
from firmware_bridge.emulation.radio import EmulatedRadio
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.profiles import DecodedBlock
from firmware_bridge.profiles.polar_pmd import PMD_DATA_UUID, POLAR_PMD
from firmware_bridge.recorder import (
    LinkLostError,
    ReconnectPolicy,
    RecordingError,
    record,
)
from firmware_bridge.trace import ConnectEvent, DisconnectEvent, WriteEvent, read_trace
from tests.ble_harness import FAST_RECONNECT, H10_200HZ_8G, emulated_h10, notified, run

STOP_ACC = bytes.fromhex("0302")
STOP_ANSWER = bytes.fromhex("f003020000")


def _long_walk() -> np.ndarray:
    return synthetic_walk(600.0, stand_before_s=1.0, stand_after_s=1.0).acc_g


def _assert_stopped_politely(trace_path: Path, h10) -> None:  # noqa: ANN001
    trace = read_trace(trace_path)
    writes = [e.payload for e in trace.events if isinstance(e, WriteEvent)]
    assert writes[-1] == STOP_ACC
    assert ("write", STOP_ACC) in h10.control_log and ("indicate", STOP_ANSWER) in h10.control_log
    assert not h10.streaming and not h10.connected
    last = trace.events[-1]
    assert isinstance(last, DisconnectEvent) and last.reason == "closed by host"
    assert notified(trace, PMD_DATA_UUID) == h10.data_notifications


def test_cancelling_the_recording_sends_stop_and_closes_the_trace(tmp_path: Path) -> None:
    trace_path = tmp_path / "cancelled.swtrace"

    async def scenario():  # noqa: ANN202
        async with emulated_h10(_long_walk()) as (radio, h10):
            blocks: list[DecodedBlock] = []
            enough = asyncio.Event()

            def on_block(block: DecodedBlock) -> None:
                blocks.append(block)
                if len(blocks) >= 10:
                    enough.set()

            task = asyncio.create_task(
                record(
                    h10.ble_device,
                    POLAR_PMD,
                    H10_200HZ_8G,
                    trace_path,
                    on_block=on_block,
                    backend=radio.client_backend,
                )
            )
            await enough.wait()
            task.cancel()  # what asyncio.run does on Ctrl-C
            with pytest.raises(asyncio.CancelledError):
                await task
            return h10

    h10 = run(scenario())
    _assert_stopped_politely(trace_path, h10)


def test_duration_ends_the_recording(tmp_path: Path) -> None:
    trace_path = tmp_path / "timed.swtrace"

    async def scenario():  # noqa: ANN202
        async with emulated_h10(_long_walk()) as (radio, h10):
            started = time.monotonic()
            summary = await record(
                h10.ble_device,
                POLAR_PMD,
                H10_200HZ_8G,
                trace_path,
                duration_s=0.5,
                backend=radio.client_backend,
            )
            return summary, time.monotonic() - started, h10

    summary, elapsed_s, h10 = run(scenario())
    assert summary.ended_by == "duration"
    assert 0.5 <= elapsed_s < 3.0
    assert summary.samples > 0
    _assert_stopped_politely(trace_path, h10)


def test_giving_up_when_the_link_never_comes_back(tmp_path: Path) -> None:
    trace_path = tmp_path / "gone.swtrace"
    policy = ReconnectPolicy(
        first_delay_s=0.01, max_delay_s=0.05, give_up_after_s=0.5, connect_timeout_s=0.2
    )

    async def scenario():  # noqa: ANN202
        behaviour = H10Behaviour(link_drops=[LinkDrop(at_s=3.0, down_s=1e6)])
        async with emulated_h10(_long_walk(), behaviour=behaviour) as (radio, h10):
            started = asyncio.get_running_loop().time()
            with pytest.raises(LinkLostError) as caught:
                await record(
                    h10.ble_device,
                    POLAR_PMD,
                    H10_200HZ_8G,
                    trace_path,
                    backend=radio.client_backend,
                    reconnect=policy,
                )
            return caught.value, asyncio.get_running_loop().time() - started, h10

    # virtual time: the 0.2 s connect timeout and 0.5 s give-up hold on a loaded machine
    error, elapsed_s, h10 = run(scenario(), virtual_time=True)
    assert "not re-established within 0.5 s" in str(error)
    assert elapsed_s < 3.0
    assert h10.connection_count == 1
    trace = read_trace(trace_path)
    links = [e for e in trace.events if isinstance(e, ConnectEvent | DisconnectEvent)]
    assert [type(e) for e in links] == [ConnectEvent, DisconnectEvent]
    assert links[1].reason == "link lost"
    assert notified(trace, PMD_DATA_UUID) == h10.data_notifications


def test_no_device_is_a_clear_error(tmp_path: Path) -> None:
    trace_path = tmp_path / "nobody.swtrace"
    policy = ReconnectPolicy(connect_timeout_s=0.3)

    async def scenario() -> RecordingError:
        radio = EmulatedRadio()
        nobody = BLEDevice("C3:00:00:00:00:09", "Polar H10 DEADBEEF", None)
        with pytest.raises(RecordingError) as caught:
            await record(
                nobody,
                POLAR_PMD,
                H10_200HZ_8G,
                trace_path,
                backend=radio.client_backend,
                reconnect=policy,
            )
        return caught.value

    error = run(scenario())
    assert "could not connect to Polar H10 DEADBEEF" in str(error)
    trace = read_trace(trace_path)  # closed, header only
    assert trace.events == [] and trace.header.device_address == "C3:00:00:00:00:09"


def test_existing_trace_is_never_overwritten(tmp_path: Path) -> None:
    trace_path = tmp_path / "taken.swtrace"
    trace_path.write_text("precious\n")

    async def scenario() -> None:
        async with emulated_h10(np.zeros((400, 3))) as (radio, h10):
            with pytest.raises(FileExistsError):
                await record(
                    h10.ble_device,
                    POLAR_PMD,
                    H10_200HZ_8G,
                    trace_path,
                    backend=radio.client_backend,
                    reconnect=FAST_RECONNECT,
                )
            assert h10.connection_count == 0

    run(scenario())
    assert trace_path.read_text() == "precious\n"
