"""The profile registry: names, UUID forms, default configs, advertisement routing."""

from __future__ import annotations

import re

import pytest

from firmware_bridge.profiles import (
    PROFILES,
    StreamConfig,
    full_uuid,
    get_profile,
    match_advertisement,
)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_registry_names() -> None:
    assert set(PROFILES) == {"polar-pmd", "metawear", "witmotion", "thingy52", "microbit", "rsc"}
    assert all(spec.name == name for name, spec in PROFILES.items())


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_uuids_are_lower_case_full_128_bit(name: str) -> None:
    spec = PROFILES[name]
    uuids = [*spec.service_uuids, spec.data_char_uuid, *spec.subscribe_char_uuids]
    if spec.control_char_uuid:
        uuids.append(spec.control_char_uuid)
    assert all(UUID_RE.match(u) for u in uuids), uuids
    assert spec.data_char_uuid in spec.subscribe_char_uuids


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_default_config_builds_commands_for_known_characteristics(name: str) -> None:
    spec = PROFILES[name]
    config = spec.default_config()
    assert spec.check_config(config) == config
    known = {spec.data_char_uuid, spec.control_char_uuid}
    for command in spec.start_commands(config) + spec.stop_commands(config):
        assert command.char_uuid in known and command.payload


def test_full_uuid_forms() -> None:
    assert full_uuid("2A53") == "00002a53-0000-1000-8000-00805f9b34fb"
    assert full_uuid("0x1814") == "00001814-0000-1000-8000-00805f9b34fb"
    upper = "FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8"
    assert full_uuid(upper) == upper.lower()


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        ("Polar H10 1A2B3C4D", ["0000180d-0000-1000-8000-00805f9b34fb"], ["polar-pmd"]),
        ("MetaWear", ["326a9000-85cb-9195-d9dd-464cfbbae75a"], ["metawear"]),
        ("WT901BLE68", [], ["witmotion"]),
        ("Thingy", ["ef680100-9b35-4933-9b10-52ffa9740042"], ["thingy52"]),
        ("BBC micro:bit [zavit]", [], ["microbit"]),
        ("Stryd", ["00001814-0000-1000-8000-00805f9b34fb"], ["rsc"]),
        ("Headphones", ["0000110b-0000-1000-8000-00805f9b34fb"], []),
        (None, [], []),
    ],
)
def test_advertisement_routing(name: str | None, uuids: list[str], expected: list[str]) -> None:
    assert [spec.name for spec in match_advertisement(name, uuids)] == expected


def test_unknown_profile_name() -> None:
    with pytest.raises(ValueError, match=r"unknown sensor profile 'fitbit' \(known: metawear"):
        get_profile("fitbit")


def test_stream_config_from_dict() -> None:
    assert StreamConfig.from_dict({"sample_rate_hz": 50, "other": 1}) == StreamConfig(50.0, None)
    with pytest.raises(ValueError, match="config range_g must be a positive number"):
        StreamConfig.from_dict({"range_g": -2})
    with pytest.raises(ValueError, match="config sample_rate_hz must be a number"):
        StreamConfig.from_dict({"sample_rate_hz": "fast"})


VALID_PAYLOADS = {
    "polar-pmd": bytes.fromhex("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03"),
    "metawear": bytes.fromhex("03 04 16 C4 94 A2 2A D0"),
    "witmotion": bytes([0x55, 0x61]) + bytes(18),
    "thingy52": bytes(16) + b"\x00\x04",
    "microbit": bytes.fromhex("00 00 00 00 E8 03"),
    "rsc": bytes.fromhex("00 80 01 6E"),
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_decoders_accept_bleak_bytearrays_and_upper_case_uuids(name: str) -> None:
    spec = PROFILES[name]
    decoder = spec.new_decoder(spec.default_config())
    block = decoder.feed(spec.data_char_uuid.upper(), bytearray(VALID_PAYLOADS[name]), 0)
    assert block is not None
    assert block.n_samples == (0 if name == "rsc" else 1)
