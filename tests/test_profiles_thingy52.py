"""Thingy:52 raw motion profile."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.profiles import DecodeError, StreamConfig
from firmware_bridge.profiles.thingy52 import (
    THINGY52,
    THINGY_CONFIG_UUID,
    THINGY_RAW_UUID,
    Thingy52Decoder,
)


def test_device_at_rest_reads_one_g() -> None:
    # Q6.10 acceleration: 1024 = 1 g on z; gyro Q11.5: 32 = 1 deg/s; compass ignored
    raw = np.array([0, 0, 1024, 32, -64, 0, 100, 100, 100], dtype="<i2").tobytes()
    block = Thingy52Decoder().feed(THINGY_RAW_UUID, raw, 0)
    assert block is not None and block.gyro_dps is not None
    np.testing.assert_allclose(block.acc_g, [[0.0, 0.0, 1.0]])
    np.testing.assert_allclose(block.gyro_dps, [[1.0, -2.0, 0.0]])
    assert np.linalg.norm(block.acc_g) == pytest.approx(1.0)


def test_wrong_length() -> None:
    with pytest.raises(DecodeError, match="packet 3: Thingy:52 raw motion notification has 17"):
        Thingy52Decoder().feed(THINGY_RAW_UUID, bytes(17), 3)


def test_other_characteristics_ignored() -> None:
    assert Thingy52Decoder().feed(THINGY_CONFIG_UUID, bytes(18), 0) is None


def test_config_command_and_rate_learning() -> None:
    (command,) = THINGY52.start_commands(StreamConfig(sample_rate_hz=50.0))
    assert command.char_uuid == THINGY_CONFIG_UUID and command.response
    assert command.payload == bytes.fromhex("E8 03 F4 01 F4 01 32 00 01")
    decoder = Thingy52Decoder()
    decoder.note_write(THINGY_CONFIG_UUID, command.payload)
    assert decoder.sample_rate_hz == 50.0
    with pytest.raises(ValueError, match="range is fixed by the device"):
        THINGY52.check_config(StreamConfig(sample_rate_hz=50.0, range_g=2.0))
