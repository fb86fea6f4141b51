"""The trace reader's fast path for notification lines gives the JSON path's events exactly.

``_payload_line`` reads the writer's own layout without the JSON parser; every line it
takes must give the event ``json.loads`` + ``_parse_event`` give, and every line the JSON
path refuses (or reads differently) must be left to it.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.trace import TraceFormatError, TraceStream, TraceWriter, read_trace
from firmware_bridge.trace import reader as trace_reader
from firmware_bridge.trace.reader import _LineError, _parse_event, _parse_json_object, _payload_line

H10_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"


def _slow(raw: bytes, line: int = 7):
    try:
        return _parse_event(_parse_json_object(raw), line)
    except _LineError as error:
        return ("error", str(error))


def _same_event(a: object, b: object) -> bool:
    if a != b:
        return False
    # 0.0 == -0.0: the sign of a zero time must match too
    return math.copysign(1.0, a.t_s) == math.copysign(1.0, b.t_s)


EDGE_LINES = [
    b'{"t":0.02,"ev":"notify","char":"fb005c81-02e7-f387-1cad-8acd2d8df0c8","hex":"f002020000"}',
    b'{"t":-0,"ev":"notify","char":"2a37","hex":"00"}',
    b'{"t":-0.0,"ev":"write","char":"2A37","hex":"AbCd"}',
    b'{"t":5,"ev":"notify","char":"0x2a37","hex":""}',
    b'{"t":12345678901234567890,"ev":"notify","char":"2a37","hex":"00"}',
    b'{"t":1e400,"ev":"notify","char":"2a37","hex":"00"}',  # infinite: refused
    b'{"t":-1e400,"ev":"notify","char":"2a37","hex":"00"}',
    b'{"t":01,"ev":"notify","char":"2a37","hex":"00"}',  # not JSON
    b'{"t":1.,"ev":"notify","char":"2a37","hex":"00"}',
    b'{"t":1.5E+3,"ev":"notify","char":"2a37","hex":"0a"}',
    b'{"t":0.1,"ev":"notify","char":"2a37","hex":"abc"}',  # odd hex
    b'{"t":0.1,"ev":"notify","char":"","hex":"00"}',  # empty char
    b'{"t":0.1,"ev":"notify","char":"2a37","hex":"00"} ',
    b'{"t":0.1,"ev":"notify","char":"2a37","hex":"00"}\r',
    b'{"t":0.1, "ev":"notify","char":"2a37","hex":"00"}',
    b'{"ev":"notify","t":0.1,"char":"2a37","hex":"00"}',
    b'{"t":0.1,"ev":"notify","char":"2a37","hex":"00","extra":1}',
    b'{"t":0.1,"ev":"notify","char":"2a37","hex":"00"}{"t":1}',
    b'{"t":true,"ev":"notify","char":"2a37","hex":"00"}',
    b'{"t":0.1,"ev":"connect"}',
]


def test_edge_lines_read_as_the_json_path_reads_them():
    for raw in EDGE_LINES:
        fast = _payload_line(raw, 7)
        slow = _slow(raw)
        if fast is None:
            continue
        assert not isinstance(slow, tuple), (raw, slow)
        assert _same_event(fast, slow), raw
    # the writer's own lines and the valid variants above do take the fast path
    assert sum(_payload_line(raw, 7) is not None for raw in EDGE_LINES) == 6


numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.integers(min_value=-10**25, max_value=10**25).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,6})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"[-+.0-9eE]{1,8}", fullmatch=True),
)
chars = st.one_of(st.just(H10_DATA), st.just("2a37"), st.just("0x2A37"),
                  st.from_regex(r"[0-9A-Za-z-]{0,10}", fullmatch=True))
hexes = st.from_regex(r"[0-9A-Fa-f]{0,40}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(numbers, st.sampled_from(["notify", "write"]), chars, hexes)
def test_generated_lines_read_as_the_json_path_reads_them(number, kind, char, hex_text):
    raw = f'{{"t":{number},"ev":"{kind}","char":"{char}","hex":"{hex_text}"}}'.encode()
    fast = _payload_line(raw, 3)
    slow = _slow(raw, 3)
    if fast is not None:
        assert not isinstance(slow, tuple), (raw, slow)
        assert _same_event(fast, slow)


def test_a_written_trace_reads_the_same_without_the_fast_path(tmp_path, monkeypatch):
    path = tmp_path / "walk.swtrace"
    with TraceWriter(path, "polar-pmd", config={"sample_rate_hz": 200}) as writer:
        writer.record_connect(t_s=0.0)
        for i in range(300):
            writer.record_notify(H10_DATA, bytes([2, i % 256, 0, 7, 9, 1, 2, 3, 4, 128, i % 7]),
                                 t_s=0.18 * i + 0.05)
        writer.record_disconnect("link lost", t_s=60.0)
    with path.open("a") as handle:  # what a crash mid-write leaves
        handle.write('{"t":99.5,"ev":"notify","char":"' + H10_DATA + '","he')
    fast = read_trace(path)
    taken = sum(_payload_line(line.rstrip(b"\n"), 0) is not None
                for line in path.read_bytes().splitlines())
    assert taken == 300
    monkeypatch.setattr(trace_reader, "_payload_line", lambda raw, line: None)
    slow = read_trace(path)
    assert fast.events == slow.events and fast.problems == slow.problems
    assert [e.line for e in fast.events] == [e.line for e in slow.events]
    assert list(TraceStream(path)) == slow.events


def test_a_bad_line_is_the_same_error_either_way(tmp_path, monkeypatch):
    path = tmp_path / "odd.swtrace"
    with TraceWriter(path, "polar-pmd") as writer:
        writer.record_connect(t_s=0.0)
        writer.record_notify(H10_DATA, b"\x02\x00", t_s=0.1)
    lines = path.read_text().splitlines()
    lines.insert(2, '{"t":0.05,"ev":"notify","char":"' + H10_DATA + '","hex":"0a1"}')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as fast:
        read_trace(path)
    monkeypatch.setattr(trace_reader, "_payload_line", lambda raw, line: None)
    with pytest.raises(TraceFormatError) as slow:
        read_trace(path)
    assert str(fast.value) == str(slow.value) and "line 3" in str(fast.value)
