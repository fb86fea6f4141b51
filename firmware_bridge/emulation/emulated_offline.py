"""One call to get an emulated Verity Sense holding offline recordings on an in-process radio.

For ``stridewatch sync --emulate verity-sense`` and for tests::

    async with emulated_verity_sense(time_scale=50) as sensor:
        report = await sync_polar(sensor.ble_device, options, backend=sensor.client_backend)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from bleak.backends.device import BLEDevice

from firmware_bridge.emulation.emulated_clock import EmulatedClock
from firmware_bridge.emulation.metawear_board import (
    BoardBehaviour,
    MetaWearEmulator,
    wrap_scenario,
)
from firmware_bridge.emulation.radio import EmulatedRadio, OnEmulatedRadio
from firmware_bridge.emulation.synthetic_walk import standing_still, synthetic_walk
from firmware_bridge.emulation.verity_sense import (
    SenseBehaviour,
    VeritySenseEmulator,
    sample_walk_recordings,
)


@dataclass(frozen=True)
class EmulatedOfflineSensor(OnEmulatedRadio):
    sense: VeritySenseEmulator

    @property
    def ble_device(self) -> BLEDevice:
        return self.sense.ble_device


@asynccontextmanager
async def emulated_verity_sense(
    recordings: Sequence[tuple[datetime, np.ndarray]] | None = None,
    *,
    time_scale: float = 1.0,
    behaviour: SenseBehaviour | None = None,
    requested_mtu: int = 232,
) -> AsyncIterator[EmulatedOfflineSensor]:
    """A powered, advertising emulated Verity Sense (default: three sample walks at 52 Hz).

    An offline recording started on it (``sync --start``) records a synthetic walk that
    starts walking at once (no standing of its own); an online ACC stream (the guided
    calibration before it) shows the wearer standing still.
    """
    # a dropped link leaves bumble's controller warning about every packet still queued
    logging.getLogger("bumble.controller").setLevel(logging.ERROR)
    walks = sample_walk_recordings() if recordings is None else recordings
    radio = EmulatedRadio(requested_mtu=requested_mtu)
    live = synthetic_walk(600.0, rate_hz=52.0, seed=21, stand_before_s=0.0).acc_g
    sense = VeritySenseEmulator(radio, walks, behaviour=behaviour,
                                clock=EmulatedClock(time_scale), live_source=live,
                                online_source=standing_still(120.0, rate_hz=52.0, seed=22))
    async with sense:
        yield EmulatedOfflineSensor(radio=radio, sense=sense)


@dataclass(frozen=True)
class EmulatedBoard(OnEmulatedRadio):
    board: MetaWearEmulator
    #: Clock references a host saw when logging started, reset uid -> (tick, Unix s).
    clock_references: dict[int, tuple[int, float]]

    @property
    def ble_device(self) -> BLEDevice:
        return self.board.ble_device

    @property
    def source_exhausted(self) -> asyncio.Event:
        return self.board.source_exhausted

    @property
    def virtual_clock(self) -> Callable[[], float]:
        """Recorded time of the board's stream (samples sent / rate): a sensor without a
        clock is timed by it in emulation, whatever the host's load."""
        return self.board.stream_time_s


@asynccontextmanager
async def emulated_metawear(
    *, time_scale: float = 1.0, behaviour: BoardBehaviour | None = None,
    walk_s: Sequence[float] = (12.0, 14.0, 16.0), stream_source: np.ndarray | None = None,
    stream_source_rate_hz: float = 100.0,
) -> AsyncIterator[EmulatedBoard]:
    """A MetaMotion board whose log holds three walks at 50 Hz: the first crosses the 2³²
    tick wrap, then a board reset, then two more (see ``metawear_board.wrap_scenario``).

    Without ``stream_source`` it streams the wearer standing still (the guided calibration
    of ``sync --start``) and logs a walk that starts walking at once."""
    logging.getLogger("bumble.controller").setLevel(logging.ERROR)
    radio = EmulatedRadio(requested_mtu=23)
    log_source = None
    if stream_source is None:
        stream_source = standing_still(120.0, rate_hz=100.0, seed=32)
        stream_source_rate_hz = 100.0
        log_source = synthetic_walk(600.0, rate_hz=100.0, seed=33, stand_before_s=0.0).acc_g
    board = MetaWearEmulator(radio, behaviour=behaviour, clock=EmulatedClock(time_scale),
                             stream_source=stream_source,
                             stream_source_rate_hz=stream_source_rate_hz,
                             log_source=log_source)
    walks = [synthetic_walk(s, rate_hz=50.0, seed=31 + k).acc_g for k, s in enumerate(walk_s)]
    references = wrap_scenario(board, walks) if walk_s else {}
    async with board:
        yield EmulatedBoard(radio=radio, board=board, clock_references=references)
