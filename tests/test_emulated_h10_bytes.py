"""The emulated strap's own byte building, against Polar's published vectors."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.emulation.notification_faults import split_frame, truncate_frame
from firmware_bridge.emulation.pmd_device_bytes import (
    H10_ACC_SETTINGS,
    acc_frame_int16,
    acc_samples_per_frame,
    control_response,
    encode_settings,
    parse_settings,
)
from firmware_bridge.emulation.synthetic_walk import synthetic_walk


def test_acc_frame_matches_the_sdk_vector() -> None:
    # sensor-protocols.md: 02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 …
    # = ACC, stamp 2,000,000,000 ns, int16 frame, first sample (-9, -1, 999) mg
    frame = acc_frame_int16(2_000_000_000, np.array([[-9, -1, 999]]))
    assert frame == bytes.fromhex("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03")


def test_start_request_settings_parse_and_settings_answer() -> None:
    request = bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    assert parse_settings(request[2:]) == {0: [200], 1: [16], 2: [8]}
    with pytest.raises(ValueError):
        parse_settings(request[2:-1])
    answer = control_response(0x01, 0x02, 0, encode_settings(H10_ACC_SETTINGS))
    assert answer == bytes.fromhex(
        "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"
    )


def test_frame_size_follows_the_mtu() -> None:
    assert acc_samples_per_frame(232) == 36  # 3 ATT + 10 header + 36 × 6 = 229 ≤ 232
    assert acc_samples_per_frame(185) == 28


def test_faults_cut_frames_where_asked() -> None:
    frame = bytes(range(40))
    assert split_frame(10, 25)(frame) == [frame[:10], frame[10:25], frame[25:]]
    assert truncate_frame(7)(frame) == [frame[:7]]


def test_synthetic_walk_plants_steps_at_the_cadence() -> None:
    walk = synthetic_walk(60.0, cadence_spm=120.0, stand_before_s=5.0, stand_after_s=5.0)
    assert walk.step_count == pytest.approx(120, abs=3)
    assert walk.walk_span_s[0] == 5.0
    standing = walk.acc_g[: int(4 * walk.rate_hz)]
    np.testing.assert_allclose(standing.mean(axis=0), [1.0, 0.0, 0.0], atol=0.01)  # x = up
    assert walk.steps_within([(5.0, 35.0)]) == int(np.sum(walk.step_times_s <= 35.0))
    flipped = synthetic_walk(10.0, axes="-z=up,x=forward,y=right")
    np.testing.assert_allclose(flipped.acc_g[:100].mean(axis=0), [0.0, 0.0, -1.0], atol=0.02)
