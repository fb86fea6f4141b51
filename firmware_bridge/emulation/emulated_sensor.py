"""One call to get an emulated Polar H10 walking on an in-process radio.

For ``stridewatch record --emulate`` / ``stridewatch scan --emulate`` and for
tests: everything the recorder and scanner need to run over the emulated
link instead of a Bluetooth adapter::

    async with emulated_polar_h10(time_scale=10) as sensor:
        found = await scan(2.0, backend=sensor.scanner_backend)
        await record(sensor.ble_device, POLAR_PMD, config, "walk.swtrace",
                     backend=sensor.client_backend)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
from bleak.backends.device import BLEDevice

from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.polar_h10 import H10Behaviour, PolarH10Emulator
from firmware_bridge.emulation.radio import DEFAULT_REQUESTED_MTU, EmulatedRadio, OnEmulatedRadio
from firmware_bridge.emulation.synthetic_walk import SyntheticWalk, synthetic_walk


@dataclass(frozen=True)
class EmulatedSensor(OnEmulatedRadio):
    """An emulated strap and the bleak backends that reach it.

    Pass ``client_backend`` as ``backend=`` to ``record``/``BleakClient`` and
    ``scanner_backend`` to ``scan``/``BleakScanner``. ``walk`` is the known truth
    being streamed (None when a raw array was given).
    """

    h10: PolarH10Emulator
    walk: SyntheticWalk | None

    @property
    def ble_device(self) -> BLEDevice:
        return self.h10.ble_device


@asynccontextmanager
async def emulated_polar_h10(
    source: SyntheticWalk | np.ndarray | None = None,
    *,
    source_rate_hz: float = 200.0,
    time_scale: float = 1.0,
    behaviour: H10Behaviour | None = None,
    requested_mtu: int = DEFAULT_REQUESTED_MTU,
) -> AsyncIterator[EmulatedSensor]:
    """A powered, advertising emulated Polar H10 streaming ``source``.

    ``source`` is a :class:`SyntheticWalk` (default: a 2-minute walk at 200 Hz) or an
    (N, 3) array of acceleration in g at ``source_rate_hz``. ``time_scale`` > 1 runs
    the strap's clock faster than real time; ``requested_mtu`` is the ATT MTU the
    host side asks for (517 like BlueZ; 185 to see an iPhone's refusal).
    """
    walk = synthetic_walk() if source is None else source
    if isinstance(walk, SyntheticWalk):
        acc_g, rate_hz, truth = walk.acc_g, walk.rate_hz, walk
    else:
        acc_g, rate_hz, truth = np.asarray(walk), source_rate_hz, None
    radio = EmulatedRadio(requested_mtu=requested_mtu)
    h10 = PolarH10Emulator(
        radio, acc_g, rate_hz, behaviour=behaviour, clock=EmulatedClock(time_scale)
    )
    async with h10:
        yield EmulatedSensor(radio=radio, h10=h10, walk=truth)
