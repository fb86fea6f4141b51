"""The guided standing calibration before an offline recording (`sync --start`).

The wearer gets the same "Stand tall and still for 5 s" as at the start of `record`
(``stridewatch.live.calibration.GuidedCalibration``, fed by the same ``LiveView``), on a
short live stream of the sensor (PMD online ACC on a Verity Sense, the accelerometer
stream on a MetaWear), written as a trace so the standing can be checked later. The mean
acceleration of the still segment is the upright reference (gravity in the sensor frame)
that `sync --start` stores for the patient and sensor; the synced walk is then judged
against it (reference ``stored``) unless it has standing of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice

from analysis.rules import RuleSet
from firmware_bridge.profiles import ProfileSpec, StreamConfig
from firmware_bridge.recorder import record
from stridewatch.live.calibration import MAX_TRY_S, GuidedCalibration

#: The live stream ends this long after the guide would have given up (s of samples).
STREAM_LIMIT_S = MAX_TRY_S + 15.0


@dataclass(frozen=True)
class StandingCalibration:
    """The still segment (s on the calibration trace's clock) and its mean acceleration."""

    gravity_g: np.ndarray
    segment_s: tuple[float, float]
    trace_path: Path


class _SampleKeepingGuide(GuidedCalibration):
    """The guided calibration, keeping the samples it judged (to average the segment)."""

    def __init__(self, out: TextIO | None, mark: Callable[[str], None] | None) -> None:
        super().__init__(out, mark)
        self.t_s: list[np.ndarray] = []
        self.acc_g: list[np.ndarray] = []

    def feed(self, t_s: np.ndarray, acc_g: np.ndarray) -> None:
        if self.active:
            self.t_s.append(np.asarray(t_s, dtype=float))
            self.acc_g.append(np.asarray(acc_g, dtype=float))
        super().feed(t_s, acc_g)

    def segment_gravity_g(self) -> np.ndarray:
        assert self.segment_s is not None
        t = np.concatenate(self.t_s)
        acc = np.vstack(self.acc_g)
        start, end = self.segment_s
        return acc[(t >= start) & (t < end)].mean(axis=0)


async def guided_standing(
    device: BLEDevice, profile: ProfileSpec, config: StreamConfig, trace_path: Path, *,
    rules: RuleSet, out: TextIO, backend: type[BaseBleakClient] | None = None,
    sample_clock: bool = False,
) -> StandingCalibration | None:
    """Guide the wearer through standing still on a live stream; None if they did not.

    ``sample_clock``: time a sensor without a clock by the samples received (an emulated
    sensor); else by the host's monotonic clock, as `record` does.
    """
    from stridewatch.live.view import LiveView

    marks: list = []
    guide = _SampleKeepingGuide(out, mark=lambda label: marks and marks[0].record_mark(label))
    rate = float(config.sample_rate_hz or 50.0)
    received: list[LiveView] = []
    live = LiveView(rate, rules=rules, guide=guide, out=None,
                    clock=(lambda: received[0].samples / rate) if sample_clock
                    else time.monotonic)
    received.append(live)
    stop = asyncio.Event()

    def on_block(block: object) -> None:
        live.on_block(block)  # type: ignore[arg-type]
        if not guide.active or live.samples >= STREAM_LIMIT_S * rate:
            stop.set()

    trace_path.parent.mkdir(parents=True, exist_ok=True)
    await record(device, profile, config, trace_path, on_block=on_block, stop=stop,
                 backend=backend, on_trace=marks.append)
    if guide.state != "done" or guide.segment_s is None:
        return None
    return StandingCalibration(guide.segment_gravity_g(), guide.segment_s, trace_path)
