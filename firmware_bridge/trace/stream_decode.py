"""A trace decoded as a stream: ``decode_trace``'s samples, a piece at a time.

``stream_trace(path)`` opens a trace; ``StreamedTrace.samples()`` yields its samples as
``TraceSamples`` of a few 10 000 (bit for bit ``decode_trace``'s ``t_s``, ``acc_g`` and
``gyro_dps``, cut into pieces) and, once they are all read, ``StreamedTrace.metadata`` is
what ``decode_trace`` says besides them (gaps, marks, problems, rates, start time...).
The events go through the same loop and decoder as ``decode_trace`` (``EventDecoder``);
of each notification only what the whole-trace steps need is kept (``ChunkTable``:
arrival time, segment, line, sample count, first and last device time), and those
steps are taken on that table by the functions ``decode_trace`` uses.

* A device-clock profile (Polar, ...) is decoded once: samples are timed as they come
  on the device clock, from the first sample (what ``decode_trace`` does when the
  clock needs no repair); at the end the whole-trace steps are taken on the table,
  and ``samples()`` raises ``NotStreamed`` when they would have timed the samples
  otherwise (the pieces already yielded are then not ``decode_trace``'s: decode whole).
* A profile without a device clock (micro:bit, MetaWear) is read for its timeline
  first (the arrival-time repairs and the rate need every arrival; the timeline is one
  time per sample, and these notifications carry one to a few samples), keeping its
  samples up to ``KEEP_BYTES``; a longer one is decoded again (a decoder given the
  same events gives the same blocks) and timed on it. It raises ``NotStreamed`` before
  the first piece.

Memory: a few numbers per notification and a fixed 4 MB histogram, never the samples
of a device-clock trace; a clockless trace holds its timeline and the table (one
notification per sample for a micro:bit: ~50 MB an hour at 50 Hz) and at most
``KEEP_BYTES`` of samples.

Decoded whole instead (``NotStreamed``, with the reason; the caller then runs
``decode_trace(read_trace(path))``): where a whole-trace step changes what the stream
saw, or cannot be decided from the table:

* notifications written out of arrival order (``in_arrival_order`` would move them, so
  they are decoded in another order than the file's);
* stamped frames out of device-clock order among their neighbours (``decode_trace``
  puts them back: a permutation of the samples);
* a device clock that jumped (its later samples are re-anchored on host time);
* a device clock whose rate may disagree with the configured one (the median step is
  bounded exactly by a histogram of every step; when its bins cannot show that the
  rate agrees, the whole decode decides, and may lay frames out again);
* angular rate in later notifications but not the first (it is filled with NaN there);
* a header whose profile or config the decoder refuses (the whole decode reports it
  after any bad line, as it always did).

``DecodedTrace.sample_rate_hz`` (one over the median of every step of ``t_s``) is not
given: it needs every step, and no reader of a streamed trace uses it.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_bridge.profiles import DecodedBlock
from firmware_bridge.sample_times import rates_agree
from firmware_bridge.trace.arrival_order import arrival_permutation
from firmware_bridge.trace.decode import (
    ArrivedBlock,
    ChunkTable,
    EventDecoder,
    Timing,
    TraceMetadata,
    device_order,
    open_decoder,
    trace_metadata,
    whole_trace_timing,
)
from firmware_bridge.trace.events import (
    ConnectEvent,
    DisconnectEvent,
    NotifyEvent,
    TraceFormatError,
)
from firmware_bridge.trace.problems import summarize_problems
from firmware_bridge.trace.reader import TraceStream

#: Samples per piece yielded by ``StreamedTrace.samples`` (at least; whole notifications).
PIECE_SAMPLES = 32_768


class NotStreamed(Exception):
    """A trace that ``stream_trace`` does not decode as a stream (the reason is the
    message); ``decode_trace(read_trace(path))`` decodes it."""


@dataclass(frozen=True, eq=False)
class TraceSamples:
    """Consecutive decoded samples: t (n,) s, acceleration (n,3) g, angular rate (n,3)
    deg/s or None; ``first_sample`` is the index of the first in the whole trace."""

    t_s: np.ndarray
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None
    first_sample: int

    def __len__(self) -> int:
        return len(self.t_s)


class _StepHistogram:
    """Counts of the positive steps between consecutive device times (all samples, in
    order, across notifications too), by the top 20 bits of their float64 pattern (sign,
    exponent, 8 bits of mantissa: bins 0.4 % wide; positive floats order as their bit
    patterns do). Enough to bound the median step exactly, in a fixed 4 MB."""

    SHIFT = 44

    def __init__(self) -> None:
        self.counts = np.zeros(1 << 19, dtype=np.int64)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._last: np.ndarray | None = None  # the last time counted, to step from

    def add(self, times: np.ndarray) -> None:
        """The next samples' times."""
        self._pending.append(times)
        self._n_pending += len(times)
        if self._n_pending >= 1 << 18:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._last is not None:
            self._pending.insert(0, self._last)
        times = np.concatenate(self._pending)
        self._pending, self._n_pending = [], 0
        self._last = times[-1:]
        steps = np.diff(times)
        positive = steps[steps > 0]
        self.counts += np.bincount(positive.view(np.int64) >> self.SHIFT,
                                   minlength=len(self.counts))

    def median_bounds(self) -> tuple[float, float] | None:
        """(low, high) with low <= median of the positive steps <= high (``np.median``:
        the middle one, or the mean of the middle two); None without positive steps."""
        self._flush()
        cumulative = np.cumsum(self.counts)
        n = int(cumulative[-1])
        if n == 0:
            return None
        low_bin = int(np.searchsorted(cumulative, (n - 1) // 2, side="right"))
        high_bin = int(np.searchsorted(cumulative, n // 2, side="right"))
        low = float(np.int64(low_bin << self.SHIFT).view(np.float64))
        high = float(np.int64((high_bin + 1) << self.SHIFT).view(np.float64))
        return low, high


def _rate_surely_agrees(histogram: _StepHistogram, nominal: float) -> bool:
    """True when ``decode_trace``'s ``_device_rate`` surely keeps the times and the rate:
    no positive step, or a median step whose every possible value gives a rate that
    agrees with ``nominal`` (the rate is monotonic in the step)."""
    bounds = histogram.median_bounds()
    if bounds is None:
        return True
    low, high = bounds
    if not (low > 0 and math.isfinite(high)):
        return False
    return rates_agree(1.0 / high, nominal) and rates_agree(1.0 / low, nominal)


class _Notes:
    """The per-notification table kept while the events are decoded (``ChunkTable``)."""

    def __init__(self, device: bool) -> None:
        self.host, self.segment, self.line, self.count = (array("d"), array("q"), array("q"),
                                                          array("q"))
        self.first, self.last = array("d"), array("d")
        self.steps = _StepHistogram() if device else None
        self.gyro: list[bool] = []  # whether the first chunk, and any other, had gyro
        self.mixed_gyro = False

    def add(self, chunk: ArrivedBlock, n: int) -> None:
        """A chunk of ``n`` samples (its device times are noted by ``add_times``)."""
        self.host.append(chunk.host_t_s)
        self.segment.append(chunk.segment)
        self.line.append(chunk.line)
        self.count.append(n)
        has = chunk.block.gyro_dps is not None
        if not self.gyro:
            self.gyro.append(has)
        elif has != self.gyro[0]:
            self.mixed_gyro = True

    def add_times(self, times: np.ndarray, counts: list[int]) -> None:
        """The device times of the next chunks (``counts`` samples each), concatenated."""
        assert self.steps is not None
        ends = np.cumsum(counts)
        self.first.extend(times[ends - counts].tolist())
        self.last.extend(times[ends - 1].tolist())
        self.steps.add(times)

    @property
    def has_gyro(self) -> bool:
        return bool(self.gyro) and (self.gyro[0] or self.mixed_gyro)

    def table(self) -> ChunkTable:
        device = self.steps is not None
        return ChunkTable(
            np.frombuffer(self.host, dtype=np.float64),
            np.frombuffer(self.segment, dtype=np.int64),
            np.frombuffer(self.line, dtype=np.int64),
            np.frombuffer(self.count, dtype=np.int64),
            np.frombuffer(self.first, dtype=np.float64) if device else None,
            np.frombuffer(self.last, dtype=np.float64) if device else None,
        )


#: A clockless trace's samples are kept from its first reading up to this size (acc and
#: angular rate, float64), so it is decoded once; a longer one is decoded again.
KEEP_BYTES = 64 * 1024 * 1024
#: Notifications whose samples are joined into one array while kept.
_KEEP_GROUP = 4096


class _KeptSamples:
    """A clockless trace's decoded samples, kept from the first reading while within
    ``KEEP_BYTES`` (in arrays of ``_KEEP_GROUP`` notifications); ``complete`` when all are."""

    def __init__(self) -> None:
        self.complete = True
        self._groups: list[tuple[int, np.ndarray, np.ndarray | None]] = []
        self._acc: list[np.ndarray] = []
        self._gyro: list[np.ndarray | None] = []
        self._counts: list[int] = []
        self._bytes = 0

    def add(self, block: DecodedBlock, n: int) -> None:
        if not self.complete:
            return
        self._acc.append(block.acc_g)
        self._gyro.append(block.gyro_dps)
        self._counts.append(n)
        self._bytes += 48 * n
        if self._bytes > KEEP_BYTES:
            self.complete = False
            self._groups, self._acc, self._gyro, self._counts = [], [], [], []
        elif len(self._acc) >= _KEEP_GROUP:
            self._join()

    def close(self) -> None:
        if self._acc:
            self._join()

    def _join(self) -> None:
        gyro: np.ndarray | None = None
        if any(g is not None for g in self._gyro):
            gyro = np.concatenate([np.full((n, 3), np.nan) if g is None else g
                                   for g, n in zip(self._gyro, self._counts, strict=True)])
        self._groups.append((sum(self._counts), np.concatenate(self._acc), gyro))
        self._acc, self._gyro, self._counts = [], [], []

    def pieces(self, t_s: np.ndarray, has_gyro: bool,
               piece_samples: int) -> Iterator[TraceSamples]:
        """The kept samples timed on ``t_s``, in pieces (as ``StreamedTrace.samples``)."""
        first = held = 0
        acc: list[np.ndarray] = []
        gyro: list[np.ndarray] = []
        groups, self._groups = self._groups, []
        for n, group_acc, group_gyro in groups:
            acc.append(group_acc)
            if has_gyro:
                gyro.append(np.full((n, 3), np.nan) if group_gyro is None else group_gyro)
            held += n
            if held >= piece_samples:
                yield TraceSamples(t_s[first:first + held], np.concatenate(acc),
                                   np.concatenate(gyro) if has_gyro else None, first)
                first += held
                held, acc, gyro = 0, [], []
        if held:
            yield TraceSamples(t_s[first:first + held], np.concatenate(acc),
                               np.concatenate(gyro) if has_gyro else None, first)


class StreamedTrace:
    """A trace decoded as a stream (see the module docstring): iterate ``samples()`` once;
    ``metadata`` (``decode_trace``'s) and ``span_s`` (``t_s`` of the last sample) are set
    when the samples are all read (before, for a profile without a device clock).

    A device-clock trace is decoded once: its samples are yielded as they are decoded,
    timed on the first sample's device time, and at the end ``samples()`` raises
    ``NotStreamed`` when the whole decode would have timed them otherwise (the samples
    already yielded are then not ``decode_trace``'s). A clockless trace is read for its
    timeline (from every arrival) before its first sample is given (again for its
    samples when they are over ``KEEP_BYTES``); it may raise ``NotStreamed`` before.
    ``rate_hint_hz()``: the configured rate as the decoder knows it so far (the
    metadata's, unless a later write changes it).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.metadata: TraceMetadata | None = None
        self.span_s = 0.0
        self._stream = TraceStream(self.path)
        self.header = self._stream.header
        self._problems: list[str] = []  # the decoder's; the reader's come first
        try:
            self._spec, self._config, self._decoder = open_decoder(
                self._stream.path.name, self._stream.header, self._problems)
        except TraceFormatError:
            self._stream.close()
            raise NotStreamed("the header's profile or config is refused") from None
        self.device_clock = self._spec.has_device_clock

    def rate_hint_hz(self) -> float | None:
        return self._decoder.sample_rate_hz or self._config.sample_rate_hz

    def samples(self, piece_samples: int = PIECE_SAMPLES) -> Iterator[TraceSamples]:
        """The samples in time order, in pieces of at least ``piece_samples`` (the last
        may be shorter)."""
        if self.device_clock:
            yield from self._decoded_once(piece_samples)
            return
        kept = _KeptSamples()
        host_t = self._timeline(kept)
        if kept.complete:
            yield from kept.pieces(host_t - self._origin, self.metadata.has_gyro,  # type: ignore[union-attr]
                                   piece_samples)
        else:
            yield from self._decoded_again(host_t, piece_samples)

    def _events(self) -> Iterator[ArrivedBlock]:
        """The chunks of the trace (read once); NotStreamed when a connection's
        notifications are out of arrival order (``in_arrival_order``)."""
        stream = self._stream
        loop = self._loop = EventDecoder(stream.path.name, self._spec, self._decoder,
                                         self._problems)
        connection_t = array("d")  # arrival times of this connection's notifications

        def check_arrival_order() -> None:
            if arrival_permutation(np.frombuffer(connection_t, dtype=np.float64)) is not None:
                stream.close()
                raise NotStreamed("notifications were written out of arrival order")
            del connection_t[:]

        for event in stream:
            if isinstance(event, ConnectEvent | DisconnectEvent):
                check_arrival_order()
            elif isinstance(event, NotifyEvent):
                connection_t.append(event.t_s)
            chunk = loop.feed(event)
            if chunk is not None:
                yield chunk
        check_arrival_order()
        loop.finish()

    def _decoded_once(self, piece_samples: int) -> Iterator[TraceSamples]:
        notes = _Notes(device=True)
        origin = 0.0
        times: list[np.ndarray] = []
        counts: list[int] = []
        acc: list[np.ndarray] = []
        gyros: list[np.ndarray | None] = []
        held = first = 0
        has_gyro = False

        def piece() -> TraceSamples:
            device_t = np.concatenate(times)
            notes.add_times(device_t, counts)
            absolute = device_t + 0.0  # (decode_trace adds each chunk's clock offset: 0 here)
            return TraceSamples(absolute - origin, np.concatenate(acc),
                                np.concatenate(gyros) if has_gyro else None,  # type: ignore[arg-type]
                                first)

        for chunk in self._events():
            block = chunk.block
            n = block.n_samples
            notes.add(chunk, n)
            if not counts and not first:  # the first chunk
                origin = float(block.t_device_s[0] + 0.0)  # type: ignore[index]
                has_gyro = block.gyro_dps is not None
            gyro = block.gyro_dps
            if has_gyro and gyro is None:  # as decode_trace fills it
                gyro = np.full((n, 3), np.nan)
            times.append(block.t_device_s)  # type: ignore[arg-type]
            counts.append(n)
            acc.append(block.acc_g)
            gyros.append(gyro)
            held += n
            if held >= piece_samples:
                yield piece()
                first += held
                times, counts, acc, gyros, held = [], [], [], [], 0
        if counts:
            yield piece()
        if notes.has_gyro != has_gyro:
            raise NotStreamed("a later notification carries angular rate, the first not")
        table, timing, nominal = self._whole_steps(notes)
        assert timing.offsets is not None and notes.steps is not None
        assert table.first_device_s is not None and table.last_device_s is not None
        if np.any(timing.offsets != 0):
            raise NotStreamed("the device clock jumped")
        n_total = int(table.n_samples.sum())
        if nominal and n_total >= 2 and not _rate_surely_agrees(notes.steps, nominal):
            raise NotStreamed("the device clock's rate may disagree with the configured one")
        first_abs = table.first_device_s + timing.offsets
        last_abs = table.last_device_s + timing.offsets
        self._conclude(notes, table, timing, nominal, [], first_abs, last_abs)

    def _timeline(self, kept: _KeptSamples) -> np.ndarray:
        """Pass 1 of a clockless trace: the metadata, and every sample's host time (and the
        samples in ``kept`` while they fit)."""
        notes = _Notes(device=False)
        for chunk in self._events():
            n = chunk.block.n_samples
            notes.add(chunk, n)
            kept.add(chunk.block, n)
        kept.close()
        table, timing, _nominal = self._whole_steps(notes)
        assert timing.timeline is not None
        host_t = timing.timeline.t_s
        ends = np.cumsum(table.n_samples)
        self._conclude(notes, table, timing, timing.rate_hz, timing.timeline.run_starts,
                       host_t[ends - table.n_samples], host_t[ends - 1])
        self._table = table
        return host_t

    def _whole_steps(self, notes: _Notes) -> tuple[ChunkTable, Timing, float | None]:
        """``decode_trace``'s steps after its event loop, on the table (NotStreamed for
        frames it would put back in device-clock order)."""
        table = notes.table()
        nominal = self.rate_hint_hz()
        if table.first_device_s is not None and len(table.n_samples):
            _order, reordered = device_order(table)
            if reordered:
                raise NotStreamed("frames were out of device-clock order")
        timing = whole_trace_timing(table, nominal, self._stream.path.name, self._problems,
                         self._loop.gap_at)
        return table, timing, nominal

    def _conclude(self, notes: _Notes, table: ChunkTable, timing: Timing,
                  nominal: float | None, pause_starts: list[int], first_abs: np.ndarray,
                  last_abs: np.ndarray) -> None:
        n_total = int(table.n_samples.sum())
        origin = float(first_abs[0]) if n_total else 0.0
        self._origin = origin
        stream = self._stream
        problems = summarize_problems(stream.problems) + self._problems
        self.metadata = trace_metadata(
            stream.header, stream.path.name, problems, self._loop,
            "device" if self.device_clock else "host", nominal, timing.host_t_s,
            table.n_samples, pause_starts, origin, first_abs - origin, last_abs - origin,
            notes.has_gyro)
        self.span_s = float(last_abs[-1] - origin) if n_total else 0.0

    def _decoded_again(self, host_t: np.ndarray, piece_samples: int) -> Iterator[TraceSamples]:
        """Pass 2 of a clockless trace: decoded again, timed on ``host_t``."""
        stream = TraceStream(self.path)
        name = stream.path.name
        spec, _config, decoder = open_decoder(name, stream.header, [])
        loop = EventDecoder(name, spec, decoder, [])
        table, origin = self._table, self._origin
        assert self.metadata is not None
        has_gyro = self.metadata.has_gyro
        m = len(table.n_samples)
        starts = np.concatenate([[0], np.cumsum(table.n_samples)]).astype(np.int64)
        i = 0
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        held = first = 0
        for event in stream:
            chunk = loop.feed(event)
            if chunk is None:
                continue
            block = chunk.block
            n = block.n_samples
            if i >= m or chunk.line != table.line[i] or n != table.n_samples[i]:
                stream.close()
                raise TraceFormatError(name, chunk.line, "the file changed while it was read")
            gyro = block.gyro_dps
            if has_gyro and gyro is None:
                gyro = np.full((n, 3), np.nan)
            parts.append((host_t[starts[i] : starts[i + 1]] - origin, block.acc_g, gyro))
            held += n
            i += 1
            if held >= piece_samples:
                yield _piece(parts, first, has_gyro)
                first += held
                parts, held = [], 0
        if i != m:
            raise TraceFormatError(name, None, "the file changed while it was read")
        if parts:
            yield _piece(parts, first, has_gyro)


def _piece(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]], first: int,
           has_gyro: bool) -> TraceSamples:
    return TraceSamples(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]) if has_gyro else None,  # type: ignore[misc]
        first,
    )


def stream_trace(path: str | os.PathLike[str]) -> StreamedTrace:
    """A ``.swtrace`` file to decode as a stream (``StreamedTrace``). Raises
    TraceFormatError for a bad header, as ``read_trace`` does (a bad line later is raised
    by ``samples()``), and ``NotStreamed`` for a trace to decode whole (module docstring)."""
    return StreamedTrace(path)
