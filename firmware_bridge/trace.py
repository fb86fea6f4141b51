"""The ``.swtrace`` recording format: raw BLE traffic as JSON Lines (UTF-8).

Line 1 is a header::

    {"format":"stridewatch-trace","version":1,"profile":"polar-pmd",
     "device":{"name":…,"address":…},"started_unix_s":…,"config":{…}}

then one event per line (``t`` = host monotonic seconds since the trace started)::

    {"t":1.234567,"ev":"notify","char":"<uuid>","hex":"<payload>"}
    {"t":…,"ev":"write","char":"<uuid>","hex":"<payload>"}
    {"t":…,"ev":"connect"}
    {"t":…,"ev":"disconnect","reason":"…"}
    {"t":…,"ev":"mark","label":"…"}

``TraceWriter`` records, ``read_trace`` parses, ``decode_trace`` turns a trace into
samples (t in s, acceleration in g) with the profile decoders. The format is documented
for other tools in ``data/trace-format.md``.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from firmware_bridge.profiles import PROFILES, DecodedBlock, DecodeError, StreamConfig, full_uuid
from firmware_bridge.sample_times import times_from_arrivals

FORMAT_NAME = "stridewatch-trace"
FORMAT_VERSION = 1
FILE_SUFFIX = ".swtrace"
DEFAULT_FSYNC_INTERVAL_S = 1.0


class TraceFormatError(ValueError):
    """A trace file that cannot be read; the message names the file and line."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


# ---------------------------------------------------------------------------------------
# events


@dataclass(frozen=True)
class TraceHeader:
    profile: str
    device_name: str | None
    device_address: str | None
    started_unix_s: float
    config: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class NotifyEvent:
    """A notification or indication received from the device."""

    t_s: float
    char_uuid: str
    payload: bytes
    line: int = 0


@dataclass(frozen=True)
class WriteEvent:
    """A GATT write the host sent."""

    t_s: float
    char_uuid: str
    payload: bytes
    line: int = 0


@dataclass(frozen=True)
class ConnectEvent:
    t_s: float
    line: int = 0


@dataclass(frozen=True)
class DisconnectEvent:
    t_s: float
    reason: str | None = None
    line: int = 0


@dataclass(frozen=True)
class MarkEvent:
    """A user annotation (e.g. "standing still", "start walk")."""

    t_s: float
    label: str
    line: int = 0


TraceEvent = NotifyEvent | WriteEvent | ConnectEvent | DisconnectEvent | MarkEvent


@dataclass
class Trace:
    """A parsed trace: header, events in file order, and non-fatal reading problems."""

    path: Path
    header: TraceHeader
    events: list[TraceEvent]
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


# ---------------------------------------------------------------------------------------
# writing


def _json_line(obj: Mapping[str, Any]) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("utf-8")


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class TraceWriter:
    """Append-only ``.swtrace`` writer; use as a context manager.

    Crash safety: the file is created exclusively (an existing file is never
    overwritten); every line goes to the OS in a single ``os.write`` of the whole line
    (no user-space buffering, so a killed process loses nothing it has recorded); a
    background thread calls ``os.fsync`` at most every ``fsync_interval_s`` seconds when
    something new was written (so at most about that much is lost on power failure), and
    ``close`` syncs once more. Earlier lines are never rewritten.

    ``clock`` is the monotonic clock used for ``t`` (seconds); events may pass their own
    ``t_s`` (seconds since the trace started, e.g. taken when a notification arrived).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        profile: str,
        *,
        device_name: str | None = None,
        device_address: str | None = None,
        config: Mapping[str, Any] | None = None,
        started_unix_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        fsync_interval_s: float = DEFAULT_FSYNC_INTERVAL_S,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "profile": profile,
            "device": {"name": device_name, "address": device_address},
            "started_unix_s": time.time() if started_unix_s is None else float(started_unix_s),
            "config": dict(config or {}),
        }
        header_line = _json_line(header)  # fails before creating the file if not JSON-able
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o644)
        self._start = clock()
        self._lock = threading.Lock()
        self._dirty = False
        try:
            self._write_line(header_line)
            os.fsync(self._fd)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise
        _fsync_directory(self.path.parent)  # make the new directory entry durable too
        self._interval = fsync_interval_s
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="swtrace-fsync", daemon=True)
        self._syncer.start()

    # -- context manager
    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._fd is None

    def elapsed_s(self) -> float:
        """Seconds since the trace started, on the writer's clock."""
        return self._clock() - self._start

    # -- events
    def record_notify(self, char_uuid: str, payload: bytes, t_s: float | None = None) -> None:
        """A notification/indication from the device (raw bytes)."""
        self._event("notify", t_s, char=full_uuid(char_uuid), hex=bytes(payload).hex())

    def record_write(self, char_uuid: str, payload: bytes, t_s: float | None = None) -> None:
        """A GATT write the host sent (raw bytes)."""
        self._event("write", t_s, char=full_uuid(char_uuid), hex=bytes(payload).hex())

    def record_connect(self, t_s: float | None = None) -> None:
        self._event("connect", t_s)

    def record_disconnect(self, reason: str | None = None, t_s: float | None = None) -> None:
        self._event("disconnect", t_s, reason=reason)

    def record_mark(self, label: str, t_s: float | None = None) -> None:
        self._event("mark", t_s, label=str(label))

    def close(self) -> None:
        """Stop the sync thread, fsync and close. Safe to call twice."""
        if self._fd is None:
            return
        self._stop.set()
        self._syncer.join()
        with self._lock:
            fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- internals
    def _event(self, kind: str, t_s: float | None, **fields: Any) -> None:
        t = self.elapsed_s() if t_s is None else float(t_s)
        if not math.isfinite(t):
            raise ValueError(f"event time must be finite, got {t_s!r}")
        self._write_line(_json_line({"t": round(t, 6), "ev": kind, **fields}))

    def _write_line(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                raise ValueError(f"{self.path.name}: trace writer is closed")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._dirty = True

    def _sync_loop(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                if not self._dirty or self._fd is None:
                    continue
                self._dirty = False
                fd = self._fd
            try:
                os.fsync(fd)
            except OSError:
                self._dirty = True


# ---------------------------------------------------------------------------------------
# reading


class _LineError(Exception):
    pass


def _number(obj: Mapping[str, Any], key: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _LineError(f'"{key}" must be a finite number, got {value!r}')
    return float(value)


def _string(obj: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _LineError(f'"{key}" must be a string, got {value!r}')
    return value


def _parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _LineError(f"not UTF-8 ({error.reason} at byte {error.start})") from None
    if not text.strip():
        raise _LineError("empty line")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise _LineError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(obj, dict):
        raise _LineError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _parse_payload_event(obj: Mapping[str, Any]) -> tuple[float, str, bytes]:
    t = _number(obj, "t")
    char = _string(obj, "char")
    assert char is not None
    if not char:
        raise _LineError('"char" is empty')
    hex_text = _string(obj, "hex")
    assert hex_text is not None
    try:
        payload = bytes.fromhex(hex_text)
    except ValueError:
        raise _LineError(f'"hex" is not an even-length hex string: {hex_text[:40]!r}') from None
    return t, full_uuid(char), payload


def _parse_event(obj: Mapping[str, Any], line: int) -> TraceEvent | str:
    """An event, or a string naming an unknown event kind (skipped, reported)."""
    kind = obj.get("ev")
    if not isinstance(kind, str):
        raise _LineError(f'"ev" must be a string, got {kind!r}')
    if kind in ("notify", "write"):
        t, char, payload = _parse_payload_event(obj)
        cls = NotifyEvent if kind == "notify" else WriteEvent
        return cls(t_s=t, char_uuid=char, payload=payload, line=line)
    t = _number(obj, "t")
    if kind == "connect":
        return ConnectEvent(t_s=t, line=line)
    if kind == "disconnect":
        reason = obj.get("reason")
        return DisconnectEvent(t_s=t, reason=None if reason is None else str(reason), line=line)
    if kind == "mark":
        label = _string(obj, "label")
        assert label is not None
        return MarkEvent(t_s=t, label=label, line=line)
    return kind


def _parse_header(obj: Mapping[str, Any]) -> TraceHeader:
    fmt = obj.get("format")
    if fmt != FORMAT_NAME:
        raise _LineError(
            f"not a stridewatch trace: header format is {fmt!r}, expected {FORMAT_NAME!r}"
        )
    version = obj.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise _LineError(
            f"unsupported trace version {version!r} "
            f"(this reader understands version {FORMAT_VERSION})"
        )
    profile = _string(obj, "profile")
    assert profile is not None
    device = obj.get("device") or {}
    if not isinstance(device, dict):
        raise _LineError(f'"device" must be an object, got {device!r}')
    name = _string(device, "name", optional=True)
    address = _string(device, "address", optional=True)
    started = _number(obj, "started_unix_s")
    config = obj.get("config") or {}
    if not isinstance(config, dict):
        raise _LineError(f'"config" must be an object, got {config!r}')
    return TraceHeader(profile, name, address, started, dict(config), dict(obj))


class TraceStream:
    """A trace read lazily, event by event, in constant memory (for long replays).

    The header is read when opening; iterate once to get the events. Problems
    (a truncated last line, unknown events, time going back) are appended to
    ``problems`` as they are met; any other bad line raises TraceFormatError.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.problems: list[str] = []
        self._file = self.path.open("rb")
        first = self._file.readline()
        if not first.strip():
            self._file.close()
            raise TraceFormatError(self.path.name, None, "empty file, no header line")
        try:
            self.header = _parse_header(_parse_json_object(first.rstrip(b"\n")))
        except _LineError as error:
            self._file.close()
            raise TraceFormatError(self.path.name, 1, f"bad header: {error}") from None

    def __iter__(self) -> Iterator[TraceEvent]:
        name = self.path.name
        last_t = -math.inf
        line_no = 1
        with self._file as handle:
            raw = handle.readline()
            while raw:
                line_no += 1
                following = handle.readline()
                complete = raw.endswith(b"\n")
                try:
                    parsed = _parse_event(_parse_json_object(raw.rstrip(b"\n")), line_no)
                except _LineError as error:
                    if not following:
                        what = "garbled last line" if complete else "truncated last line"
                        self.problems.append(f"{name} line {line_no}: {what} ignored ({error})")
                        return
                    raise TraceFormatError(name, line_no, str(error)) from None
                raw = following
                if isinstance(parsed, str):
                    self.problems.append(f"{name} line {line_no}: unknown event {parsed!r} skipped")
                    continue
                if parsed.t_s < last_t:
                    self.problems.append(
                        f"{name} line {line_no}: time goes back from {last_t:.6f} s "
                        f"to {parsed.t_s:.6f} s"
                    )
                last_t = max(last_t, parsed.t_s)
                yield parsed


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Parse a ``.swtrace`` file.

    A truncated or garbled LAST line (what a crash mid-write leaves) is ignored and
    reported in ``Trace.problems``; unknown event kinds are skipped and reported. Any
    other bad line, or a missing/foreign/unsupported header, raises TraceFormatError
    naming the file and line.
    """
    stream = TraceStream(path)
    events = list(stream)
    return Trace(path=stream.path, header=stream.header, events=events, problems=stream.problems)


# ---------------------------------------------------------------------------------------
# decoding


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


@dataclass(frozen=True, eq=False)
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
    for i, chunk in enumerate(chunks):
        times = chunk.block.t_device_s
        assert times is not None
        start = float(times[0]) + offset
        host_step = chunk.host_t_s - last_host
        backwards = start <= last_t
        leaps = start - last_t > max(host_step, 0.0) + CLOCK_JUMP_TOLERANCE_S
        if parts and (backwards or leaps):
            target = last_t + max(host_step, 0.0)
            if target <= last_t:
                target = last_t + 1e-6
            offset += target - start
            problems.append(
                f"{name} line {chunk.line}: device clock jumped by {start - last_t:+.3f} s "
                f"while host time moved {host_step:.3f} s; re-anchored on host time"
            )
            gap_at.setdefault(i, []).append(
                _PendingGap("clock_jump", 0, f"device clock jumped {start - last_t:+.3f} s")
            )
        shifted = times + offset
        parts.append(shifted)
        last_t = float(shifted[-1])
        last_host = chunk.host_t_s
    return np.concatenate(parts) if parts else np.zeros(0)


def decode_trace(trace: Trace) -> DecodedTrace:
    """Decode every notification of ``trace`` with its profile's decoder.

    Malformed packets are reported in ``problems`` and skipped; writes are shown to the
    decoder (so it learns the rate/range actually requested); disconnect→connect
    intervals, lost frames and pauses become ``gaps``.
    """
    name = trace.name
    header = trace.header
    spec = PROFILES.get(header.profile)
    if spec is None:
        known = ", ".join(sorted(PROFILES))
        raise TraceFormatError(name, 1, f"unknown profile {header.profile!r} (known: {known})")
    problems = list(trace.problems)
    try:
        config = StreamConfig.from_dict(header.config)
    except ValueError as error:
        problems.append(f"{name} line 1: {error}; using the profile defaults")
        config = StreamConfig()
    decoder = spec.new_decoder(config)

    chunks: list[_Chunk] = []
    gap_at: dict[int, list[_PendingGap]] = {}
    rsc_rows: list[tuple[float, float, float]] = []
    marks_host: list[tuple[float, str]] = []
    segment = 0
    packet_index = 0
    bad = 0
    disconnect: DisconnectEvent | None = None
    for event in trace.events:
        if isinstance(event, NotifyEvent):
            index = packet_index
            packet_index += 1
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

    nominal = decoder.sample_rate_hz or config.sample_rate_hz
    time_source = "device" if spec.has_device_clock else "host"
    pause_starts: list[int] = []
    if time_source == "device":
        absolute = _device_times(chunks, name, problems, gap_at)
    else:
        timeline = times_from_arrivals(
            np.array([c.host_t_s for c in chunks]),
            np.array([c.block.n_samples for c in chunks]),
            np.array([c.segment for c in chunks]),
            nominal,
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

    if n_total:
        if time_source == "device":
            start_unix: float | None = origin
        else:
            start_unix = header.started_unix_s + origin
    else:
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
        problems=problems,
        n_notifications=packet_index,
        n_bad_notifications=bad,
        rsc_t_s=rsc_t,
        cadence_spm=cadence,
        speed_mps=speed,
    )
