"""micro:bit accelerometer profile."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.profiles import DecodeError, StreamConfig
from firmware_bridge.profiles.microbit import (
    MICROBIT,
    MICROBIT_ACC_DATA_UUID,
    MICROBIT_ACC_PERIOD_UUID,
    MicrobitDecoder,
)


def test_milli_g_triplet() -> None:
    payload = np.array([-12, 1024, -980], dtype="<i2").tobytes()
    block = MicrobitDecoder().feed(MICROBIT_ACC_DATA_UUID, payload, 0)
    assert block is not None
    np.testing.assert_allclose(block.acc_g, [[-0.012, 1.024, -0.98]])


def test_wrong_length() -> None:
    with pytest.raises(DecodeError, match="packet 8: micro:bit accelerometer notification has 4"):
        MicrobitDecoder().feed(MICROBIT_ACC_DATA_UUID, bytes(4), 8)


def test_period_command() -> None:
    (command,) = MICROBIT.start_commands(StreamConfig(sample_rate_hz=50.0))
    assert (command.char_uuid, command.payload) == (MICROBIT_ACC_PERIOD_UUID, b"\x14\x00")
    decoder = MicrobitDecoder()
    decoder.note_write(MICROBIT_ACC_PERIOD_UUID, b"\x0a\x00")
    assert decoder.sample_rate_hz == 100.0
    with pytest.raises(ValueError, match=r"supported: 12.5, 50, 100 Hz"):
        MICROBIT.check_config(StreamConfig(sample_rate_hz=200.0))
