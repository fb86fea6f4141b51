"""WitMotion profile: packet decoding, reassembly across notifications, resync."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.profiles import DecodeError, StreamConfig
from firmware_bridge.profiles.witmotion import (
    WITMOTION,
    WITMOTION_NOTIFY_UUID,
    WITMOTION_WRITE_UUID,
    WitMotionDecoder,
)

RAW = np.array([2048, -2048, 16384, 16384, -3277, 0, 100, 200, 300], dtype="<i2")
PACKET = bytes([0x55, 0x61]) + RAW.tobytes()
EXPECTED_ACC = np.array([[1.0, -1.0, 8.0]])
EXPECTED_GYRO = np.array([[1000.0, -3277 / 32768 * 2000, 0.0]])


def packet(scale: int) -> bytes:
    return bytes([0x55, 0x61]) + (RAW // scale).astype("<i2").tobytes()


def test_single_packet() -> None:
    block = WitMotionDecoder().feed(WITMOTION_NOTIFY_UUID, PACKET, 0)
    assert block is not None and block.t_device_s is None
    np.testing.assert_allclose(block.acc_g, EXPECTED_ACC)
    assert block.gyro_dps is not None
    np.testing.assert_allclose(block.gyro_dps, EXPECTED_GYRO)


@pytest.mark.parametrize("cut", range(1, 20))
def test_packet_split_at_every_position(cut: int) -> None:
    decoder = WitMotionDecoder()
    assert decoder.feed(WITMOTION_NOTIFY_UUID, PACKET[:cut], 0) is None
    block = decoder.feed(WITMOTION_NOTIFY_UUID, PACKET[cut:], 1)
    assert block is not None
    np.testing.assert_allclose(block.acc_g, EXPECTED_ACC)
    assert decoder.warnings == []


def test_several_packets_and_a_register_reply_in_odd_chunks() -> None:
    register_reply = bytes([0x55, 0x71]) + bytes(range(18))
    stream = packet(1) + register_reply + packet(2) + packet(4)
    decoder = WitMotionDecoder()
    blocks = [decoder.feed(WITMOTION_NOTIFY_UUID, stream[i : i + 7], i) for i in range(0, 80, 7)]
    acc = np.vstack([b.acc_g for b in blocks if b is not None])
    np.testing.assert_allclose(acc, np.vstack([EXPECTED_ACC, EXPECTED_ACC / 2, EXPECTED_ACC / 4]))
    assert decoder.warnings == []


def test_garbage_before_header_is_skipped_with_warning() -> None:
    decoder = WitMotionDecoder()
    block = decoder.feed(WITMOTION_NOTIFY_UUID, b"\x01\x02\x55\x00\x03" + PACKET, 4)
    assert block is not None
    np.testing.assert_allclose(block.acc_g, EXPECTED_ACC)
    assert decoder.warnings == [
        "packet 4: WitMotion stream resynchronised: skipped 5 bytes without a 55 61 header"
    ]


def test_garbage_only_is_a_decode_error_and_decoder_recovers() -> None:
    decoder = WitMotionDecoder()
    with pytest.raises(DecodeError, match="packet 2: WitMotion stream resynchronised: skipped 4"):
        decoder.feed(WITMOTION_NOTIFY_UUID, b"\x00\x11\x22\x33", 2)
    assert decoder.feed(WITMOTION_NOTIFY_UUID, PACKET, 3) is not None


def test_whole_new_packet_replaces_a_stale_partial() -> None:
    decoder = WitMotionDecoder()
    decoder.feed(WITMOTION_NOTIFY_UUID, PACKET[:9], 0)  # the rest of this packet is lost
    block = decoder.feed(WITMOTION_NOTIFY_UUID, packet(2), 1)
    assert block is not None
    np.testing.assert_allclose(block.acc_g, EXPECTED_ACC / 2)
    assert decoder.warnings == ["packet 1: dropped 9 bytes of an incomplete WitMotion packet"]


def test_reset_drops_partial_packet() -> None:
    decoder = WitMotionDecoder()
    decoder.feed(WITMOTION_NOTIFY_UUID, PACKET[:12], 0)
    decoder.reset()
    # without the first 12 bytes the rest is just bytes without a header
    with pytest.raises(DecodeError, match="skipped 8 bytes"):
        decoder.feed(WITMOTION_NOTIFY_UUID, PACKET[12:], 1)


def test_empty_notification() -> None:
    with pytest.raises(DecodeError, match="packet 0: WitMotion notification is empty"):
        WitMotionDecoder().feed(WITMOTION_NOTIFY_UUID, b"", 0)


def test_commands_unlock_rate_save() -> None:
    commands = WITMOTION.start_commands(StreamConfig(sample_rate_hz=100.0))
    assert [c.payload.hex(" ") for c in commands] == [
        "ff aa 69 88 b5",
        "ff aa 03 09 00",
        "ff aa 00 00 00",
    ]
    assert all(c.char_uuid == WITMOTION_WRITE_UUID and c.pause_after_s > 0 for c in commands)
    assert WITMOTION.stop_commands(StreamConfig()) == []
    with pytest.raises(ValueError, match="range ±8 g is not supported"):
        WITMOTION.check_config(StreamConfig(sample_rate_hz=50.0, range_g=8.0))


def test_rate_learned_from_write() -> None:
    decoder = WitMotionDecoder()
    decoder.note_write(WITMOTION_WRITE_UUID, bytes.fromhex("ff aa 03 0b 00"))
    assert decoder.sample_rate_hz == 200.0


def test_vendor_uuid_base_and_advertisement() -> None:
    assert WITMOTION.service_uuids == ("0000ffe5-0000-1000-8000-00805f9a34fb",)
    assert WITMOTION.matches_advertisement("WT901BLE68", [])
    assert not WITMOTION.matches_advertisement(None, ["0000ffe5-0000-1000-8000-00805f9b34fb"])
