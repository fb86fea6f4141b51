"""Recording a walk from an emulated Polar H10 through the real bleak client."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.emulation.polar_h10 import H10Behaviour
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.profiles.polar_pmd import PMD_CONTROL_UUID, PMD_DATA_UUID
from firmware_bridge.trace import (
    ConnectEvent,
    DisconnectEvent,
    NotifyEvent,
    WriteEvent,
    decode_trace,
    read_trace,
)
from tests.ble_harness import notified, record_emulated, sent_mg_to_g

START_ACC_200HZ_8G = bytes.fromhex("02 02 00 01 c8 00 01 01 10 00 02 01 08 00")
STOP_ACC = bytes.fromhex("0302")


def test_walk_is_recorded_byte_for_byte(tmp_path: Path) -> None:
    walk = synthetic_walk(20.0, stand_before_s=2.0, stand_after_s=2.0)
    trace_path = tmp_path / "walk.swtrace"

    summary, live, h10 = record_emulated(walk.acc_g, trace_path, behaviour=H10Behaviour())
    trace = read_trace(trace_path)

    # raw bytes: every data notification the strap sent is in the trace, in order
    recorded = notified(trace, PMD_DATA_UUID)
    assert len(recorded) == len(h10.data_notifications) > 0
    assert recorded == h10.data_notifications
    assert summary.link_losses == 0 and summary.connects == 1
    assert summary.decode_errors == [] and summary.ended_by == "stop requested"

    # protocol: start with the H10 request, answered; stop sent before the host disconnects
    writes = [e for e in trace.events if isinstance(e, WriteEvent)]
    assert [w.payload for w in writes] == [START_ACC_200HZ_8G, STOP_ACC]
    assert all(w.char_uuid == PMD_CONTROL_UUID for w in writes)
    kinds = [type(e) for e in trace.events]
    assert kinds[0] is ConnectEvent and kinds[-1] is DisconnectEvent
    first_data = next(
        i
        for i, e in enumerate(trace.events)
        if isinstance(e, NotifyEvent) and e.char_uuid == PMD_DATA_UUID
    )
    assert trace.events.index(writes[0]) < first_data < trace.events.index(writes[1])
    # the strap's view: indications on before any write, data subscribed before the start
    assert h10.host_log == [
        "connected",
        "pmd control point: indicate",
        "pmd data: notify",
        f"write {START_ACC_200HZ_8G.hex()}",
        f"write {STOP_ACC.hex()}",
        "disconnected",
    ]
    assert ("write", STOP_ACC) in h10.control_log
    assert ("indicate", bytes.fromhex("f003020000")) in h10.control_log
    assert not h10.streaming and not h10.connected

    # samples: what was decoded live and on replay equals what was sent, exactly
    sent_g = sent_mg_to_g(h10)
    np.testing.assert_array_equal(live.acc_g(), sent_g)
    decoded = decode_trace(trace)
    np.testing.assert_array_equal(decoded.acc_g, sent_g)
    assert decoded.gaps == []
    # ... and the sent samples are the walk rounded to the wire's milli-g
    source_index = h10.sent_source_indices()
    np.testing.assert_array_equal(sent_g, np.rint(walk.acc_g[source_index] * 1000) / 1000)
    # device time stamps: each sample at its source time on the strap's clock
    expected_unix = np.array([h10.stamp_unix_s(i) for i in source_index])
    np.testing.assert_allclose(live.t_unix_s(), expected_unix, rtol=0, atol=2e-6)
    np.testing.assert_allclose(decoded.start_unix_s + decoded.t_s, expected_unix, rtol=0, atol=2e-6)
    assert summary.samples == len(source_index)
