"""`.swtrace` traces as analysis input (decoded through firmware_bridge)."""

from __future__ import annotations

import sys
from pathlib import Path

from firmware_bridge.trace import TraceFormatError, decode_trace, read_trace
from stridewatch.inputs.recording import InputFileError, Recording


def read_trace_recording(path: Path, units: str | None = None) -> Recording:
    """Decode a trace into samples (t from the device clock where the profile has one, in g).

    Non-fatal problems (a truncated last line after a crash, malformed packets)
    are reported on stderr; the samples around them are kept.
    """
    try:
        decoded = decode_trace(read_trace(path))
    except (TraceFormatError, OSError, ValueError) as exc:
        raise InputFileError(f"{path}: {exc}") from exc
    for problem in decoded.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if len(decoded.t_s) == 0:
        raise InputFileError(f"{path}: the trace holds no acceleration samples")
    if units not in (None, "g"):
        raise InputFileError(f"{path}: traces are decoded to g; --units {units} does not apply")
    return Recording(
        source=str(path),
        t_s=decoded.t_s,
        acc=decoded.acc_g,
        gyro_dps=decoded.gyro_dps,
        acc_units="g",
        nominal_rate_hz=decoded.nominal_sample_rate_hz,
        format="swtrace",
        time_unit=f"s ({decoded.time_source} clock)",
        first_data_line=None,
        meta={
            "profile": decoded.profile,
            "device_name": decoded.device_name,
            "device_address": decoded.device_address,
            "time_source": decoded.time_source,
            "start_unix_s": decoded.start_unix_s,
            "gaps": [gap.__dict__ for gap in decoded.gaps],
            "problems": list(decoded.problems),
        },
    )
