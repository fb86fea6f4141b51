"""A `.swtrace` file as a BBC micro:bit (no device clock) streaming given samples leaves it.

For tests and benchmarks of host-time decoding: one int16 mg sample per notification,
arriving at ``rate_hz`` with BLE-like bunching (notifications released together every
connection interval). ``header_rate_hz`` is what the header claims; ``time_scale`` the
unit host times are written in (1000 = milliseconds, as a buggy writer would).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.profiles.microbit import MICROBIT_ACC_DATA_UUID
from firmware_bridge.trace import TraceWriter


def write_microbit_trace(
    path: Path,
    acc_g: np.ndarray,
    *,
    rate_hz: float = 50.0,
    header_rate_hz: float | None = 50.0,
    connection_interval_s: float = 0.03,
    time_scale: float = 1.0,
    started_unix_s: float = 1.7e9,
) -> None:
    """Write ``acc_g`` ((n,3) in g, sampled at ``rate_hz``) as micro:bit notifications."""
    acc_mg = np.clip(np.round(np.asarray(acc_g) * 1000.0), -32768, 32767).astype("<i2")
    config = {} if header_rate_hz is None else {"sample_rate_hz": header_rate_hz}
    with TraceWriter(path, "microbit", device_name="BBC micro:bit [zotav]",
                     device_address="D1:00:00:00:00:01", config=config,
                     started_unix_s=started_unix_s, clock=lambda: 0.0) as trace:
        trace.record_connect(t_s=0.0)
        for i, row in enumerate(acc_mg):
            measured = 0.1 + i / rate_hz
            arrival = (np.floor(measured / connection_interval_s) + 1) * connection_interval_s
            trace.record_notify(MICROBIT_ACC_DATA_UUID, row.tobytes(),
                                t_s=float(arrival) * time_scale)
