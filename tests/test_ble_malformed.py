"""Malformed and split notifications: kept raw, reported on decode, nothing else lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.emulation.notification_faults import insert_before, split_frame, truncate_frame
from firmware_bridge.emulation.pmd_device_bytes import acc_frame_int16
from firmware_bridge.emulation.polar_h10 import H10Behaviour
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.profiles.polar_pmd import PMD_DATA_UUID
from firmware_bridge.trace import NotifyEvent, decode_trace, read_trace
from tests.ble_harness import record_emulated, sent_mg_to_g

TRUNCATED, SPLIT, JUNK_BEFORE = 5, 12, 20
JUNK = bytes([0x02, 0x00, 0x01])  # an ACC frame cut inside its time stamp


def test_mangled_frames_are_recorded_raw_and_reported(tmp_path: Path) -> None:
    walk = synthetic_walk(16.0, stand_before_s=2.0, stand_after_s=2.0)
    trace_path = tmp_path / "faults.swtrace"
    behaviour = H10Behaviour(
        frame_faults={
            TRUNCATED: truncate_frame(103),  # header + 15 samples + half of the 16th
            SPLIT: split_frame(121),  # two parts, neither a whole number of samples
            JUNK_BEFORE: insert_before(JUNK),  # an extra runt before an intact frame
        }
    )

    summary, live, h10 = record_emulated(walk.acc_g, trace_path, behaviour=behaviour)
    trace = read_trace(trace_path)
    frames = {f.index: f for f in h10.sent_frames}
    assert not frames[TRUNCATED].intact and not frames[SPLIT].intact
    assert frames[JUNK_BEFORE].notifications[0] == JUNK

    # raw: every notification, whole or mangled, is in the trace exactly as sent
    data_events = [
        e for e in trace.events if isinstance(e, NotifyEvent) and e.char_uuid == PMD_DATA_UUID
    ]
    assert [e.payload for e in data_events] == h10.data_notifications
    split_parts = frames[SPLIT].notifications
    whole = acc_frame_int16(frames[SPLIT].stamp_ns, frames[SPLIT].samples_mg)
    assert len(split_parts) == 2 and b"".join(split_parts) == whole
    at = h10.data_notifications.index(split_parts[0])
    assert h10.data_notifications[at + 1] == split_parts[1]

    # reported: the packet numbers of the truncated frame, both parts of the split frame
    # (the second starts mid-sample, with no frame header) and the runt are named by the
    # live decoder and again on replay.
    notify_events = [e for e in trace.events if isinstance(e, NotifyEvent)]
    packet_of = {e.payload: i for i, e in enumerate(notify_events)}
    bad_packets = {
        packet_of[frames[TRUNCATED].notifications[0]],
        packet_of[split_parts[0]],
        packet_of[split_parts[1]],
        packet_of[JUNK],
    }
    reported = " | ".join(summary.decode_errors)
    for packet in bad_packets:
        assert f"packet {packet}:" in reported
    assert len(summary.decode_errors) >= len(bad_packets)
    decoded = decode_trace(trace)
    replay_reports = " | ".join(decoded.problems)
    for packet in bad_packets:
        assert f"packet {packet}:" in replay_reports

    # nothing else lost: every intact frame's samples arrive, in order, exactly
    np.testing.assert_array_equal(live.acc_g(), sent_mg_to_g(h10, intact_only=True))
    np.testing.assert_array_equal(decoded.acc_g, sent_mg_to_g(h10, intact_only=True))
    intact_index = h10.sent_source_indices(intact_only=True)
    expected_unix = np.array([h10.stamp_unix_s(i) for i in intact_index])
    np.testing.assert_allclose(decoded.start_unix_s + decoded.t_s, expected_unix, rtol=0, atol=2e-6)
    # the two frames whose samples are missing show up as lost frames on replay
    lost = [g for g in decoded.gaps if g.kind == "lost_frames"]
    assert sum(g.lost_frames for g in lost) == 2
