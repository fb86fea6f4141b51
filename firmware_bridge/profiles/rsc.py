"""Bluetooth SIG Running Speed and Cadence service (foot pods).

RSC Measurement: flags (uint8; bit 0 stride length present, bit 1 total distance
present, bit 2 running), speed uint16 (1/256 m/s), cadence uint8 (1/min), optional
stride length uint16 (cm), optional total distance uint32 (0.1 m).

The SIG spec counts cadence in steps per minute, but some foot pods report strides of
one foot (half the step rate); ``cadence_spm`` is the value as sent.
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
    empty_acc,
    full_uuid,
    normalized_uuids,
)

RSC_SERVICE_UUID = full_uuid("1814")
RSC_MEASUREMENT_UUID = full_uuid("2a53")
RSC_FEATURE_UUID = full_uuid("2a54")

FLAG_STRIDE_LENGTH = 0x01
FLAG_TOTAL_DISTANCE = 0x02
FLAG_RUNNING = 0x04


@dataclass(frozen=True)
class RscMeasurement:
    speed_mps: float
    cadence_spm: float
    stride_length_m: float | None
    total_distance_m: float | None
    is_running: bool


def parse_rsc_measurement(payload: bytes, packet_index: int = 0) -> RscMeasurement:
    """Parse one RSC Measurement value; raise DecodeError if it is too short."""
    if not payload:
        raise DecodeError(packet_index, "RSC measurement is empty")
    flags = payload[0]
    needed = 4
    if flags & FLAG_STRIDE_LENGTH:
        needed += 2
    if flags & FLAG_TOTAL_DISTANCE:
        needed += 4
    if len(payload) < needed:
        raise DecodeError(
            packet_index,
            f"RSC measurement of {len(payload)} bytes is too short: flags 0x{flags:02x} "
            f"need {needed}",
        )
    speed = int.from_bytes(payload[1:3], "little") / 256.0
    cadence = float(payload[3])
    offset = 4
    stride = None
    if flags & FLAG_STRIDE_LENGTH:
        stride = int.from_bytes(payload[offset : offset + 2], "little") / 100.0
        offset += 2
    distance = None
    if flags & FLAG_TOTAL_DISTANCE:
        distance = int.from_bytes(payload[offset : offset + 4], "little") / 10.0
    return RscMeasurement(
        speed_mps=speed,
        cadence_spm=cadence,
        stride_length_m=stride,
        total_distance_m=distance,
        is_running=bool(flags & FLAG_RUNNING),
    )


class RscDecoder(Decoder):
    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != RSC_MEASUREMENT_UUID:
            return None
        m = parse_rsc_measurement(bytes(payload), packet_index)
        return DecodedBlock(
            acc_g=empty_acc(),
            cadence_spm=m.cadence_spm,
            speed_mps=m.speed_mps,
            stride_length_m=m.stride_length_m,
            total_distance_m=m.total_distance_m,
            is_running=m.is_running,
        )


@dataclass(frozen=True)
class RscProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        return RSC_SERVICE_UUID in normalized_uuids(service_uuids)

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        self.check_config(config, device_name)
        return []  # measurements flow once notifications are enabled

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return []

    def new_decoder(self, config: StreamConfig) -> RscDecoder:
        return RscDecoder(config)


RSC = RscProfile(
    name="rsc",
    title="Running Speed and Cadence foot pod (Bluetooth SIG service 0x1814)",
    service_uuids=(RSC_SERVICE_UUID,),
    data_char_uuid=RSC_MEASUREMENT_UUID,
    control_char_uuid=None,
    subscribe_char_uuids=(RSC_MEASUREMENT_UUID,),
    has_device_clock=False,
    supported_rates_hz=(),
    supported_ranges_g=(),
    default_rate_hz=None,
    default_range_g=None,
    notes=("Cadence may be strides of one foot per minute on some pods: check.",),
    streams_acceleration=False,
)
