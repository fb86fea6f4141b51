"""Reading ``.swtrace`` files: ``read_trace`` (whole file) and ``TraceStream`` (lazy).

A truncated or garbled last line (what a crash mid-write leaves) is reported, never fatal.
"""

from __future__ import annotations

import binascii
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from firmware_bridge.profiles import full_uuid
from firmware_bridge.trace.events import (
    FORMAT_NAME,
    FORMAT_VERSION,
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

#: Longest line read: a notification of the largest ATT payload (512 bytes) is ~1.2 KB
#: and a header a few hundred bytes; a longer line is not a trace line.
MAX_LINE_BYTES = 64 * 1024
#: Deepest nesting of JSON arrays/objects accepted (the header's "config" is 2 deep).
MAX_JSON_DEPTH = 8


class _LineError(Exception):
    pass


def _json_depth(text: str) -> int:
    """The deepest nesting of [ ] and { } outside strings (cheap: one pass, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


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
    if (text.count("[") + text.count("{") > MAX_JSON_DEPTH
            and _json_depth(text) > MAX_JSON_DEPTH):
        raise _LineError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
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


#: A notification or write line exactly as ``TraceWriter`` writes it (keys in its order, no
#: spaces, a JSON number, a plain UUID string, hex): read without the JSON parser, ~3x
#: faster. Anything else, or a value it would refuse (an infinite time, odd hex), goes
#: through the JSON path, so every line gives the same event or error either way.
_PAYLOAD_LINE = re.compile(
    rb'\{"t":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?),"ev":"(notify|write)",'
    rb'"char":"([0-9A-Za-z-]{1,64})","hex":"([0-9A-Fa-f]*)"\}')
_UUIDS: dict[bytes, str] = {}


def _payload_line(raw: bytes, line: int) -> TraceEvent | None:
    """The event of a line in the writer's own layout (``_PAYLOAD_LINE``), or None."""
    match = _PAYLOAD_LINE.fullmatch(raw)
    if match is None or len(match[4]) % 2:
        return None
    number = match[1]
    # as json reads it: an integer literal is an int (so "-0" is 0.0), the rest float()
    t = float(number) if b"." in number or b"e" in number or b"E" in number else float(
        int(number))
    if not math.isfinite(t):
        return None
    char = _UUIDS.get(match[3])
    if char is None:
        char = _UUIDS.setdefault(match[3], full_uuid(match[3].decode("ascii")))
    cls = NotifyEvent if match[2] == b"notify" else WriteEvent
    return cls(t_s=t, char_uuid=char, payload=binascii.unhexlify(match[4]), line=line)


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


_TOO_LONG = b"\x00 line too long \x00\n"


def _read_line(handle: BinaryIO) -> bytes:
    """The next line (b"" at the end); ``_TOO_LONG`` for a line over ``MAX_LINE_BYTES``,
    which is skipped to its end in bounded reads, never held in memory."""
    raw = handle.readline(MAX_LINE_BYTES + 1)
    if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
        return raw
    while raw and not raw.endswith(b"\n"):
        raw = handle.readline(MAX_LINE_BYTES)
    return _TOO_LONG


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
        first = self._file.readline(MAX_LINE_BYTES + 1)
        if len(first) > MAX_LINE_BYTES:
            self._file.close()
            raise TraceFormatError(
                self.path.name, 1, f"bad header: line longer than {MAX_LINE_BYTES} bytes"
            )
        if not first.strip():
            self._file.close()
            raise TraceFormatError(self.path.name, None, "empty file, no header line")
        try:
            self.header = _parse_header(_parse_json_object(first.rstrip(b"\n")))
        except _LineError as error:
            self._file.close()
            raise TraceFormatError(self.path.name, 1, f"bad header: {error}") from None
        if not plausible_unix_s(self.header.started_unix_s):
            self.problems.append(
                f"{self.path.name} line 1: started_unix_s {self.header.started_unix_s:.6g} is "
                "not a time from 1970 to 2200; when the recording started is unknown"
            )

    def close(self) -> None:
        """Close the file (when the events are not all read)."""
        self._file.close()

    def __iter__(self) -> Iterator[TraceEvent]:
        name = self.path.name
        last_t = -math.inf
        line_no = 1
        with self._file as handle:
            raw = _read_line(handle)
            while raw:
                line_no += 1
                following = _read_line(handle)
                complete = raw.endswith(b"\n")
                try:
                    if raw is _TOO_LONG:
                        raise _LineError(f"line longer than {MAX_LINE_BYTES} bytes")
                    text = raw.rstrip(b"\n")
                    parsed = _payload_line(text, line_no) or _parse_event(
                        _parse_json_object(text), line_no)
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
    return Trace(path=stream.path, header=stream.header, events=events,
                 problems=summarize_problems(stream.problems))
