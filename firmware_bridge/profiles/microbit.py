"""BBC micro:bit accelerometer service (microbit-dal).

Data notifications are 3 × int16 LE in milli-g. The period characteristic takes a
uint16 in milliseconds; the device picks the nearest period it supports. The service may
require pairing.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
    int16_triplets,
    normalized_uuids,
)

MICROBIT_ACC_SERVICE_UUID = "e95d0753-251d-470a-a062-fa1922dfa9a8"
MICROBIT_ACC_DATA_UUID = "e95dca4b-251d-470a-a062-fa1922dfa9a8"
MICROBIT_ACC_PERIOD_UUID = "e95dfb24-251d-470a-a062-fa1922dfa9a8"

DATA_BYTES = 6
# rate (Hz) -> period (ms) the accelerometer supports
_PERIODS_MS = {12.5: 80, 50.0: 20, 100.0: 10}


class MicrobitDecoder(Decoder):
    def note_write(self, char_uuid: str, payload: bytes) -> None:
        """Learn the rate from a period write (uint16 ms)."""
        if char_uuid.lower() == MICROBIT_ACC_PERIOD_UUID and len(payload) == 2:
            period_ms = int.from_bytes(payload, "little")
            if period_ms > 0:
                self.sample_rate_hz = 1000.0 / period_ms

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != MICROBIT_ACC_DATA_UUID:
            return None
        if len(payload) != DATA_BYTES:
            raise DecodeError(
                packet_index,
                f"micro:bit accelerometer notification has {len(payload)} bytes, "
                f"expected {DATA_BYTES}",
            )
        return DecodedBlock(acc_g=int16_triplets(bytes(payload)) / 1000.0)


@dataclass(frozen=True)
class MicrobitProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        if MICROBIT_ACC_SERVICE_UUID in normalized_uuids(service_uuids):
            return True
        return name is not None and name.strip().lower().startswith("bbc micro:bit")

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        checked = self.check_config(config, device_name)
        assert checked.sample_rate_hz is not None
        period_ms = _PERIODS_MS[checked.sample_rate_hz]
        return [
            Command(
                MICROBIT_ACC_PERIOD_UUID,
                period_ms.to_bytes(2, "little"),
                True,
                f"set accelerometer period {period_ms} ms",
            )
        ]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return []

    def new_decoder(self, config: StreamConfig) -> MicrobitDecoder:
        return MicrobitDecoder(config)


MICROBIT = MicrobitProfile(
    name="microbit",
    title="BBC micro:bit accelerometer service",
    service_uuids=(MICROBIT_ACC_SERVICE_UUID,),
    data_char_uuid=MICROBIT_ACC_DATA_UUID,
    control_char_uuid=MICROBIT_ACC_PERIOD_UUID,
    subscribe_char_uuids=(MICROBIT_ACC_DATA_UUID,),
    has_device_clock=False,
    supported_rates_hz=tuple(sorted(_PERIODS_MS)),
    supported_ranges_g=(),
    default_rate_hz=50.0,
    default_range_g=None,
    notes=("May need pairing before the accelerometer service can be used.",),
)
