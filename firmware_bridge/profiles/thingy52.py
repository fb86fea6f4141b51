"""Nordic Thingy:52 motion service, raw data characteristic.

Raw notifications are 18 bytes: int16 LE acceleration ×3 with 10 fractional bits
(/1024 -> g), gyro ×3 with 5 fractional bits (/32 -> deg/s), compass ×3 with 4
(/16 -> µT; not used). These follow the firmware (``m_motion.c`` shifts the DMP's Q16
values right by 6/11/12 bits); Nordic's JavaScript library scales differently.
The motion configuration characteristic takes 9 bytes: pedometer interval (ms),
temperature compensation interval (ms), compass interval (ms), motion rate (Hz), all
uint16 LE, and wake-on-motion (uint8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
    normalized_uuids,
)

THINGY_MOTION_SERVICE_UUID = "ef680400-9b35-4933-9b10-52ffa9740042"
THINGY_CONFIG_UUID = "ef680401-9b35-4933-9b10-52ffa9740042"
THINGY_STEP_COUNTER_UUID = "ef680405-9b35-4933-9b10-52ffa9740042"
THINGY_RAW_UUID = "ef680406-9b35-4933-9b10-52ffa9740042"
THINGY_CONFIGURATION_SERVICE_UUID = "ef680100-9b35-4933-9b10-52ffa9740042"

RAW_BYTES = 18
ACC_COUNTS_PER_G = 1024.0
GYRO_COUNTS_PER_DPS = 32.0

# Firmware defaults for the fields we do not change.
_PEDOMETER_INTERVAL_MS = 1000
_TEMPERATURE_INTERVAL_MS = 500
_COMPASS_INTERVAL_MS = 500
_WAKE_ON_MOTION = 1


def motion_config_payload(motion_rate_hz: int) -> bytes:
    """9-byte motion configuration with the firmware's default intervals."""
    return (
        _PEDOMETER_INTERVAL_MS.to_bytes(2, "little")
        + _TEMPERATURE_INTERVAL_MS.to_bytes(2, "little")
        + _COMPASS_INTERVAL_MS.to_bytes(2, "little")
        + int(motion_rate_hz).to_bytes(2, "little")
        + bytes([_WAKE_ON_MOTION])
    )


class Thingy52Decoder(Decoder):
    def note_write(self, char_uuid: str, payload: bytes) -> None:
        """Learn the motion rate from a 9-byte configuration write."""
        if char_uuid.lower() == THINGY_CONFIG_UUID and len(payload) == 9:
            rate = int.from_bytes(payload[6:8], "little")
            if rate > 0:
                self.sample_rate_hz = float(rate)

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != THINGY_RAW_UUID:
            return None
        if len(payload) != RAW_BYTES:
            raise DecodeError(
                packet_index,
                f"Thingy:52 raw motion notification has {len(payload)} bytes, expected {RAW_BYTES}",
            )
        values = np.frombuffer(bytes(payload), dtype="<i2").astype(np.float64)
        return DecodedBlock(
            acc_g=(values[0:3] / ACC_COUNTS_PER_G).reshape(1, 3),
            gyro_dps=(values[3:6] / GYRO_COUNTS_PER_DPS).reshape(1, 3),
        )


@dataclass(frozen=True)
class Thingy52Profile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        uuids = normalized_uuids(service_uuids)
        if THINGY_MOTION_SERVICE_UUID in uuids or THINGY_CONFIGURATION_SERVICE_UUID in uuids:
            return True
        return name is not None and name.strip().lower().startswith("thingy")

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        checked = self.check_config(config, device_name)
        assert checked.sample_rate_hz is not None
        return [
            Command(
                THINGY_CONFIG_UUID,
                motion_config_payload(int(checked.sample_rate_hz)),
                True,
                "set motion rate",
            )
        ]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return []  # raw data stops when notifications are disabled

    def new_decoder(self, config: StreamConfig) -> Thingy52Decoder:
        return Thingy52Decoder(config)


THINGY52 = Thingy52Profile(
    name="thingy52",
    title="Nordic Thingy:52 (motion service raw data)",
    service_uuids=(THINGY_MOTION_SERVICE_UUID,),
    data_char_uuid=THINGY_RAW_UUID,
    control_char_uuid=THINGY_CONFIG_UUID,
    subscribe_char_uuids=(THINGY_RAW_UUID,),
    has_device_clock=False,
    supported_rates_hz=(5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0),
    supported_ranges_g=(),
    default_rate_hz=50.0,
    default_range_g=None,
    notes=("Check that a device at rest reads about 1 g: scaling differs between Nordic tools.",),
)
