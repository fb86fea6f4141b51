"""The strap stops the stream on its own: the recorder notices and restarts it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.emulation.polar_h10 import H10Behaviour
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.profiles.polar_pmd import PMD_CONTROL_UUID, PMD_DATA_UUID
from firmware_bridge.trace import MarkEvent, NotifyEvent, WriteEvent, decode_trace, read_trace
from tests.ble_harness import notified, record_emulated, sent_mg_to_g

STOPS_AT_S = (6.0, 12.0)


def test_device_initiated_stop_restarts_the_stream(tmp_path: Path) -> None:
    walk = synthetic_walk(16.0, stand_before_s=2.0, stand_after_s=2.0)
    trace_path = tmp_path / "stops.swtrace"
    behaviour = H10Behaviour(stream_stops_at_s=STOPS_AT_S)

    summary, live, h10 = record_emulated(walk.acc_g, trace_path, behaviour=behaviour)
    trace = read_trace(trace_path)

    # the strap announced each stop with 01 02 on the control point; the trace has it raw
    stop_notes = [
        e
        for e in trace.events
        if isinstance(e, NotifyEvent)
        and e.char_uuid == PMD_CONTROL_UUID
        and e.payload == b"\x01\x02"
    ]
    assert len(stop_notes) == len(STOPS_AT_S)
    assert summary.device_stops == len(STOPS_AT_S)
    assert summary.link_losses == 0 and summary.connects == 1

    # after each announcement: a mark, then a new start request, answered with success
    writes = [e for e in trace.events if isinstance(e, WriteEvent)]
    assert [w.payload[:2].hex() for w in writes] == ["0202"] * (1 + len(STOPS_AT_S)) + ["0302"]
    marks = [e for e in trace.events if isinstance(e, MarkEvent) and "device stopped" in e.label]
    assert len(marks) == len(STOPS_AT_S)
    for note, mark, restart in zip(stop_notes, marks, writes[1:], strict=False):
        assert trace.events.index(note) < trace.events.index(mark) < trace.events.index(restart)
    starts_answered = [
        p for d, p in h10.control_log if d == "indicate" and p[:4] == bytes.fromhex("f0020200")
    ]
    assert len(starts_answered) == 1 + len(STOPS_AT_S)

    # streaming resumed after every stop, and everything sent was recorded
    assert len({f.connection for f in h10.sent_frames}) == 1
    stamps_s = np.array([f.source_index[-1] for f in h10.sent_frames]) / 200.0
    for at_s in STOPS_AT_S:
        assert (stamps_s > at_s).any()
    recorded = notified(trace, PMD_DATA_UUID)
    assert recorded == h10.data_notifications
    np.testing.assert_array_equal(live.acc_g(), sent_mg_to_g(h10))
    np.testing.assert_array_equal(decode_trace(trace).acc_g, sent_mg_to_g(h10))
