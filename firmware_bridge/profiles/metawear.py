"""MbientLab MetaWear (MetaMotionR/C, Bosch BMI160 accelerometer).

Messages are ``[module][register][data]``; the accelerometer is module 0x03. Streaming
data arrives on the notify characteristic as ``03 04`` + int16 x,y,z or, packed,
``03 1C`` + three such samples. Counts per g: 16384/8192/4096/2048 for ±2/4/8/16 g.
Commands are written without response (as MbientLab's SDK does).
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

METAWEAR_SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
METAWEAR_COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
METAWEAR_NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"

MODULE_ACCELEROMETER = 0x03
REG_POWER = 0x01
REG_DATA_INTERRUPT_ENABLE = 0x02
REG_DATA_CONFIG = 0x03
REG_DATA = 0x04
REG_PACKED_DATA = 0x1C

# BMI160 ACC_CONF output data rate codes (bits 0-3); bandwidth "normal" (2) in bits 4-6.
_ODR_CODES = {12.5: 0x05, 25.0: 0x06, 50.0: 0x07, 100.0: 0x08, 200.0: 0x09, 400.0: 0x0A}
_BWP_NORMAL = 0x20
# BMI160 ACC_RANGE register values
_RANGE_CODES = {2.0: 0x03, 4.0: 0x05, 8.0: 0x08, 16.0: 0x0C}
_RANGE_FROM_CODE = {code: rng for rng, code in _RANGE_CODES.items()}
_RATE_FROM_CODE = {code: rate for rate, code in _ODR_CODES.items()}
#: Above this rate the packed (3 samples per notification) signal is used.
PACKED_ABOVE_HZ = 100.0


def counts_per_g(range_g: float) -> float:
    """Raw counts per g for a ±range_g full scale (16-bit signed)."""
    return 32768.0 / range_g


class MetaWearDecoder(Decoder):
    """Decodes ``03 04`` (one sample) and ``03 1C`` (three samples) notifications."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__(config)
        self.scale_range_g: float = config.range_g or METAWEAR.default_range_g or 16.0

    def note_write(self, char_uuid: str, payload: bytes) -> None:
        """Learn rate and range from a ``03 03 <conf> <range>`` config write."""
        if char_uuid.lower() != METAWEAR_COMMAND_UUID or len(payload) < 4:
            return
        if payload[0] == MODULE_ACCELEROMETER and payload[1] == REG_DATA_CONFIG:
            rate = _RATE_FROM_CODE.get(payload[2] & 0x0F)
            if rate is not None:
                self.sample_rate_hz = rate
            rng = _RANGE_FROM_CODE.get(payload[3] & 0x0F)
            if rng is not None:
                self.range_g = rng
                self.scale_range_g = rng

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != METAWEAR_NOTIFY_UUID:
            return None
        if len(payload) < 2:
            raise DecodeError(
                packet_index, f"MetaWear message of {len(payload)} bytes has no module/register"
            )
        module, register = payload[0], payload[1]
        if module != MODULE_ACCELEROMETER or register not in (REG_DATA, REG_PACKED_DATA):
            return None  # responses of other modules/registers carry no samples
        expected = 8 if register == REG_DATA else 20
        if len(payload) != expected:
            raise DecodeError(
                packet_index,
                f"MetaWear acceleration message {module:02x} {register:02x} has "
                f"{len(payload)} bytes, expected {expected}",
            )
        counts = int16_triplets(bytes(payload[2:]))
        return DecodedBlock(acc_g=counts / counts_per_g(self.scale_range_g))


@dataclass(frozen=True)
class MetaWearProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        if METAWEAR_SERVICE_UUID in normalized_uuids(service_uuids):
            return True
        return name is not None and name.strip().lower().startswith(("metawear", "metamotion"))

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        checked = self.check_config(config, device_name)
        assert checked.sample_rate_hz is not None and checked.range_g is not None
        conf = _BWP_NORMAL | _ODR_CODES[checked.sample_rate_hz]
        data_register = REG_PACKED_DATA if checked.sample_rate_hz > PACKED_ABOVE_HZ else REG_DATA
        acc = MODULE_ACCELEROMETER
        return [
            Command(
                METAWEAR_COMMAND_UUID,
                bytes([acc, REG_DATA_CONFIG, conf, _RANGE_CODES[checked.range_g]]),
                False,
                "configure rate and range",
            ),
            Command(METAWEAR_COMMAND_UUID, bytes([acc, data_register, 0x01]), False, "subscribe"),
            Command(
                METAWEAR_COMMAND_UUID,
                bytes([acc, REG_DATA_INTERRUPT_ENABLE, 0x01, 0x00]),
                False,
                "enable data",
            ),
            Command(METAWEAR_COMMAND_UUID, bytes([acc, REG_POWER, 0x01]), False, "start"),
        ]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        rate = config.sample_rate_hz or self.default_rate_hz or 0.0
        data_register = REG_PACKED_DATA if rate > PACKED_ABOVE_HZ else REG_DATA
        acc = MODULE_ACCELEROMETER
        return [
            Command(METAWEAR_COMMAND_UUID, bytes([acc, REG_POWER, 0x00]), False, "stop"),
            Command(
                METAWEAR_COMMAND_UUID,
                bytes([acc, REG_DATA_INTERRUPT_ENABLE, 0x00, 0x01]),
                False,
                "disable data",
            ),
            Command(METAWEAR_COMMAND_UUID, bytes([acc, data_register, 0x00]), False, "unsubscribe"),
        ]

    def new_decoder(self, config: StreamConfig) -> MetaWearDecoder:
        return MetaWearDecoder(config)


METAWEAR = MetaWearProfile(
    name="metawear",
    title="MbientLab MetaWear / MetaMotion (BMI160 accelerometer)",
    service_uuids=(METAWEAR_SERVICE_UUID,),
    data_char_uuid=METAWEAR_NOTIFY_UUID,
    control_char_uuid=METAWEAR_COMMAND_UUID,
    subscribe_char_uuids=(METAWEAR_NOTIFY_UUID,),
    has_device_clock=False,
    supported_rates_hz=tuple(sorted(_ODR_CODES)),
    supported_ranges_g=tuple(sorted(_RANGE_CODES)),
    default_rate_hz=100.0,
    default_range_g=8.0,
    notes=(
        "Config bytes are for the BMI160 (MetaMotionR/C); a BMI270 board (MetaMotionS) "
        "uses different range codes.",
    ),
)
