"""Build Polar H10 traces from synthetic walks without a radio (for replay/export tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.simulate import Simulation
from firmware_bridge.emulation.pmd_device_bytes import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    POLAR_EPOCH_OFFSET_S,
    acc_frame_int16,
    control_response,
)
from firmware_bridge.trace import TraceWriter

START_ACC_200HZ_8G = bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")


def write_polar_trace(
    path: Path, sim: Simulation, *, frame_samples: int = 36,
    link_down_s: tuple[float, float] | None = None, device_start_unix_s: float = 1.7e9,
) -> np.ndarray:
    """Write ``sim`` (uniform, in g, at 200 Hz) as the notifications an H10 would send.

    Frames sent while the link is down (``link_down_s`` in simulation seconds)
    are lost, with a disconnect and a connect event around them. Returns the
    mask of samples that reach the trace.
    """
    fs = 200.0
    acc_mg = np.round(sim.acc * 1000.0).astype(np.int64)
    kept = np.ones(len(acc_mg), dtype=bool)
    with TraceWriter(path, "polar-pmd", device_name="Polar H10 1A2B3C4D",
                     device_address="AA:BB:CC:DD:EE:FF",
                     config={"sample_rate_hz": 200, "range_g": 8},
                     started_unix_s=device_start_unix_s, clock=lambda: 0.0) as trace:
        trace.record_connect(t_s=0.0)
        trace.record_write(PMD_CONTROL_POINT_UUID, START_ACC_200HZ_8G, t_s=0.01)
        trace.record_notify(PMD_CONTROL_POINT_UUID, control_response(0x02, 0x02, 0), t_s=0.02)
        down = False
        for first in range(0, len(acc_mg) - frame_samples + 1, frame_samples):
            last = first + frame_samples - 1
            host_t = 0.05 + last / fs
            t_sim = last / fs
            if link_down_s and link_down_s[0] <= t_sim < link_down_s[1]:
                if not down:
                    trace.record_disconnect("link lost (test)", t_s=host_t)
                    down = True
                kept[first : last + 1] = False
                continue
            if down:
                trace.record_connect(t_s=host_t)
                trace.record_write(PMD_CONTROL_POINT_UUID, START_ACC_200HZ_8G, t_s=host_t)
                down = False
            stamp_ns = int(round((device_start_unix_s - POLAR_EPOCH_OFFSET_S + last / fs) * 1e9))
            frame = acc_frame_int16(stamp_ns, acc_mg[first : last + 1])
            trace.record_notify(PMD_DATA_UUID, frame, t_s=host_t)
        kept[(len(acc_mg) // frame_samples) * frame_samples :] = False
    return kept
