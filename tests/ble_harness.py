"""Shared set-up for the BLE integration tests (tests/test_ble_*.py).

Every test drives the real ``bleak.BleakClient`` / ``BleakScanner`` through the
bumble backend (``firmware_bridge.emulation``) against an emulated Polar H10 on
an in-process link. Emulated time runs ``TIME_SCALE`` times faster than real
time so a minute of walking streams in a few seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from firmware_bridge.emulation.emulated_sensor import emulated_polar_h10
from firmware_bridge.emulation.polar_h10 import H10Behaviour, PolarH10Emulator
from firmware_bridge.emulation.radio import EmulatedRadio
from firmware_bridge.profiles import DecodedBlock, StreamConfig
from firmware_bridge.profiles.polar_pmd import POLAR_PMD
from firmware_bridge.recorder import ReconnectPolicy, RecordSummary, record
from firmware_bridge.trace import NotifyEvent, Trace

_T = TypeVar("_T")

TIME_SCALE = 20.0
#: Reconnect quickly: the emulated strap is back within a fraction of a real second.
FAST_RECONNECT = ReconnectPolicy(first_delay_s=0.02, max_delay_s=0.2, give_up_after_s=10.0)
H10_200HZ_8G = StreamConfig(sample_rate_hz=200.0, range_g=8.0)


def run(scenario: Coroutine[Any, Any, _T], timeout_s: float = 30.0, *,
        virtual_time: bool = True) -> _T:
    """Run an async scenario on a fresh event loop; fail instead of hanging.

    ``virtual_time`` (the default): the loop's clock is virtual (see ``VirtualTimeLoop``), so
    the emulated strap, the link, the reconnect backoff and the trace's host
    stamps all see the same time whatever the machine's load; ``timeout_s`` is
    then in virtual seconds.
    """

    async def bounded() -> _T:
        return await asyncio.wait_for(scenario, timeout_s)

    if not virtual_time:
        return asyncio.run(bounded())
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(bounded())


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when nothing is ready to run: it then jumps
    to the next timer instead of sleeping. The emulated link is all in-process callbacks
    and timers, so a scenario runs as fast as the CPU allows and its timing is exact."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now_s = 0.0

    def time(self) -> float:
        return self._virtual_now_s

    def _run_once(self) -> None:
        scheduled = self._scheduled  # the loop's timer heap (asyncio.BaseEventLoop)
        if not self._ready and scheduled:
            self._virtual_now_s = max(self._virtual_now_s, scheduled[0].when())
        super()._run_once()


@asynccontextmanager
async def emulated_h10(
    acc_g: np.ndarray,
    *,
    behaviour: H10Behaviour | None = None,
    requested_mtu: int = 517,
    time_scale: float = TIME_SCALE,
) -> AsyncIterator[tuple[EmulatedRadio, PolarH10Emulator]]:
    """A radio (host asking for ``requested_mtu``) and a powered, advertising H10."""
    async with emulated_polar_h10(
        acc_g,
        source_rate_hz=200.0,
        time_scale=time_scale,
        behaviour=behaviour,
        requested_mtu=requested_mtu,
    ) as sensor:
        yield sensor.radio, sensor.h10


@dataclass
class LiveBlocks:
    """Blocks handed to ``on_block``; sets ``done`` once everything the strap sent
    in intact frames has been decoded after its sample source ran out."""

    h10: PolarH10Emulator
    blocks: list[DecodedBlock] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, block: DecodedBlock) -> None:
        self.blocks.append(block)
        if self.h10.source_exhausted.is_set() and self.n_samples >= len(
            self.h10.sent_source_indices(intact_only=True)
        ):
            self.done.set()

    @property
    def n_samples(self) -> int:
        return sum(block.n_samples for block in self.blocks)

    def acc_g(self) -> np.ndarray:
        return np.concatenate([b.acc_g for b in self.blocks]) if self.blocks else np.zeros((0, 3))

    def t_unix_s(self) -> np.ndarray:
        return np.concatenate([b.t_device_s for b in self.blocks]) if self.blocks else np.zeros(0)


async def record_whole_source(
    radio: EmulatedRadio, h10: PolarH10Emulator, trace_path: Path
) -> tuple[RecordSummary, LiveBlocks]:
    """Record until every intact frame the strap sends has arrived, then stop."""
    live = LiveBlocks(h10)
    stop = asyncio.Event()

    async def stop_when_done() -> None:
        await live.done.wait()
        stop.set()

    watcher = asyncio.create_task(stop_when_done())
    try:
        summary = await record(
            h10.ble_device,
            POLAR_PMD,
            H10_200HZ_8G,
            trace_path,
            on_block=live,
            stop=stop,
            backend=radio.client_backend,
            reconnect=FAST_RECONNECT,
        )
    finally:
        watcher.cancel()
    return summary, live


def notified(trace: Trace, char_uuid: str) -> list[bytes]:
    """Payloads of the trace's notifications on ``char_uuid``, in order."""
    return [
        e.payload for e in trace.events if isinstance(e, NotifyEvent) and e.char_uuid == char_uuid
    ]


def sent_mg_to_g(h10: PolarH10Emulator, *, intact_only: bool = True) -> np.ndarray:
    """All samples the strap transmitted, in g, as the wire carried them (mg / 1000)."""
    frames = [f for f in h10.sent_frames if f.intact or not intact_only]
    return np.concatenate([f.samples_mg for f in frames]).astype(np.float64) / 1000.0


def record_emulated(
    acc_g: np.ndarray, trace_path: Path, *, behaviour: H10Behaviour | None = None
) -> tuple[RecordSummary, LiveBlocks, PolarH10Emulator]:
    """Stream ``acc_g`` from an emulated H10 and record all of it (see ``record_whole_source``)."""

    async def scenario() -> tuple[RecordSummary, LiveBlocks, PolarH10Emulator]:
        async with emulated_h10(acc_g, behaviour=behaviour) as (radio, h10):
            summary, live = await record_whole_source(radio, h10, trace_path)
            return summary, live, h10

    return run(scenario())
