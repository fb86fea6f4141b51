"""`.swtrace` traces as analysis input (decoded through firmware_bridge): whole
(``read_trace_recording``) or as a stream of sample chunks (``trace_chunks``, used by
``stridewatch.store.filing.analyze_streamed_trace``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from firmware_bridge.trace import TraceFormatError, decode_trace, read_trace
from stridewatch.inputs.recording import InputFileError, Recording
from stridewatch.terminal import terminal_text

if TYPE_CHECKING:
    from analysis.streaming import SampleChunk
    from firmware_bridge.trace.decode import DecodedTrace, TraceMetadata
    from firmware_bridge.trace.stream_decode import StreamedTrace


def _trace_recording(path: Path, decoded: DecodedTrace | TraceMetadata, n_samples: int,
                     units: str | None) -> Recording:
    """The recording of a decoded trace (no samples yet), its problems warned on stderr."""
    for problem in decoded.problems:
        print(f"warning: {terminal_text(problem)}", file=sys.stderr)
    if n_samples == 0:
        raise InputFileError(f"{path}: the trace holds no acceleration samples")
    if units not in (None, "g"):
        raise InputFileError(f"{path}: traces are decoded to g; --units {units} does not apply")
    return Recording(
        source=str(path),
        t_s=np.zeros(0),
        acc=np.zeros((0, 3)),
        gyro_dps=None,
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


def read_trace_recording(path: Path, units: str | None = None) -> Recording:
    """Decode a trace into samples (t from the device clock where the profile has one, in g).

    Non-fatal problems (a truncated last line after a crash, malformed packets)
    are reported on stderr; the samples around them are kept.
    """
    try:
        decoded = decode_trace(read_trace(path))
    except (TraceFormatError, OSError, ValueError) as exc:
        raise InputFileError(f"{path}: {exc}") from exc
    recording = _trace_recording(path, decoded, len(decoded.t_s), units)
    recording.t_s, recording.acc, recording.gyro_dps = decoded.t_s, decoded.acc_g, decoded.gyro_dps
    return recording


def trace_description(path: Path) -> Recording:
    """The recording of a trace without its samples, as ``read_trace_recording`` describes
    it (device, clock, gaps, problems), decoded as a stream so memory does not depend on
    the trace's length (decoded whole where the stream cannot be: ``NotStreamed``)."""
    from firmware_bridge.trace.stream_decode import NotStreamed, stream_trace

    try:
        streamed = stream_trace(path)
        for _ in streamed.samples():
            pass
    except NotStreamed:
        recording = read_trace_recording(path)
        recording.t_s, recording.acc, recording.gyro_dps = np.zeros(0), np.zeros((0, 3)), None
        return recording
    except (TraceFormatError, OSError, ValueError) as exc:
        raise InputFileError(f"{path}: {exc}") from exc
    assert streamed.metadata is not None  # every piece was read
    return trace_recording(path, streamed.metadata)


def trace_recording(path: Path, meta: TraceMetadata) -> Recording:
    """The recording (holding no samples) of a trace decoded as a stream
    (``firmware_bridge.trace.stream_decode``), its problems warned on stderr."""
    return _trace_recording(path, meta, meta.n_samples, None)


class TraceReadError(Exception):
    """Reading or decoding a streamed trace failed (``error``: what ``read_trace`` or
    ``decode_trace`` would have raised), told apart from the analysis' own errors."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def trace_chunks(streamed: StreamedTrace) -> Iterator[SampleChunk]:
    """The samples of a streamed trace as the analysis' chunks (in g); a reading or
    decoding error is raised as ``TraceReadError`` (``NotStreamed`` as it is)."""
    from analysis.streaming import SampleChunk

    pieces = streamed.samples()
    while True:
        try:
            piece = next(pieces)
        except StopIteration:
            return
        except (TraceFormatError, OSError, ValueError) as exc:
            raise TraceReadError(exc) from exc
        yield SampleChunk(piece.t_s, piece.acc_g, piece.gyro_dps, piece.first_sample)


class AccelerationCensus:
    """Chunks passed on, noting the samples whose |acceleration| is not surely within
    0.5-2 g (their index and magnitude: few in a recording of a worn sensor), so that
    ``median_surely_about_1g`` can tell, without the samples, whether the median
    ``analysis.pipeline.analyze`` checks on the whole recording (with ``--units`` given,
    and a trace's are g) is within 0.5-2 g."""

    #: Surely within 0.5-2 g: inside by a margin far above rounding.
    LOW_G, HIGH_G = 0.5 * (1 + 1e-9), 2.0 * (1 - 1e-9)

    def __init__(self, chunks: Iterator[SampleChunk]) -> None:
        from array import array

        self._chunks = chunks
        self._index = array("q")
        self._magnitude = array("d")

    def __iter__(self) -> AccelerationCensus:
        return self

    def __next__(self) -> SampleChunk:
        chunk = next(self._chunks)
        acc = chunk.acc
        magnitude = np.sqrt(np.einsum("ij,ij->i", acc, acc))
        odd = np.flatnonzero(~((magnitude >= self.LOW_G) & (magnitude <= self.HIGH_G)))
        if len(odd):
            self._index.extend((odd + chunk.first_row).tolist())
            self._magnitude.extend(magnitude[odd].tolist())
        return chunk

    def median_surely_about_1g(self, n_samples: int) -> bool:
        """True when the median |acceleration| over ``acc[::max(1, n // 100_000)]`` (the
        rows ``analysis.units.median_magnitude`` takes) is surely within 0.5-2 g: both
        middle rows are rows noted as surely within."""
        step = max(1, n_samples // 100_000)
        m = (n_samples - 1) // step + 1
        index = np.frombuffer(self._index, dtype=np.int64)
        magnitude = np.frombuffer(self._magnitude, dtype=np.float64)[index % step == 0]
        low = int(np.count_nonzero(magnitude < self.LOW_G))
        high = int(np.count_nonzero(magnitude > self.HIGH_G))
        if low + high != len(magnitude):  # not a number
            return False
        return low <= (m - 1) // 2 and m // 2 < m - high
