"""From a trace to samples: ``decode_trace`` runs the profile decoders over the recorded
notifications and returns times (s) and acceleration (g) with the gaps between them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from firmware_bridge.profiles import (
    TRACE_PROFILES,
    DecodedBlock,
    DecodeError,
    StreamConfig,
)
from firmware_bridge.sample_times import RATE_AGREEMENT, host_time_evidence, times_from_arrivals
from firmware_bridge.trace.arrival_order import in_arrival_order
from firmware_bridge.trace.events import (
    ConnectEvent,
    DisconnectEvent,
    MarkEvent,
    NotifyEvent,
    Trace,
    TraceFormatError,
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


@dataclass(frozen=True, eq=False)
class DecodedTrace:
    """Samples decoded from a trace.

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

    profile: str
    device_name: str | None
    device_address: str | None
    t_s: np.ndarray
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None
    sample_rate_hz: float
    nominal_sample_rate_hz: float | None
    time_source: str
    start_unix_s: float | None
    gaps: list[Gap]
    marks: list[Mark]
    problems: list[str]
    n_notifications: int
    n_bad_notifications: int
    rsc_t_s: np.ndarray
    cadence_spm: np.ndarray
    speed_mps: np.ndarray


@dataclass(eq=False)
class _Chunk:
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


def _device_times(
    chunks: list[_Chunk], name: str, problems: list[str], gap_at: dict[int, list[_PendingGap]]
) -> np.ndarray:
    """Concatenated device-clock times of all chunks, with clock jumps re-anchored.

    Device time must increase. When a block starts at or before the previous sample, or
    jumps forward much further than host time did (device clock reset or set while
    streaming), that block and all later ones are shifted so the block starts where host
    time says it should. This is reported and listed as a "clock_jump" gap; no samples
    are dropped.
    """
    parts: list[np.ndarray] = []
    offset = 0.0
    last_t = -math.inf
    last_host = -math.inf
    previous_period = 0.0
    for i, chunk in enumerate(chunks):
        times = chunk.block.t_device_s
        assert times is not None
        start = float(times[0]) + offset
        host_step = chunk.host_t_s - last_host
        backwards = start <= last_t
        leaps = start - last_t > max(host_step, 0.0) + CLOCK_JUMP_TOLERANCE_S
        if parts and (backwards or leaps):
            # The block ends when it arrived: host time since the previous block, less
            # the block's own span (so a repeating clock adds no time), and at least
            # one sample period after the previous sample.
            span = float(times[-1] - times[0])
            period = span / (len(times) - 1) if len(times) > 1 else 0.0
            if not period > 0:
                period = previous_period
            target = last_t + max(host_step - span, period, 1e-6)
            offset += target - start
            problems.append(
                f"{name} line {chunk.line}: device clock jumped by {start - last_t:+.3f} s "
                f"while host time moved {host_step:.3f} s; re-anchored on host time"
            )
            gap_at.setdefault(i, []).append(
                _PendingGap("clock_jump", 0, f"device clock jumped {start - last_t:+.3f} s")
            )
        shifted = times + offset
        if len(times) > 1 and times[-1] > times[0]:
            previous_period = float(times[-1] - times[0]) / (len(times) - 1)
        parts.append(shifted)
        last_t = float(shifted[-1])
        last_host = chunk.host_t_s
    return np.concatenate(parts) if parts else np.zeros(0)


#: Frames a notification may have moved and still be put back by its device time: a
#: line moved this far is out of order; a larger move is a clock reset, re-anchored.
LOCAL_REORDER_FRAMES = 64


def _in_device_order(chunks: list[_Chunk], gap_at: dict[int, list[_PendingGap]]) -> int:
    """Put stamped frames moved a few lines back in device-clock order, per connection.

    Used where arrival times cannot order them (equal or missing host times): a frame
    whose device stamps fall between its neighbours' is out of place, not a clock jump,
    and re-anchoring it would add time. A permutation is applied only when it is local
    (no frame moves more than ``LOCAL_REORDER_FRAMES``) and leaves every block after
    the previous one; otherwise the clock really jumped. Returns frames moved.
    """
    moved = 0
    remap: dict[int, int] = {}  # old chunk index -> new, for the gaps noted per chunk
    start = 0
    while start < len(chunks):
        end = start
        while end < len(chunks) and chunks[end].segment == chunks[start].segment:
            end += 1
        run = chunks[start:end]
        firsts = np.array([float(c.block.t_device_s[0]) for c in run])  # type: ignore[index]
        order = np.argsort(firsts, kind="stable")
        place = np.arange(len(run))
        if np.any(order != place) and np.max(np.abs(order - place)) <= LOCAL_REORDER_FRAMES:
            ordered = [run[k] for k in order]
            fits = all(
                float(a.block.t_device_s[-1]) < float(b.block.t_device_s[0])  # type: ignore[index]
                for a, b in zip(ordered, ordered[1:], strict=False)
            )
            if fits:
                chunks[start:end] = ordered
                remap.update({start + int(old): start + new for new, old in enumerate(order)})
                moved += int(np.count_nonzero(order != place))
        start = end
    if remap:
        moved_gaps = {remap.get(k, k): gaps for k, gaps in gap_at.items()}
        gap_at.clear()
        gap_at.update(moved_gaps)
    return moved


def _device_rate(
    absolute: np.ndarray, counts: np.ndarray, nominal: float | None, name: str,
    problems: list[str],
) -> tuple[np.ndarray, float | None]:
    """The sample rate the device clock shows, when it disagrees with the configured one.

    Frames whose samples were laid out at the configured rate (the first of each link,
    lacking a previous stamp) are laid out again at the measured rate, ending where
    they end; warned once with the figures.
    """
    if not nominal or len(absolute) < 2:
        return absolute, nominal
    diffs = np.diff(absolute)
    positive = diffs[diffs > 0]
    if not positive.size:
        return absolute, nominal
    period = float(np.median(positive))
    measured = 1.0 / period
    if 1 / RATE_AGREEMENT <= measured / nominal <= RATE_AGREEMENT:
        return absolute, nominal
    problems.append(
        f"{name}: the header/configured rate is {nominal:g} Hz but the device clock shows "
        f"{measured:.4g} Hz ({len(absolute)} samples in {absolute[-1] - absolute[0]:.1f} s); "
        f"using {measured:.4g} Hz"
    )
    fixed = absolute.copy()
    ends = np.cumsum(counts)
    for end, n in zip(ends, counts, strict=True):
        if n < 2:
            continue
        block = fixed[end - n : end]
        spacing = (block[-1] - block[0]) / (n - 1)
        if not 1 / RATE_AGREEMENT <= spacing / period <= RATE_AGREEMENT:
            fixed[end - n : end] = block[-1] - np.arange(n - 1, -1, -1) * period
    if np.any(np.diff(fixed) <= 0):  # re-laid frames must not overlap their neighbours
        return absolute, measured
    return fixed, measured


def decode_trace(trace: Trace) -> DecodedTrace:
    """Decode every notification of ``trace`` with its profile's decoder.

    Malformed packets are reported in ``problems`` and skipped; writes are shown to the
    decoder (so it learns the rate/range actually requested); disconnect→connect
    intervals, lost frames and pauses become ``gaps``.
    """
    name = trace.name
    header = trace.header
    spec = TRACE_PROFILES.get(header.profile)
    if spec is None:
        known = ", ".join(sorted(TRACE_PROFILES))
        raise TraceFormatError(name, 1, f"unknown profile {header.profile!r} (known: {known})")
    problems = list(trace.problems)
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

    chunks: list[_Chunk] = []
    gap_at: dict[int, list[_PendingGap]] = {}
    rsc_rows: list[tuple[float, float, float]] = []
    marks_host: list[tuple[float, str]] = []
    segment = 0
    packet_index = 0
    bad = 0
    disconnect: DisconnectEvent | None = None
    recent: deque[bytes] = deque(maxlen=RECENT_FRAMES)
    repeats = 0
    events, moved = in_arrival_order(trace.events)
    if moved:
        problems.append(f"{name}: {moved} notification(s) were written out of arrival order "
                        "(host times going back); decoded in the order they arrived")
    for event in events:
        if isinstance(event, NotifyEvent):
            index = packet_index
            packet_index += 1
            if spec.has_device_clock and event.char_uuid == spec.data_char_uuid:
                if event.payload in recent:  # the same stamped frame again: not new data
                    repeats += 1
                    continue
                recent.append(event.payload)
            try:
                block = decoder.feed(event.char_uuid, event.payload, index)
            except DecodeError as error:
                problems.append(f"{name} line {event.line}: {error}")
                bad += 1
                block = None
            for warning in decoder.warnings:
                problems.append(f"{name} line {event.line}: {warning}")
            decoder.warnings.clear()
            if block is None:
                continue
            if block.cadence_spm is not None or block.speed_mps is not None:
                rsc_rows.append(
                    (
                        event.t_s,
                        np.nan if block.cadence_spm is None else block.cadence_spm,
                        np.nan if block.speed_mps is None else block.speed_mps,
                    )
                )
            if block.n_samples == 0:
                continue
            if block.gap_before and block.lost_frames:
                gap_at.setdefault(len(chunks), []).append(
                    _PendingGap(
                        "lost_frames",
                        block.lost_frames,
                        f"{block.lost_frames} frame(s) lost (packet {index})",
                    )
                )
            chunks.append(_Chunk(event.t_s, segment, event.line, block))
        elif isinstance(event, WriteEvent):
            decoder.note_write(event.char_uuid, event.payload)
        elif isinstance(event, DisconnectEvent):
            decoder.reset()
            segment += 1
            if disconnect is None:
                disconnect = event
        elif isinstance(event, ConnectEvent):
            decoder.reset()
            segment += 1
            if disconnect is not None:
                reason = f" ({disconnect.reason})" if disconnect.reason else ""
                gap_at.setdefault(len(chunks), []).append(
                    _PendingGap(
                        "disconnect",
                        0,
                        f"disconnected{reason} at host {disconnect.t_s:.3f} s, "
                        f"reconnected at {event.t_s:.3f} s",
                    )
                )
                disconnect = None
        elif isinstance(event, MarkEvent):
            marks_host.append((event.t_s, event.label))

    if repeats:
        problems.append(f"{name}: {repeats} notification(s) repeated a frame already received "
                        "(same bytes, same device time); skipped")
    nominal = decoder.sample_rate_hz or config.sample_rate_hz
    time_source = "device" if spec.has_device_clock else "host"
    if time_source == "device" and chunks:
        reordered = _in_device_order(chunks, gap_at)
        if reordered:
            problems.append(f"{name}: {reordered} frame(s) were out of device-clock order "
                            "among their neighbours; put back in order")
    pause_starts: list[int] = []
    arrivals = np.array([c.host_t_s for c in chunks])
    counts_arr = np.array([c.block.n_samples for c in chunks])
    evidence = host_time_evidence(arrivals, counts_arr, nominal)
    for note in (evidence.repair_note, evidence.rate_note if time_source == "host" else None):
        if note:
            problems.append(f"{name}: {note}")
    for chunk, host_t in zip(chunks, evidence.arrival_s, strict=True):
        chunk.host_t_s = float(host_t)
    if time_source == "device":
        absolute = _device_times(chunks, name, problems, gap_at)
        absolute, nominal = _device_rate(absolute, counts_arr, nominal, name, problems)
    else:
        timeline = times_from_arrivals(
            evidence.arrival_s,
            counts_arr,
            np.array([c.segment for c in chunks]),
            evidence.rate_hz,
        )
        absolute = timeline.t_s
        pause_starts = timeline.run_starts

    counts = [c.block.n_samples for c in chunks]
    first_sample = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n_total = int(first_sample[-1])
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

    gaps: list[Gap] = []
    for chunk_index in sorted(set(gap_at) | set(pause_starts)):
        sample = int(first_sample[min(chunk_index, len(counts))])
        start = float(t_s[sample - 1]) if 0 < sample <= n_total else math.nan
        end = float(t_s[sample]) if sample < n_total else math.nan
        for pending in gap_at.get(chunk_index, []):
            gaps.append(Gap(pending.kind, sample, start, end, pending.lost_frames, pending.detail))
        if chunk_index in pause_starts:
            detail = f"no notifications for {end - start:.2f} s"
            gaps.append(Gap("pause", sample, start, end, 0, detail))

    if n_total >= 2:
        diffs = np.diff(t_s)
        positive = diffs[diffs > 0]
        sample_rate = float(1.0 / np.median(positive)) if positive.size else math.nan
    else:
        sample_rate = math.nan
    if time_source == "host":
        nominal = evidence.rate_hz

    start_unix: float | None = None
    if n_total:
        start_unix = origin if time_source == "device" else header.started_unix_s + origin
        if not plausible_unix_s(start_unix):
            if time_source == "device":  # the header's problem is already reported
                problems.append(f"{name}: the device clock reads {start_unix:.6g} s, not a "
                                "time from 1970 to 2200; when the recording started is unknown")
            start_unix = None

    marks: list[Mark] = []
    if marks_host:
        if chunks:
            host = np.array([c.host_t_s for c in chunks])
            last_sample_t = np.array([t_s[first_sample[i + 1] - 1] for i in range(len(counts))])
            for host_t, label in marks_host:
                # place the mark relative to the last notification at or before it
                j = max(int(np.searchsorted(host, host_t, side="right")) - 1, 0)
                marks.append(Mark(float(last_sample_t[j] + (host_t - host[j])), label))
        else:
            marks = [Mark(host_t, label) for host_t, label in marks_host]

    if rsc_rows:
        rsc = np.array(rsc_rows, dtype=np.float64)
        rsc_t = rsc[:, 0] - rsc[0, 0]
        cadence, speed = rsc[:, 1], rsc[:, 2]
    else:
        rsc_t = cadence = speed = np.zeros(0)

    return DecodedTrace(
        profile=header.profile,
        device_name=header.device_name,
        device_address=header.device_address,
        t_s=t_s,
        acc_g=acc,
        gyro_dps=gyro,
        sample_rate_hz=sample_rate,
        nominal_sample_rate_hz=nominal,
        time_source=time_source,
        start_unix_s=start_unix,
        gaps=gaps,
        marks=marks,
        problems=summarize_problems(problems),
        n_notifications=packet_index,
        n_bad_notifications=bad,
        rsc_t_s=rsc_t,
        cadence_spm=cadence,
        speed_mps=speed,
    )
