"""WitMotion WT901BLE / BWT901BLE (BLE 5.0) IMUs.

The device streams 20-byte packets ``55 61`` + 9 × int16 LE: acceleration
(/32768·16 g), angular rate (/32768·2000 deg/s), angles (/32768·180 deg). ``55 71`` is a
register reply of the same length. Packets can be split across notifications (or several
packed into one), so the decoder reassembles on the ``55`` header byte and resynchronises
after garbage. Note the vendor UUID base ends ``9a34fb``, not the SIG ``9b34fb``.
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

WITMOTION_SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
WITMOTION_NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WITMOTION_WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

HEADER = 0x55
FLAG_IMU = 0x61
FLAG_REGISTER = 0x71
PACKET_BYTES = 20
ACC_FULL_SCALE_G = 16.0
GYRO_FULL_SCALE_DPS = 2000.0

REG_SAVE = 0x00
REG_RATE = 0x03
REG_UNLOCK = 0x69
UNLOCK_VALUE = 0xB588
_RATE_CODES = {
    0.2: 0x01,
    0.5: 0x02,
    1.0: 0x03,
    2.0: 0x04,
    5.0: 0x05,
    10.0: 0x06,
    20.0: 0x07,
    50.0: 0x08,
    100.0: 0x09,
    200.0: 0x0B,
}
_RATE_FROM_CODE = {code: rate for rate, code in _RATE_CODES.items()}


def register_write(register: int, value: int) -> bytes:
    """``FF AA <register> <value LE16>`` register write."""
    return bytes([0xFF, 0xAA, register, value & 0xFF, (value >> 8) & 0xFF])


def decode_imu_packet(packet: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Acceleration (3,) in g and angular rate (3,) in deg/s from one ``55 61`` packet."""
    values = np.frombuffer(packet, dtype="<i2", count=9, offset=2).astype(np.float64)
    return values[0:3] / 32768.0 * ACC_FULL_SCALE_G, values[3:6] / 32768.0 * GYRO_FULL_SCALE_DPS


class WitMotionDecoder(Decoder):
    """Reassembles 20-byte packets from arbitrarily split notifications."""

    def __init__(self, config: StreamConfig | None = None) -> None:
        super().__init__(config)
        self._buffer = bytearray()

    def note_write(self, char_uuid: str, payload: bytes) -> None:
        """Learn the output rate from an ``FF AA 03 <code> 00`` register write."""
        if char_uuid.lower() != WITMOTION_WRITE_UUID or len(payload) != 5:
            return
        if payload[0] == 0xFF and payload[1] == 0xAA and payload[2] == REG_RATE:
            rate = _RATE_FROM_CODE.get(payload[3])
            if rate is not None:
                self.sample_rate_hz = rate

    def reset(self) -> None:
        self._buffer.clear()

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != WITMOTION_NOTIFY_UUID:
            return None
        if not payload:
            raise DecodeError(packet_index, "WitMotion notification is empty")
        if (
            self._buffer
            and len(payload) >= PACKET_BYTES
            and payload[0] == HEADER
            and payload[1] in (FLAG_IMU, FLAG_REGISTER)
        ):
            # A whole new packet arrived while an earlier one was still incomplete: the
            # rest of the earlier one was lost, do not glue the two together.
            self.warnings.append(
                f"packet {packet_index}: dropped {len(self._buffer)} bytes of an incomplete "
                "WitMotion packet"
            )
            self._buffer.clear()
        self._buffer.extend(payload)
        acc: list[np.ndarray] = []
        gyro: list[np.ndarray] = []
        skipped = 0
        buffer = self._buffer
        while buffer:
            if buffer[0] != HEADER:
                start = buffer.find(HEADER)
                drop = len(buffer) if start < 0 else start
                del buffer[:drop]
                skipped += drop
                continue
            if len(buffer) < 2:
                break
            if buffer[1] not in (FLAG_IMU, FLAG_REGISTER):
                del buffer[:1]
                skipped += 1
                continue
            if len(buffer) < PACKET_BYTES:
                break
            if buffer[1] == FLAG_IMU:
                a, g = decode_imu_packet(bytes(buffer[:PACKET_BYTES]))
                acc.append(a)
                gyro.append(g)
            del buffer[:PACKET_BYTES]
        if skipped:
            message = (
                f"WitMotion stream resynchronised: skipped {skipped} bytes without a 55 61 header"
            )
            if not acc:
                raise DecodeError(packet_index, message)
            self.warnings.append(f"packet {packet_index}: {message}")
        if not acc:
            return None
        return DecodedBlock(acc_g=np.vstack(acc), gyro_dps=np.vstack(gyro))


@dataclass(frozen=True)
class WitMotionProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        if WITMOTION_SERVICE_UUID in normalized_uuids(service_uuids):
            return True
        return name is not None and name.strip().upper().startswith(("WT901", "BWT901"))

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        checked = self.check_config(config, device_name)
        assert checked.sample_rate_hz is not None
        code = _RATE_CODES[checked.sample_rate_hz]
        return [
            Command(
                WITMOTION_WRITE_UUID,
                register_write(REG_UNLOCK, UNLOCK_VALUE),
                False,
                "unlock registers",
                0.1,
            ),
            Command(
                WITMOTION_WRITE_UUID, register_write(REG_RATE, code), False, "set output rate", 0.1
            ),
            Command(WITMOTION_WRITE_UUID, register_write(REG_SAVE, 0), False, "save", 0.1),
        ]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return []  # the device streams while notifications are enabled

    def new_decoder(self, config: StreamConfig) -> WitMotionDecoder:
        return WitMotionDecoder(config)


WITMOTION = WitMotionProfile(
    name="witmotion",
    title="WitMotion WT901BLE / BWT901BLE",
    service_uuids=(WITMOTION_SERVICE_UUID,),
    data_char_uuid=WITMOTION_NOTIFY_UUID,
    control_char_uuid=WITMOTION_WRITE_UUID,
    subscribe_char_uuids=(WITMOTION_NOTIFY_UUID,),
    has_device_clock=False,
    supported_rates_hz=tuple(sorted(_RATE_CODES)),
    supported_ranges_g=(ACC_FULL_SCALE_G,),
    default_rate_hz=50.0,
    default_range_g=ACC_FULL_SCALE_G,
    notes=("The rate is saved to the device's flash (unlock, write, save, as the vendor SDK).",),
)
