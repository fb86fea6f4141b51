"""What makes two saved sessions the same walk, and when that walk was recorded.

Identity: a recording is its content plus the device that made it. For a ``.swtrace`` trace
the content is the bytes the sensor sent (every notification's characteristic and payload,
in order; the host times and the header are left out, so a later decoder or a re-written
header does not make it a new recording); for any other input it is the decoded samples
(time and acceleration, plus angular rate where present, as little-endian float64). The
device is the trace header's address (else its name); "" when unknown.

The recording's start comes from the one recording clock, ``stridewatch.store.clock``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from stridewatch.inputs import TRACE_SUFFIX, Recording
from stridewatch.store.clock import RecordingClock, given_clock, recording_clock


@dataclass(frozen=True)
class RecordingIdentity:
    content_sha256: str
    device: str
    clock: RecordingClock


def identify(recording: Recording, path: Path, duration_s: float | None = None,
             given: date | datetime | None = None) -> RecordingIdentity:
    """Identity and recording clock of a read recording (``path``: the file it came from)."""
    meta = recording.meta or {}
    device = str(meta.get("device_address") or meta.get("device_name") or meta.get("device")
                 or "")
    if path.suffix == TRACE_SUFFIX:
        digest, host_start = trace_content(path)
    else:
        digest, host_start = samples_sha256(recording), None
    clock = given_clock(given) if given is not None else recording_clock(
        meta, path, host_start, duration_s)
    return RecordingIdentity(digest, device, clock)


def trace_content(path: Path) -> tuple[str, float | None]:
    """SHA-256 of a trace's notifications and the host's Unix time of the first of them."""
    from firmware_bridge.trace import NotifyEvent, read_trace

    trace = read_trace(path)
    digest = hashlib.sha256()
    first_t: float | None = None
    for event in trace.events:
        if isinstance(event, NotifyEvent):
            if first_t is None:
                first_t = event.t_s
            char = event.char_uuid.lower().encode("ascii")
            digest.update(len(char).to_bytes(2, "little") + char)
            digest.update(len(event.payload).to_bytes(4, "little") + bytes(event.payload))
    started = trace.header.started_unix_s
    host_start = None if started is None else float(started) + (first_t or 0.0)
    return digest.hexdigest(), host_start


def samples_sha256(recording: Recording) -> str:
    """SHA-256 of the decoded samples (t, acceleration and angular rate as float64 LE)."""
    digest = hashlib.sha256()
    arrays = [recording.t_s, recording.acc]
    if recording.gyro_dps is not None:
        arrays.append(recording.gyro_dps)
    for array in arrays:
        values = np.ascontiguousarray(np.asarray(array, dtype="<f8"))
        digest.update(str(values.shape).encode("ascii"))
        digest.update(values.tobytes())
    return digest.hexdigest()


