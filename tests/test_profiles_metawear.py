"""MetaWear profile: vendor vector, packed samples, commands."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.profiles import DecodeError, StreamConfig
from firmware_bridge.profiles.metawear import (
    METAWEAR,
    METAWEAR_COMMAND_UUID,
    METAWEAR_NOTIFY_UUID,
    counts_per_g,
)


def decoder(range_g: float = 4.0):
    return METAWEAR.new_decoder(StreamConfig(sample_rate_hz=100.0, range_g=range_g))


def test_vendor_vector_at_4g() -> None:
    block = decoder(4.0).feed(METAWEAR_NOTIFY_UUID, bytes.fromhex("03 04 16 C4 94 A2 2A D0"), 0)
    assert block is not None and block.t_device_s is None and block.gyro_dps is None
    np.testing.assert_allclose(block.acc_g, [[-1.872, -2.919, -1.495]], atol=5e-4)
    np.testing.assert_allclose(block.acc_g * 8192, [[-15338, -23916, -12246]])


@pytest.mark.parametrize(("range_g", "counts"), [(2, 16384), (4, 8192), (8, 4096), (16, 2048)])
def test_counts_per_g_by_range(range_g: float, counts: float) -> None:
    assert counts_per_g(range_g) == counts


def test_packed_message_has_three_samples() -> None:
    samples = np.array([[4096, 0, -4096], [1, 2, 3], [-32768, 32767, 0]], dtype="<i2")
    block = decoder(8.0).feed(METAWEAR_NOTIFY_UUID, bytes([0x03, 0x1C]) + samples.tobytes(), 0)
    assert block is not None
    np.testing.assert_allclose(block.acc_g, samples / 4096.0)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x03", "packet 5: MetaWear message of 1 bytes has no module/register"),
        (
            bytes.fromhex("03 04 16 C4 94 A2 2A"),
            "packet 5: MetaWear acceleration message 03 04 has 7 bytes, expected 8",
        ),
        (
            bytes([3, 0x1C]) + bytes(12),
            "packet 5: MetaWear acceleration message 03 1c has 14 bytes",
        ),
    ],
)
def test_malformed_messages(payload: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        decoder().feed(METAWEAR_NOTIFY_UUID, payload, 5)
    assert str(info.value).startswith(message)


def test_other_registers_and_characteristics_are_ignored() -> None:
    assert decoder().feed(METAWEAR_NOTIFY_UUID, bytes.fromhex("11 0A 01"), 0) is None
    sample = bytes.fromhex("03 04 00 00 00 00 00 00")
    assert decoder().feed(METAWEAR_COMMAND_UUID, sample, 0) is None


def test_range_and_rate_learned_from_config_write() -> None:
    d = decoder(16.0)
    d.note_write(METAWEAR_COMMAND_UUID, bytes.fromhex("03 03 27 05"))
    assert d.range_g == 4.0 and d.sample_rate_hz == 50.0
    block = d.feed(METAWEAR_NOTIFY_UUID, bytes.fromhex("03 04 00 20 00 00 00 E0"), 0)
    assert block is not None
    np.testing.assert_allclose(block.acc_g, [[1.0, 0.0, -1.0]])


def test_start_and_stop_commands() -> None:
    start = METAWEAR.start_commands(StreamConfig(100.0, 4.0))
    assert [c.payload.hex(" ") for c in start] == [
        "03 03 28 05",
        "03 04 01",
        "03 02 01 00",
        "03 01 01",
    ]
    assert all(c.char_uuid == METAWEAR_COMMAND_UUID and not c.response for c in start)
    packed = METAWEAR.start_commands(StreamConfig(200.0, 16.0))
    assert packed[0].payload.hex(" ") == "03 03 29 0c" and packed[1].payload.hex(" ") == "03 1c 01"
    stop = METAWEAR.stop_commands(StreamConfig(100.0, 4.0))
    assert [c.payload.hex(" ") for c in stop] == ["03 01 00", "03 02 00 01", "03 04 00"]


def test_unsupported_config() -> None:
    with pytest.raises(ValueError, match=r"metawear: sample rate 60 Hz is not supported"):
        METAWEAR.start_commands(StreamConfig(60.0, 4.0))
    with pytest.raises(ValueError, match=r"range ±3 g is not supported \(supported: ±2, 4, 8, 16"):
        METAWEAR.check_config(StreamConfig(100.0, 3.0))


def test_advertisement() -> None:
    assert METAWEAR.matches_advertisement("MetaWear", [])
    assert METAWEAR.matches_advertisement(None, ["326A9000-85CB-9195-D9DD-464CFBBAE75A"])
    assert not METAWEAR.matches_advertisement("Polar H10 1", ["180d"])
