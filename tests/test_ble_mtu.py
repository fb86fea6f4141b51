"""ATT MTU below what the H10 needs: the strap refuses to stream, the recorder says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.emulation.polar_h10 import H10Behaviour
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.profiles.polar_pmd import PMD_CONTROL_UUID, PMD_DATA_UUID, POLAR_PMD
from firmware_bridge.recorder import MtuTooSmallError, record
from firmware_bridge.trace import WriteEvent, read_trace
from tests.ble_harness import (
    FAST_RECONNECT,
    H10_200HZ_8G,
    emulated_h10,
    notified,
    record_whole_source,
    run,
    sent_mg_to_g,
)

IOS_MTU = 185  # what iOS asks for; the H10 wants at least 232


def test_small_mtu_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    walk = synthetic_walk(5.0, stand_before_s=1.0, stand_after_s=1.0)
    trace_path = tmp_path / "small-mtu.swtrace"

    async def scenario():  # noqa: ANN202
        async with emulated_h10(walk.acc_g, requested_mtu=IOS_MTU) as (radio, h10):
            with pytest.raises(MtuTooSmallError) as caught:
                await record(
                    h10.ble_device,
                    POLAR_PMD,
                    H10_200HZ_8G,
                    trace_path,
                    duration_s=5.0,
                    backend=radio.client_backend,
                    reconnect=FAST_RECONNECT,
                )
            return caught.value, h10

    error, h10 = run(scenario())
    message = str(error)
    assert "INVALID_MTU" in message and f"{IOS_MTU} bytes" in message and "232" in message
    assert error.reply is not None and error.reply.status == 10

    # the strap never streamed; the host stopped politely and let go of the link
    assert h10.data_notifications == [] and not h10.streaming and not h10.connected
    trace = read_trace(trace_path)  # closed and readable
    writes = [e.payload for e in trace.events if isinstance(e, WriteEvent)]
    assert writes[0][:2] == b"\x02\x02" and writes[-1] == b"\x03\x02"
    answers = notified(trace, PMD_CONTROL_UUID)
    assert answers[0] == bytes.fromhex("f002020a00")


def test_strap_that_accepts_small_mtu_sends_smaller_frames(tmp_path: Path) -> None:
    walk = synthetic_walk(8.0, stand_before_s=1.0, stand_after_s=1.0)
    trace_path = tmp_path / "lenient.swtrace"

    async def scenario():  # noqa: ANN202
        async with emulated_h10(
            walk.acc_g, behaviour=H10Behaviour(min_mtu=None), requested_mtu=IOS_MTU
        ) as (radio, h10):
            summary, live = await record_whole_source(radio, h10, trace_path)
            return summary, live, h10

    summary, live, h10 = run(scenario())
    per_frame = (IOS_MTU - 3 - 10) // 6
    assert {len(f.source_index) for f in h10.sent_frames[:-1]} == {per_frame}
    trace = read_trace(trace_path)
    recorded = notified(trace, PMD_DATA_UUID)
    assert recorded == h10.data_notifications
    np.testing.assert_array_equal(live.acc_g(), sent_mg_to_g(h10))
