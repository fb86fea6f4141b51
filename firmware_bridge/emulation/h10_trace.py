"""A `.swtrace` file as a Polar H10 streaming given samples would leave it, without a radio.

For tests and benchmarks of everything downstream of recording (replay, export,
analysis of traces): the same connect / start / notification events and frame
bytes the recorder writes from a real strap (200 Hz, ±8 g, int16 frames).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.emulation.pmd_device_bytes import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    POLAR_EPOCH_OFFSET_S,
    acc_frame_int16,
    control_response,
)
from firmware_bridge.trace import TraceWriter

RATE_HZ = 200.0
START_ACC_200HZ_8G = bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")


def write_h10_trace(
    path: Path,
    acc_g: np.ndarray,
    *,
    total_samples: int | None = None,
    frame_samples: int = 36,
    link_down_s: tuple[float, float] | None = None,
    device_start_unix_s: float = 1.7e9,
    device_name: str = "Polar H10 1A2B3C4D",
) -> np.ndarray:
    """Write ``acc_g`` ((n,3) in g at 200 Hz) as the notifications an H10 would send.

    ``total_samples`` longer than ``acc_g`` repeats it (long traces without
    holding them in memory). Frames whose last sample falls while the link is
    down (``link_down_s``, seconds of stream time) are lost, with a disconnect
    and a connect event around them. Returns the mask of stream samples that
    reach the trace (whole frames only).
    """
    acc_mg = np.round(np.asarray(acc_g) * 1000.0).astype(np.int64)
    total = len(acc_mg) if total_samples is None else int(total_samples)
    kept = np.zeros(total, dtype=bool)
    with TraceWriter(path, "polar-pmd", device_name=device_name,
                     device_address="AA:BB:CC:DD:EE:FF",
                     config={"sample_rate_hz": 200, "range_g": 8},
                     started_unix_s=device_start_unix_s, clock=lambda: 0.0) as trace:
        trace.record_connect(t_s=0.0)
        trace.record_write(PMD_CONTROL_POINT_UUID, START_ACC_200HZ_8G, t_s=0.01)
        trace.record_notify(PMD_CONTROL_POINT_UUID, control_response(0x02, 0x02, 0), t_s=0.02)
        down = False
        for first in range(0, total - frame_samples + 1, frame_samples):
            last = first + frame_samples - 1
            host_t = 0.05 + last / RATE_HZ
            if link_down_s and link_down_s[0] <= last / RATE_HZ < link_down_s[1]:
                if not down:
                    trace.record_disconnect("link lost (emulated)", t_s=host_t)
                    down = True
                continue
            if down:
                trace.record_connect(t_s=host_t)
                trace.record_write(PMD_CONTROL_POINT_UUID, START_ACC_200HZ_8G, t_s=host_t)
                down = False
            stamp_ns = int(round(
                (device_start_unix_s - POLAR_EPOCH_OFFSET_S + last / RATE_HZ) * 1e9))
            rows = np.arange(first, last + 1) % len(acc_mg)
            trace.record_notify(PMD_DATA_UUID, acc_frame_int16(stamp_ns, acc_mg[rows]),
                                t_s=host_t)
            kept[first : last + 1] = True
    return kept
