"""The link drops mid-stream and comes back: the recorder reconnects and restarts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.emulation.polar_h10 import H10Behaviour, LinkDrop
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.profiles.polar_pmd import PMD_DATA_UUID
from firmware_bridge.trace import (
    ConnectEvent,
    DisconnectEvent,
    WriteEvent,
    decode_trace,
    read_trace,
)
from tests.ble_harness import notified, record_emulated, sent_mg_to_g

DROP_AT_S = 10.0
DOWN_S = 1.5
HCI_CONNECTION_TIMEOUT = 0x08


def test_link_loss_is_traced_and_recording_resumes(tmp_path: Path) -> None:
    walk = synthetic_walk(26.0, stand_before_s=2.0, stand_after_s=2.0)
    trace_path = tmp_path / "drop.swtrace"
    behaviour = H10Behaviour(link_drops=[LinkDrop(at_s=DROP_AT_S, down_s=DOWN_S)])

    summary, live, h10 = record_emulated(walk.acc_g, trace_path, behaviour=behaviour)
    trace = read_trace(trace_path)

    # the strap saw: connect, supervision-timeout drop, reconnect only after its down time
    link = [(kind, reason) for _, kind, reason in h10.link_log]
    assert link[:3] == [
        ("connected", 0),
        ("disconnected", HCI_CONNECTION_TIMEOUT),
        ("connected", 0),
    ]
    reconnected_at_s = h10.link_log[2][0]
    assert reconnected_at_s >= DROP_AT_S + DOWN_S
    assert summary.link_losses == 1 and summary.connects == 2

    # the trace: connect, … disconnect("link lost"), connect, …, a second start, one stop
    links = [e for e in trace.events if isinstance(e, ConnectEvent | DisconnectEvent)]
    assert [type(e) for e in links] == [
        ConnectEvent,
        DisconnectEvent,
        ConnectEvent,
        DisconnectEvent,
    ]
    assert links[1].reason == "link lost" and links[3].reason == "closed by host"
    writes = [e.payload[:2].hex() for e in trace.events if isinstance(e, WriteEvent)]
    assert writes == ["0202", "0202", "0302"]
    start_again = [e for e in trace.events if isinstance(e, WriteEvent)][1]
    # after the reconnect the host subscribed again (CCCDs do not survive a link) first
    after = h10.host_log[h10.host_log.index("disconnected") :]
    assert after[:4] == [
        "disconnected",
        "connected",
        "pmd control point: indicate",
        "pmd data: notify",
    ]
    assert after[4].startswith("write 0202")
    assert trace.events.index(links[2]) < trace.events.index(start_again)

    # every notification sent is recorded, byte for byte
    recorded = notified(trace, PMD_DATA_UUID)
    assert recorded == h10.data_notifications

    # nothing was sent while the link was down: the samples of that time are the only ones missing
    sent_index = h10.sent_source_indices()
    first_conn = [f for f in h10.sent_frames if f.connection == 1]
    second_conn = [f for f in h10.sent_frames if f.connection == 2]
    assert first_conn and second_conn
    last_before = int(first_conn[-1].source_index[-1])
    first_after = int(second_conn[0].source_index[0])
    assert last_before / 200.0 <= DROP_AT_S < (DROP_AT_S + DOWN_S) <= first_after / 200.0
    expected_index = np.concatenate(
        [
            np.arange(first_conn[0].source_index[0], last_before + 1),
            np.arange(first_after, len(walk.acc_g)),
        ]
    )
    np.testing.assert_array_equal(sent_index, expected_index)

    # recorded samples equal sent samples (live and on replay), on the strap's clock
    sent_g = sent_mg_to_g(h10)
    np.testing.assert_array_equal(live.acc_g(), sent_g)
    decoded = decode_trace(trace)
    np.testing.assert_array_equal(decoded.acc_g, sent_g)
    expected_unix = np.array([h10.stamp_unix_s(i) for i in sent_index])
    np.testing.assert_allclose(decoded.start_unix_s + decoded.t_s, expected_unix, rtol=0, atol=2e-6)

    # replay reports the interruption where it happened
    disconnects = [g for g in decoded.gaps if g.kind == "disconnect"]
    assert len(disconnects) == 1
    gap = disconnects[0]
    assert gap.after_sample == sum(len(f.source_index) for f in first_conn)
    assert np.isclose(gap.duration_s, (first_after - last_before) / 200.0, atol=1e-6)
