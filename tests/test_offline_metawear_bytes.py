"""MetaWear logger bytes against MbientLab's own test vectors (MetaWear-SDK-Cpp
``test/test_logging.py``) and the tick arithmetic (48/32768 s per tick, wrap at 2³²)."""

from __future__ import annotations

import numpy as np

from firmware_bridge.offline import metawear_log as mw
from stridewatch.sync.metawear import split_recordings

SDK_READOUT = bytes([0x0B, 0x07, 0x20, 0x75, 0x1B, 0x04, 0x00, 0x3E, 0x01, 0xCD, 0x01,
                     0x21, 0x76, 0x1B, 0x04, 0x00, 0xC0, 0x07, 0x00, 0x00])


def test_sdk_logger_commands() -> None:
    assert mw.ACC_XY_TRIGGER == bytes([0x0B, 0x02, 0x03, 0x04, 0xFF, 0x60])
    assert mw.ACC_Z_TRIGGER == bytes([0x0B, 0x02, 0x03, 0x04, 0xFF, 0x24])
    assert mw.download_setup_commands() == [bytes([0x0B, 0x08, 0x01]), bytes([0x0B, 0x0D, 0x01]),
                                            bytes([0x0B, 0x07, 0x01])]
    assert mw.read_command(mw.REG_LENGTH) == bytes([0x0B, 0x85])
    # the SDK's readout of 0x19e entries with a progress notification every 0x14
    assert mw.readout_command(0x19E, 0x14) == bytes([0x0B, 0x06, 0x9E, 0x01, 0, 0, 0x14, 0, 0, 0])
    assert mw.page_confirm_command() == bytes([0x0B, 0x0E])
    assert mw.clear_entries_command() == bytes([0x0B, 0x09, 0xFF, 0xFF, 0xFF, 0xFF])
    assert mw.start_logging_commands() == [bytes([0x0B, 0x0B, 0x00]), bytes([0x0B, 0x01, 0x01])]


def test_sdk_readout_entries_and_time() -> None:
    first, second = mw.parse_entries(SDK_READOUT)
    assert (first.logger_id, first.reset_uid, first.tick) == (0, 1, 0x041B75)
    assert (second.logger_id, second.reset_uid, second.tick) == (1, 1, 0x041B76)
    assert first.to_bytes() + second.to_bytes() == SDK_READOUT[2:]
    assert mw.parse_time(bytes([0x0B, 0x84, 0xA9, 0x72, 0x04, 0x00, 0x01])) == (0x0472A9, 1)
    uids, ticks, acc = mw.acc_samples([first, second], 0, 1, 16.0)
    assert uids == [1] and ticks.tolist() == [0x041B75]
    assert np.allclose(acc[0] * 2048, (0x013E, 0x01CD, 0x07C0))  # counts at ±16 g
    # the SDK's test: the entry lies (0x0472A9 - 0x041B75) ticks before the time reading
    ref = mw.TimeReference(1, 0x0472A9, 1000.0)
    assert ref.time_of(np.array([0x041B75]))[0] == 1000.0 - (0x0472A9 - 0x041B75) * 48 / 32768


def test_tick_times_survive_the_wrap() -> None:
    ref = mw.TimeReference(3, (1 << 32) - 100, 500.0)
    ticks = np.array([(1 << 32) - 100, (1 << 32) - 1, 0, 99])
    assert np.allclose(ref.time_of(ticks), 500.0 + np.array([0, 99, 100, 199]) * mw.TICK_S)


def test_log_splits_at_resets_and_gaps_not_at_the_wrap() -> None:
    def entry(uid: int, tick: int) -> mw.LogEntry:
        return mw.LogEntry(0, uid, tick % (1 << 32), 0)

    near_wrap = (1 << 32) - 10
    entries = [entry(1, near_wrap + 14 * k) for k in range(5)]  # crosses 2^32
    entries += [entry(2, 1000 + 14 * k) for k in range(3)]  # board reset
    entries += [entry(2, 1000 + 14 * 2 + int(5 / mw.TICK_S))]  # 5 s later: a new recording
    recordings = split_recordings(entries)
    assert [len(r.entries) for r in recordings] == [5, 3, 1]
    assert [r.reset_uid for r in recordings] == [1, 2, 2]
