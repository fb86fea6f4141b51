"""The device side of Polar Measurement Data (PMD): bytes a sensor *sends*.

The host side (decoding frames and responses) belongs to
``firmware_bridge.profiles.polar_pmd``; this module builds what a Polar
device puts on the air and parses what it receives, so an emulated sensor can
be checked against the host decoder from independent code. Facts from
../shared/reference/sensor-protocols.md (PMD section).
"""

from __future__ import annotations

import enum
import struct

import numpy as np

# Status codes are shared facts of the protocol; the byte handling below stays independent
# of the host decoder so that tests can check one against the other.
from firmware_bridge.profiles.polar_pmd import PmdStatus as PmdStatus

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Seconds from 1970-01-01 to 2000-01-01 (UTC): PMD stamps count ns from 2000.
POLAR_EPOCH_OFFSET_S = 946_684_800

RESPONSE_CODE = 0xF0
FRAME_HEADER_BYTES = 10  # type (1) + timestamp (8) + frame type (1)
ACC_INT16_SAMPLE_BYTES = 6


class PmdOp(enum.IntEnum):
    GET_SETTINGS = 0x01
    START = 0x02
    STOP = 0x03


class MeasurementType(enum.IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SDK_MODE = 9


class SettingType(enum.IntEnum):
    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2


#: An H10 answers a control-point read with a feature bitmap: ECG (bit 0) and ACC (bit 2).
H10_FEATURES = bytes([0x0F, 0x05, 0x00]) + bytes(14)

#: ACC settings an H10 offers: rates 25/50/100/200 Hz, 16 bit, ranges 2/4/8 g.
H10_ACC_SETTINGS: dict[SettingType, tuple[int, ...]] = {
    SettingType.SAMPLE_RATE: (25, 50, 100, 200),
    SettingType.RESOLUTION: (16,),
    SettingType.RANGE: (2, 4, 8),
}

#: ECG settings an H10 offers (130 Hz, 14 bit); listed only, ECG is not streamed here.
H10_ECG_SETTINGS: dict[SettingType, tuple[int, ...]] = {
    SettingType.SAMPLE_RATE: (130,),
    SettingType.RESOLUTION: (14,),
}


def encode_settings(settings: dict[SettingType, tuple[int, ...]]) -> bytes:
    """``[type][count][uint16 values…]`` for each setting, in type order."""
    out = bytearray()
    for setting_type in sorted(settings):
        values = settings[setting_type]
        out += bytes([int(setting_type), len(values)])
        for value in values:
            out += struct.pack("<H", value)
    return bytes(out)


def parse_settings(body: bytes) -> dict[int, list[int]]:
    """Parse ``[type][count][values…]`` repeated (uint16 values for types 0–2).

    Raises ValueError for truncated input or a type whose width is unknown.
    """
    widths = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1}
    settings: dict[int, list[int]] = {}
    i = 0
    while i < len(body):
        if i + 2 > len(body):
            raise ValueError(f"setting header truncated at byte {i}")
        setting_type, count = body[i], body[i + 1]
        width = widths.get(setting_type)
        if width is None:
            raise ValueError(f"unknown setting type {setting_type}")
        end = i + 2 + count * width
        if end > len(body):
            raise ValueError(f"setting {setting_type} truncated")
        settings[setting_type] = [
            int.from_bytes(body[j : j + width], "little") for j in range(i + 2, end, width)
        ]
        i = end
    return settings


def control_response(op: int, measurement_type: int, status: int, params: bytes = b"") -> bytes:
    """A control-point response indication: ``F0 op type status more params…``."""
    return bytes([RESPONSE_CODE, op, measurement_type, status, 0]) + params


def stream_stopped_message(measurement_types: list[int]) -> bytes:
    """What a device indicates on its own when it stops streams: ``01 <types…>``."""
    return bytes([0x01, *measurement_types])


def acc_frame_int16(stamp_ns_since_2000: int, samples_mg: np.ndarray) -> bytes:
    """An uncompressed ACC frame (frame type 1: int16 x,y,z in mg).

    ``stamp_ns_since_2000`` stamps the frame's last sample.
    """
    samples = np.asarray(samples_mg)
    if samples.ndim != 2 or samples.shape[1] != 3:
        raise ValueError(f"samples must be (n, 3), got {samples.shape}")
    return (
        bytes([MeasurementType.ACC])
        + struct.pack("<Q", stamp_ns_since_2000)
        + bytes([0x01])
        + samples.astype("<i2").tobytes()
    )


def acc_samples_per_frame(att_mtu: int) -> int:
    """Samples of 16-bit x,y,z acceleration that fit one notification at ``att_mtu``."""
    return (att_mtu - 3 - FRAME_HEADER_BYTES) // ACC_INT16_SAMPLE_BYTES
