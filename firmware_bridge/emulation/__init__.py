"""Emulated BLE sensors on an in-process bumble link, reachable through real bleak.

- :mod:`.radio` — :class:`EmulatedRadio`, the shared link and host-side central;
- :mod:`.bumble_backend` — bleak client/scanner backends over that central;
- :mod:`.polar_h10` — a Polar H10 peripheral, byte for byte, with fault knobs;
- :mod:`.synthetic_walk` — a trunk-accelerometer walk with planted steps;
- :mod:`.emulated_sensor` — :func:`emulated_polar_h10`, all of the above in one call.
"""

from __future__ import annotations

from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.emulated_sensor import EmulatedSensor, emulated_polar_h10
from firmware_bridge.emulation.polar_h10 import H10Behaviour, LinkDrop, PolarH10Emulator
from firmware_bridge.emulation.radio import EmulatedRadio
from firmware_bridge.emulation.synthetic_walk import SyntheticWalk, synthetic_walk

__all__ = [
    "EmulatedClock",
    "EmulatedRadio",
    "EmulatedSensor",
    "H10Behaviour",
    "LinkDrop",
    "PolarH10Emulator",
    "SyntheticWalk",
    "emulated_polar_h10",
    "synthetic_walk",
]
