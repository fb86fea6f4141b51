"""What makes two saved sessions the same walk, and when that walk was recorded.

Identity: a recording is its content plus the device that made it. For a ``.swtrace`` trace
the content is the bytes the sensor sent (every notification's characteristic and payload,
in order; the host times and the header are left out, so a later decoder or a re-written
header does not make it a new recording); for any other input it is the decoded samples
(time and acceleration, plus angular rate where present, as little-endian float64). The
device is the trace header's address (else its name); "" when unknown. Both digests are
computed without holding the recording: a trace's as its lines are read, the samples' of a
file analysed as a stream chunk by chunk (``SamplesDigest``).

The recording's start comes from the one recording clock, ``stridewatch.store.clock``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stridewatch.inputs import TRACE_SUFFIX, Recording
from stridewatch.store.clock import RecordingClock, given_clock, recording_clock

if TYPE_CHECKING:
    from analysis.streaming import SampleChunk

#: Bytes of each of a streamed recording's time, acceleration and angular rate kept in
#: memory before they go to a temporary file (until the digest is taken)
SPOOL_BYTES = 4 << 20


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
    digest, host_start = content_digest(recording, path)
    clock = given_clock(given) if given is not None else recording_clock(
        meta, path, host_start, duration_s)
    return RecordingIdentity(digest, device, clock)


def content_digest(recording: Recording, path: Path) -> tuple[str, float | None]:
    """The recording's content digest (a trace's lines, else its samples: the digest its
    chunks left when it was analysed as a stream), and the host's Unix time of a trace's
    first notification (None for other files)."""
    if path.suffix == TRACE_SUFFIX:
        return trace_content(path)
    return recording.samples_sha256 or samples_sha256(recording), None


def trace_content(path: Path) -> tuple[str, float | None]:
    """SHA-256 of a trace's notifications and the host's Unix time of the first of them."""
    from firmware_bridge.trace import NotifyEvent, TraceStream

    trace = TraceStream(path)  # line by line: memory independent of the trace's length
    digest = hashlib.sha256()
    first_t: float | None = None
    for event in trace:
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
    arrays = [_little_endian(a) for a in (recording.t_s, recording.acc, recording.gyro_dps)
              if a is not None]
    return _samples_digest(len(arrays[0]), [a.shape[1:] for a in arrays],
                           [[_bytes(a)] for a in arrays])


def _little_endian(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype="<f8"))


def _bytes(values: np.ndarray) -> np.ndarray:
    """A contiguous array's bytes, without a copy."""
    return values.reshape(-1).view(np.uint8)


def _samples_digest(rows: int, widths: list[tuple[int, ...]],
                    blocks: list[Iterable[bytes | np.ndarray]]) -> str:
    """The samples' identity: for each array (t, acc[, gyro]) its shape as numpy prints it,
    then its values' bytes (``blocks``, in order)."""
    digest = hashlib.sha256()
    for width, parts in zip(widths, blocks, strict=True):
        digest.update(str((rows, *width)).encode("ascii"))
        for part in parts:
            digest.update(part)
    return digest.hexdigest()


class SamplesDigest:
    """``samples_sha256`` of samples that arrive in chunks (a file analysed as a stream).

    The digest takes every time stamp before any acceleration, and each array's shape
    first, so the chunks are kept until the end: in memory up to ``SPOOL_BYTES`` per
    array, then in a temporary file (removed when the digest is taken or dropped)."""

    def __init__(self) -> None:
        self._rows = 0
        self._widths: list[tuple[int, ...]] | None = None
        self._spools = [tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) for _ in range(3)]

    def add(self, t_s: np.ndarray, acc: np.ndarray, gyro_dps: np.ndarray | None) -> None:
        arrays = [_little_endian(a) for a in (t_s, acc, gyro_dps) if a is not None]
        widths = [a.shape[1:] for a in arrays]
        if self._widths is None:
            self._widths = widths
        elif widths != self._widths:
            raise ValueError("chunks differ in their columns (angular rate in some only)")
        for spool, values in zip(self._spools, arrays, strict=False):
            spool.write(_bytes(values))
        self._rows += len(arrays[0])

    def tap(self, chunks: Iterable[SampleChunk]) -> Iterator[SampleChunk]:
        """The chunks, unchanged, each added on its way through (``NotStreamable`` if their
        columns differ: the recording is read whole then)."""
        from analysis.streaming import NotStreamable

        for chunk in chunks:
            try:
                self.add(chunk.t_s, chunk.acc, chunk.gyro_dps)
            except ValueError as exc:
                raise NotStreamable(str(exc)) from exc
            yield chunk

    def hexdigest(self) -> str:
        """The digest of every sample added (then the kept samples are dropped)."""
        widths = self._widths if self._widths is not None else [(), (3,)]
        spools = self._spools[: len(widths)]
        for spool in spools:
            spool.seek(0)
        digest = _samples_digest(self._rows, widths,
                                 [iter(lambda s=spool: s.read(1 << 20), b"") for spool in spools])
        self.close()
        return digest

    def close(self) -> None:
        for spool in self._spools:
            spool.close()
