"""One call to get an emulated Verity Sense holding offline recordings on an in-process radio.

For ``stridewatch sync --emulate verity-sense`` and for tests::

    async with emulated_verity_sense(time_scale=50) as sensor:
        report = await sync_polar(sensor.ble_device, options, backend=sensor.client_backend)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from bleak.backends.device import BLEDevice

from firmware_bridge.emulation.bumble_backend import BumbleBleakClient, BumbleBleakScanner
from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.radio import EmulatedRadio
from firmware_bridge.emulation.synthetic_walk import synthetic_walk
from firmware_bridge.emulation.verity_sense import (
    SenseBehaviour,
    VeritySenseEmulator,
    sample_walk_recordings,
)


@dataclass(frozen=True)
class EmulatedOfflineSensor:
    radio: EmulatedRadio
    sense: VeritySenseEmulator

    @property
    def ble_device(self) -> BLEDevice:
        return self.sense.ble_device

    @property
    def client_backend(self) -> type[BumbleBleakClient]:
        return self.radio.client_backend

    @property
    def scanner_backend(self) -> type[BumbleBleakScanner]:
        return self.radio.scanner_backend


@asynccontextmanager
async def emulated_verity_sense(
    recordings: Sequence[tuple[datetime, np.ndarray]] | None = None,
    *,
    time_scale: float = 1.0,
    behaviour: SenseBehaviour | None = None,
    requested_mtu: int = 232,
) -> AsyncIterator[EmulatedOfflineSensor]:
    """A powered, advertising emulated Verity Sense (default: three sample walks at 52 Hz).

    An offline recording started on it (``sync --start``) records a synthetic walk.
    """
    # a dropped link leaves bumble's controller warning about every packet still queued
    logging.getLogger("bumble.controller").setLevel(logging.ERROR)
    walks = sample_walk_recordings() if recordings is None else recordings
    radio = EmulatedRadio(requested_mtu=requested_mtu)
    live = synthetic_walk(600.0, rate_hz=52.0, seed=21).acc_g
    sense = VeritySenseEmulator(radio, walks, behaviour=behaviour,
                                clock=EmulatedClock(time_scale), live_source=live)
    async with sense:
        yield EmulatedOfflineSensor(radio=radio, sense=sense)
