"""From a trace to samples: ``decode_trace`` runs the profile decoders over the recorded
notifications and returns times (s) and acceleration (g) with the gaps between them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields

import numpy as np

from firmware_bridge.profiles import (
    TRACE_PROFILES,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
)
from firmware_bridge.sample_times import (
    HostTimeline,
    host_time_evidence,
    rates_agree,
    times_from_arrivals,
)
from firmware_bridge.trace.arrival_order import in_arrival_order
from firmware_bridge.trace.events import (
    ConnectEvent,
    DisconnectEvent,
    MarkEvent,
    NotifyEvent,
    Trace,
    TraceEvent,
    TraceFormatError,
    TraceHeader,
    WriteEvent,
    plausible_unix_s,
)
from firmware_bridge.trace.problems import summarize_problems


@dataclass(frozen=True)
class Gap:
    """An interruption in the sample stream.

    kind: "disconnect" (link lost until reconnect), "lost_frames" (the protocol shows
        missing frames), "clock_jump" (device clock went back; re-anchored on host time) or
        "pause" (a device without clock stopped notifying for a while).
    after_sample: index in ``t_s`` of the first sample after the gap (len(t_s) if none).
    start_s / end_s: ``t_s`` of the last sample before / first sample after (nan if none).
    """

    kind: str
    after_sample: int
    start_s: float
    end_s: float
    lost_frames: int = 0
    detail: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Mark:
    """A user mark placed on the ``t_s`` time base (approximate for device clocks)."""

    t_s: float
    label: str


@dataclass(eq=False)
class ArrivedBlock:
    """A notification's decoded samples, with when it arrived (host s), the connection
    (segment) and the trace line it came on."""

    host_t_s: float
    segment: int
    line: int
    block: DecodedBlock


@dataclass
class _PendingGap:
    kind: str
    lost_frames: int
    detail: str


#: Frames compared for repeats: a stamped frame seen again among the last this many
#: notifications is a repeat (a device or a relay sending it twice), not new samples.
RECENT_FRAMES = 64

#: A device-clock step this much larger than the host-clock step is a clock jump, not loss.
CLOCK_JUMP_TOLERANCE_S = 5.0

#: Frames a notification may have moved and still be put back by its device time: a
#: line moved this far is out of order; a larger move is a clock reset, re-anchored.
LOCAL_REORDER_FRAMES = 64


def open_decoder(
    name: str, header: TraceHeader, problems: list[str]
) -> tuple[ProfileSpec, StreamConfig, Decoder]:
    """The profile, configuration and a new decoder for a trace's header (raises
    TraceFormatError for an unknown profile or a header config the decoder refuses)."""
    spec = TRACE_PROFILES.get(header.profile)
    if spec is None:
        known = ", ".join(sorted(TRACE_PROFILES))
        raise TraceFormatError(name, 1, f"unknown profile {header.profile!r} (known: {known})")
    try:
        config = StreamConfig.from_dict(header.config)
    except ValueError as error:
        problems.append(f"{name} line 1: {error}; using the profile defaults")
        config = StreamConfig()
    decoder = spec.new_decoder(config)
    # decoders that need more of the header (e.g. which log entries a download holds)
    configure = getattr(decoder, "configure_from_header", None)
    if configure is not None:
        try:
            configure(header.config)
        except (KeyError, TypeError, ValueError) as error:
            raise TraceFormatError(name, 1, f"header config: {error!r}") from None
    return spec, config, decoder


class EventDecoder:
    """The events of a trace, in order, through its profile decoder: ``feed`` returns the
    samples a notification carries (a ``ArrivedBlock``) or None, and notes gaps (``gap_at``, by
    chunk index), marks, RSC values and problems. One loop for the whole decode
    (``decode_trace``) and the streamed one (``firmware_bridge.trace.stream_decode``):
    the same events give the same chunks."""

    def __init__(self, name: str, spec: ProfileSpec, decoder: Decoder,
                 problems: list[str]) -> None:
        self.name, self.spec, self.decoder, self.problems = name, spec, decoder, problems
        self.gap_at: dict[int, list[_PendingGap]] = {}
        self.rsc_rows: list[tuple[float, float, float]] = []
        self.marks_host: list[tuple[float, str]] = []
        self.segment = 0
        self.packet_index = 0
        self.bad = 0
        self.n_chunks = 0
        self.repeats = 0
        self._disconnect: DisconnectEvent | None = None
        self._recent: deque[bytes] = deque(maxlen=RECENT_FRAMES)

    def feed(self, event: TraceEvent) -> ArrivedBlock | None:
        """Decode one event; the chunk of samples it adds, or None."""
        name, spec, decoder = self.name, self.spec, self.decoder
        if isinstance(event, NotifyEvent):
            index = self.packet_index
            self.packet_index += 1
            if spec.has_device_clock and event.char_uuid == spec.data_char_uuid:
                if event.payload in self._recent:  # the same stamped frame again: not new data
                    self.repeats += 1
                    return None
                self._recent.append(event.payload)
            try:
                block = decoder.feed(event.char_uuid, event.payload, index)
            except DecodeError as error:
                self.problems.append(f"{name} line {event.line}: {error}")
                self.bad += 1
                block = None
            for warning in decoder.warnings:
                self.problems.append(f"{name} line {event.line}: {warning}")
            decoder.warnings.clear()
            if block is None:
                return None
            if block.cadence_spm is not None or block.speed_mps is not None:
                self.rsc_rows.append(
                    (
                        event.t_s,
                        np.nan if block.cadence_spm is None else block.cadence_spm,
                        np.nan if block.speed_mps is None else block.speed_mps,
                    )
                )
            if block.n_samples == 0:
                return None
            if block.gap_before and block.lost_frames:
                self.gap_at.setdefault(self.n_chunks, []).append(
                    _PendingGap(
                        "lost_frames",
                        block.lost_frames,
                        f"{block.lost_frames} frame(s) lost (packet {index})",
                    )
                )
            self.n_chunks += 1
            return ArrivedBlock(event.t_s, self.segment, event.line, block)
        if isinstance(event, WriteEvent):
            decoder.note_write(event.char_uuid, event.payload)
        elif isinstance(event, DisconnectEvent):
            decoder.reset()
            self.segment += 1
            if self._disconnect is None:
                self._disconnect = event
        elif isinstance(event, ConnectEvent):
            decoder.reset()
            self.segment += 1
            if self._disconnect is not None:
                disconnect = self._disconnect
                reason = f" ({disconnect.reason})" if disconnect.reason else ""
                self.gap_at.setdefault(self.n_chunks, []).append(
                    _PendingGap(
                        "disconnect",
                        0,
                        f"disconnected{reason} at host {disconnect.t_s:.3f} s, "
                        f"reconnected at {event.t_s:.3f} s",
                    )
                )
                self._disconnect = None
        elif isinstance(event, MarkEvent):
            self.marks_host.append((event.t_s, event.label))
        return None

    def finish(self) -> None:
        """After the last event: the repeated frames, counted in one problem."""
        if self.repeats:
            self.problems.append(f"{self.name}: {self.repeats} notification(s) repeated a "
                                 "frame already received (same bytes, same device time); "
                                 "skipped")


@dataclass(frozen=True, eq=False)
class ChunkTable:
    """What the whole-trace steps need of each chunk (notification with samples), in order:
    arrival (host) time, connection segment, line, samples, and the device times of its
    first and last sample (None for a profile without a device clock)."""

    host_t_s: np.ndarray
    segment: np.ndarray
    line: np.ndarray
    n_samples: np.ndarray
    first_device_s: np.ndarray | None
    last_device_s: np.ndarray | None

    @classmethod
    def of(cls, chunks: list[ArrivedBlock], device_clock: bool) -> ChunkTable:
        def times(pick: int) -> np.ndarray:
            return np.array([float(c.block.t_device_s[pick]) for c in chunks],  # type: ignore[index]
                            dtype=np.float64)

        return cls(
            np.array([c.host_t_s for c in chunks], dtype=np.float64),
            np.array([c.segment for c in chunks], dtype=np.int64),
            np.array([c.line for c in chunks], dtype=np.int64),
            np.array([c.block.n_samples for c in chunks], dtype=np.int64),
            times(0) if device_clock else None,
            times(-1) if device_clock else None,
        )

    def take(self, order: np.ndarray) -> ChunkTable:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[order]

        return ChunkTable(self.host_t_s[order], self.segment[order], self.line[order],
                          self.n_samples[order], pick(self.first_device_s),
                          pick(self.last_device_s))


def device_order(table: ChunkTable) -> tuple[np.ndarray, int]:
    """Put stamped frames moved a few lines back in device-clock order, per connection.

    Used where arrival times cannot order them (equal or missing host times): a frame
    whose device stamps fall between its neighbours' is out of place, not a clock jump,
    and re-anchoring it would add time. A permutation is applied only when it is local
    (no frame moves more than ``LOCAL_REORDER_FRAMES``) and leaves every block after
    the previous one; otherwise the clock really jumped. Returns (new order of the
    chunks, frames moved).
    """
    first, last = table.first_device_s, table.last_device_s
    assert first is not None and last is not None
    m = len(first)
    order_all = np.arange(m)
    moved = 0
    bounds = [0, *(np.flatnonzero(np.diff(table.segment)) + 1).tolist(), m]
    for start, end in zip(bounds, bounds[1:], strict=False):
        firsts = first[start:end]
        order = np.argsort(firsts, kind="stable")
        place = np.arange(end - start)
        if np.any(order != place) and np.max(np.abs(order - place)) <= LOCAL_REORDER_FRAMES:
            lasts = last[start:end][order]
            if bool(np.all(lasts[:-1] < firsts[order][1:])):
                order_all[start:end] = start + order
                moved += int(np.count_nonzero(order != place))
    return order_all, moved


def _remap_gaps(gap_at: dict[int, list[_PendingGap]], order: np.ndarray) -> None:
    """Gaps noted at chunk indices moved to where ``order`` put those chunks."""
    remap = {int(old): new for new, old in enumerate(order) if int(old) != new}
    moved_gaps = {remap.get(k, k): gaps for k, gaps in gap_at.items()}
    gap_at.clear()
    gap_at.update(moved_gaps)


def _clock_offsets(
    table: ChunkTable, host_t_s: np.ndarray, name: str, problems: list[str],
    gap_at: dict[int, list[_PendingGap]],
) -> np.ndarray:
    """The offset (s) added to each chunk's device times so they increase, clock jumps
    re-anchored (the device times are ``block.t_device_s + offset``).

    Device time must increase. When a block starts at or before the previous sample, or
    jumps forward much further than host time did (device clock reset or set while
    streaming), that block and all later ones are shifted so the block starts where host
    time says it should. This is reported and listed as a "clock_jump" gap; no samples
    are dropped. Needs only each block's first and last device time and its sample count.
    """
    first, last = table.first_device_s, table.last_device_s
    assert first is not None and last is not None
    offsets = np.zeros(len(first))
    offset = 0.0
    last_t = -math.inf
    last_host = -math.inf
    previous_period = 0.0
    for i in range(len(first)):
        t0, t1, n = float(first[i]), float(last[i]), int(table.n_samples[i])
        host = float(host_t_s[i])
        start = t0 + offset
        host_step = host - last_host
        backwards = start <= last_t
        leaps = start - last_t > max(host_step, 0.0) + CLOCK_JUMP_TOLERANCE_S
        if i and (backwards or leaps):
            # The block ends when it arrived: host time since the previous block, less
            # the block's own span (so a repeating clock adds no time), and at least
            # one sample period after the previous sample.
            span = t1 - t0
            period = span / (n - 1) if n > 1 else 0.0
            if not period > 0:
                period = previous_period
            target = last_t + max(host_step - span, period, 1e-6)
            offset += target - start
            problems.append(
                f"{name} line {int(table.line[i])}: device clock jumped by "
                f"{start - last_t:+.3f} s while host time moved {host_step:.3f} s; "
                "re-anchored on host time"
            )
            gap_at.setdefault(i, []).append(
                _PendingGap("clock_jump", 0, f"device clock jumped {start - last_t:+.3f} s")
            )
        if n > 1 and t1 > t0:
            previous_period = (t1 - t0) / (n - 1)
        offsets[i] = offset
        last_t = t1 + offset
        last_host = host
    return offsets


def _device_rate_problem(name: str, nominal: float, measured: float, n: int,
                         span_s: float) -> str:
    return (f"{name}: the header/configured rate is {nominal:g} Hz but the device clock shows "
            f"{measured:.4g} Hz ({n} samples in {span_s:.1f} s); using {measured:.4g} Hz")


def _device_rate(
    absolute: np.ndarray, counts: np.ndarray, nominal: float | None, name: str,
    problems: list[str],
) -> tuple[np.ndarray, float | None]:
    """The sample rate the device clock shows, when it disagrees with the configured one.

    The rate shown is one over the median of the positive steps between samples; it
    agrees with the configured one when within ``RATE_AGREEMENT``
    (``firmware_bridge.sample_times.rates_agree``). Frames whose samples were laid out at
    the configured rate (the first of each link, lacking a previous stamp) are laid out
    again at the measured rate, ending where they end; warned once with the figures.
    """
    if not nominal or len(absolute) < 2:
        return absolute, nominal
    diffs = np.diff(absolute)
    positive = diffs[diffs > 0]
    if not positive.size:
        return absolute, nominal
    period = float(np.median(positive))
    measured = 1.0 / period
    if rates_agree(measured, nominal):
        return absolute, nominal
    problems.append(_device_rate_problem(name, nominal, measured, len(absolute),
                                         absolute[-1] - absolute[0]))
    fixed = absolute.copy()
    ends = np.cumsum(counts)
    for end, n in zip(ends, counts, strict=True):
        if n < 2:
            continue
        block = fixed[end - n : end]
        spacing = (block[-1] - block[0]) / (n - 1)
        if not rates_agree(spacing, period):
            fixed[end - n : end] = block[-1] - np.arange(n - 1, -1, -1) * period
    if np.any(np.diff(fixed) <= 0):  # re-laid frames must not overlap their neighbours
        return absolute, measured
    return fixed, measured


@dataclass(frozen=True, eq=False)
class Timing:
    """The whole-trace timing decisions: repaired arrival times, and the device-clock
    offsets per chunk or the host timeline (one time per sample)."""

    host_t_s: np.ndarray
    rate_hz: float | None
    offsets: np.ndarray | None
    timeline: HostTimeline | None


def whole_trace_timing(table: ChunkTable, nominal: float | None, name: str,
                       problems: list[str], gap_at: dict[int, list[_PendingGap]]) -> Timing:
    """Arrival times repaired (``host_time_evidence``), then the device clock's offsets
    or, for a clockless profile, the samples' times from the arrivals."""
    device = table.first_device_s is not None
    evidence = host_time_evidence(table.host_t_s, table.n_samples, nominal)
    for note in (evidence.repair_note, None if device else evidence.rate_note):
        if note:
            problems.append(f"{name}: {note}")
    if device:
        offsets = _clock_offsets(table, evidence.arrival_s, name, problems, gap_at)
        return Timing(evidence.arrival_s, evidence.rate_hz, offsets, None)
    timeline = times_from_arrivals(evidence.arrival_s, table.n_samples, table.segment,
                                   evidence.rate_hz)
    return Timing(evidence.arrival_s, evidence.rate_hz, None, timeline)


@dataclass(frozen=True, eq=False)
class TraceMetadata:
    """Everything ``DecodedTrace`` says besides the samples and the rate estimated from
    them (see ``DecodedTrace``); ``n_samples`` and ``has_gyro`` say what the samples are."""

    profile: str
    device_name: str | None
    device_address: str | None
    nominal_sample_rate_hz: float | None
    time_source: str
    start_unix_s: float | None
    gaps: list[Gap]
    marks: list[Mark]
    problems: list[str]
    n_notifications: int
    n_bad_notifications: int
    n_samples: int
    has_gyro: bool
    rsc_t_s: np.ndarray
    cadence_spm: np.ndarray
    speed_mps: np.ndarray


@dataclass(frozen=True, eq=False)
class DecodedTrace(TraceMetadata):
    """Samples decoded from a trace, with what the trace says besides them (the fields of
    ``TraceMetadata``: a trace decoded as a stream gives those alone).

    t_s: (N,) float64 seconds from the first sample; device clock where the profile has one
        (``time_source == "device"``), else host arrival times fitted per sample
        (``"host"``, see ``firmware_bridge.sample_times``).
    acc_g: (N, 3) float64 acceleration in g. gyro_dps: (N, 3) deg/s or None.
    sample_rate_hz: rate estimated from ``t_s`` (nan when fewer than 2 samples);
        nominal_sample_rate_hz: the configured rate, if known.
    start_unix_s: Unix time of t_s == 0 (device clock or header start + host offset).
    rsc_t_s / cadence_spm / speed_mps: RSC foot-pod values (host time, s from the first
        measurement); empty for other profiles.
    problems: non-fatal issues, each naming file and line (malformed packets are skipped).
    """

    t_s: np.ndarray
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None
    sample_rate_hz: float


def trace_metadata(
    header: TraceHeader, name: str, problems: list[str], events: EventDecoder,
    time_source: str, nominal: float | None, host_t_s: np.ndarray, n_samples: np.ndarray,
    pause_starts: list[int], origin: float, first_t: np.ndarray, last_t: np.ndarray,
    has_gyro: bool,
) -> TraceMetadata:
    """Gaps, marks, start time and the rest, from the chunks' final sample times
    (``first_t``/``last_t``: ``t_s`` of each chunk's first and last sample)."""
    first_sample = np.concatenate([[0], np.cumsum(n_samples)]).astype(np.int64)
    n_chunks = len(n_samples)
    n_total = int(first_sample[-1])
    gap_at = events.gap_at
    gaps: list[Gap] = []
    for chunk_index in sorted(set(gap_at) | set(pause_starts)):
        at = min(chunk_index, n_chunks)
        sample = int(first_sample[at])
        # every chunk holds samples: the one before the gap ends where chunk ``at`` - 1 does
        start = float(last_t[at - 1]) if 0 < sample <= n_total else math.nan
        end = float(first_t[at]) if sample < n_total else math.nan
        for pending in gap_at.get(chunk_index, []):
            gaps.append(Gap(pending.kind, sample, start, end, pending.lost_frames, pending.detail))
        if chunk_index in pause_starts:
            detail = f"no notifications for {end - start:.2f} s"
            gaps.append(Gap("pause", sample, start, end, 0, detail))

    start_unix: float | None = None
    if n_total:
        start_unix = origin if time_source == "device" else header.started_unix_s + origin
        if not plausible_unix_s(start_unix):
            if time_source == "device":  # the header's problem is already reported
                problems.append(f"{name}: the device clock reads {start_unix:.6g} s, not a "
                                "time from 1970 to 2200; when the recording started is unknown")
            start_unix = None

    marks: list[Mark] = []
    if events.marks_host:
        if n_chunks:
            for host_t, label in events.marks_host:
                # place the mark relative to the last notification at or before it
                j = max(int(np.searchsorted(host_t_s, host_t, side="right")) - 1, 0)
                marks.append(Mark(float(last_t[j] + (host_t - host_t_s[j])), label))
        else:
            marks = [Mark(host_t, label) for host_t, label in events.marks_host]

    if events.rsc_rows:
        rsc = np.array(events.rsc_rows, dtype=np.float64)
        rsc_t = rsc[:, 0] - rsc[0, 0]
        cadence, speed = rsc[:, 1], rsc[:, 2]
    else:
        rsc_t = cadence = speed = np.zeros(0)

    return TraceMetadata(
        profile=header.profile,
        device_name=header.device_name,
        device_address=header.device_address,
        nominal_sample_rate_hz=nominal,
        time_source=time_source,
        start_unix_s=start_unix,
        gaps=gaps,
        marks=marks,
        problems=summarize_problems(problems),
        n_notifications=events.packet_index,
        n_bad_notifications=events.bad,
        n_samples=n_total,
        has_gyro=has_gyro,
        rsc_t_s=rsc_t,
        cadence_spm=cadence,
        speed_mps=speed,
    )


def arrival_order_problem(name: str, moved: int) -> str:
    return (f"{name}: {moved} notification(s) were written out of arrival order "
            "(host times going back); decoded in the order they arrived")


def device_order_problem(name: str, moved: int) -> str:
    return (f"{name}: {moved} frame(s) were out of device-clock order "
            "among their neighbours; put back in order")


def decode_trace(trace: Trace) -> DecodedTrace:
    """Decode every notification of ``trace`` with its profile's decoder.

    Malformed packets are reported in ``problems`` and skipped; writes are shown to the
    decoder (so it learns the rate/range actually requested); disconnect→connect
    intervals, lost frames and pauses become ``gaps``. The same samples, a piece at a
    time, in memory independent of the trace's length: ``stream_decode.stream_trace``.
    """
    name = trace.name
    header = trace.header
    problems = list(trace.problems)
    spec, config, decoder = open_decoder(name, header, problems)
    events, moved = in_arrival_order(trace.events)
    if moved:
        problems.append(arrival_order_problem(name, moved))
    loop = EventDecoder(name, spec, decoder, problems)
    chunks = [chunk for chunk in map(loop.feed, events) if chunk is not None]
    loop.finish()
    nominal = decoder.sample_rate_hz or config.sample_rate_hz
    time_source = "device" if spec.has_device_clock else "host"
    table = ChunkTable.of(chunks, time_source == "device")
    if time_source == "device" and chunks:
        order, reordered = device_order(table)
        if reordered:
            chunks = [chunks[k] for k in order]
            table = table.take(order)
            _remap_gaps(loop.gap_at, order)
            problems.append(device_order_problem(name, reordered))
    timing = whole_trace_timing(table, nominal, name, problems, loop.gap_at)
    pause_starts: list[int] = []
    if timing.offsets is not None:
        absolute = (np.concatenate([c.block.t_device_s + float(offset)  # type: ignore[operator]
                                    for c, offset in zip(chunks, timing.offsets, strict=True)])
                    if chunks else np.zeros(0))
        absolute, nominal = _device_rate(absolute, table.n_samples, nominal, name, problems)
    else:
        assert timing.timeline is not None
        absolute = timing.timeline.t_s
        pause_starts = timing.timeline.run_starts
        nominal = timing.rate_hz

    n_total = len(absolute)
    acc = np.concatenate([c.block.acc_g for c in chunks]) if chunks else np.zeros((0, 3))
    gyro: np.ndarray | None = None
    if any(c.block.gyro_dps is not None for c in chunks):
        gyro = np.concatenate(
            [
                c.block.gyro_dps
                if c.block.gyro_dps is not None
                else np.full((c.block.n_samples, 3), np.nan)
                for c in chunks
            ]
        )
    origin = float(absolute[0]) if n_total else 0.0
    t_s = absolute - origin
    ends = np.cumsum(table.n_samples)
    meta = trace_metadata(header, name, problems, loop, time_source, nominal, timing.host_t_s,
                          table.n_samples, pause_starts, origin, t_s[ends - table.n_samples],
                          t_s[ends - 1], gyro is not None)

    if n_total >= 2:
        diffs = np.diff(t_s)
        positive = diffs[diffs > 0]
        sample_rate = float(1.0 / np.median(positive)) if positive.size else math.nan
    else:
        sample_rate = math.nan

    return DecodedTrace(**{f.name: getattr(meta, f.name) for f in fields(TraceMetadata)},
                        t_s=t_s, acc_g=acc, gyro_dps=gyro, sample_rate_hz=sample_rate)
