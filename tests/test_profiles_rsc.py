"""Running Speed and Cadence profile."""

from __future__ import annotations

import pytest

from firmware_bridge.profiles import DecodeError, StreamConfig
from firmware_bridge.profiles.rsc import RSC, RSC_MEASUREMENT_UUID, parse_rsc_measurement


def test_all_fields() -> None:
    m = parse_rsc_measurement(bytes.fromhex("07 00 03 B4 64 00 10 27 00 00"))
    assert m.speed_mps == 3.0
    assert m.cadence_spm == 180.0
    assert m.stride_length_m == 1.0
    assert m.total_distance_m == 1000.0
    assert m.is_running


def test_minimal_walking() -> None:
    m = parse_rsc_measurement(bytes.fromhex("00 80 01 6E"))
    assert (m.speed_mps, m.cadence_spm) == (1.5, 110.0)
    assert m.stride_length_m is None and m.total_distance_m is None and not m.is_running


def test_decoder_block_has_cadence_and_no_samples() -> None:
    block = RSC.new_decoder(StreamConfig()).feed(
        RSC_MEASUREMENT_UUID.upper(), bytes.fromhex("02 80 01 6E 64 00 00 00"), 0
    )
    assert block is not None and block.n_samples == 0
    assert block.cadence_spm == 110.0 and block.speed_mps == 1.5
    assert block.total_distance_m == 10.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "packet 6: RSC measurement is empty"),
        ("00 80 01", "packet 6: RSC measurement of 3 bytes is too short: flags 0x00 need 4"),
        (
            "03 80 01 6E 64 00",
            "packet 6: RSC measurement of 6 bytes is too short: flags 0x03 need 10",
        ),
    ],
)
def test_short_measurements(payload: str, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_rsc_measurement(bytes.fromhex(payload), 6)
    assert str(info.value) == message


def test_no_commands_and_no_rate() -> None:
    assert RSC.start_commands(StreamConfig()) == []
    with pytest.raises(ValueError, match="sample rate is chosen by the device"):
        RSC.check_config(StreamConfig(sample_rate_hz=1.0))
    assert RSC.matches_advertisement(None, ["1814"])
    assert RSC.matches_advertisement(None, ["00001814-0000-1000-8000-00805F9B34FB"])
    assert not RSC.matches_advertisement("Stryd", ["180d"])
