"""MetaWear haptic module (0x08): vibrate the coin motor or sound the buzzer.

Facts (mbientlab/MetaWear-SDK-Cpp ``src/metawear/peripheral/cpp/haptic.cpp`` and
``test/test_haptic.py``): ``08 01 <duty> <pulse ms u16 LE> <0 motor | 1 buzzer>``, duty =
percent × 248 / 100 (the buzzer ignores it and is sent 127); e.g. the motor at 100 % for
5000 ms is ``08 01 F8 88 13 00``.
"""

from __future__ import annotations

import struct

from firmware_bridge.profiles.base import Command
from firmware_bridge.profiles.metawear import METAWEAR_COMMAND_UUID

MODULE_HAPTIC = 0x08
REG_PULSE = 0x01
MAX_DUTY = 248
BUZZER_DUTY = 127


def motor_payload(duty_pct: float, pulse_ms: int) -> bytes:
    if not 0 <= duty_pct <= 100:
        raise ValueError(f"duty {duty_pct} % is outside 0–100 %")
    if not 0 < pulse_ms <= 0xFFFF:
        raise ValueError(f"pulse of {pulse_ms} ms is outside 1–65535 ms")
    duty = int(duty_pct * MAX_DUTY / 100)
    return bytes([MODULE_HAPTIC, REG_PULSE, duty]) + struct.pack("<H", pulse_ms) + b"\x00"


def buzzer_payload(pulse_ms: int) -> bytes:
    return bytes([MODULE_HAPTIC, REG_PULSE, BUZZER_DUTY]) + struct.pack("<H", pulse_ms) + b"\x01"


def motor_command(duty_pct: float, pulse_ms: int) -> Command:
    """The write that vibrates the motor (without response, as the SDK writes)."""
    return Command(METAWEAR_COMMAND_UUID, motor_payload(duty_pct, pulse_ms), False,
                   "haptic pulse")
