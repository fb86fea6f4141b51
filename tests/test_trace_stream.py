"""Traces decoded and analysed as a stream (issue 13): the same samples, metadata, output.

``stream_trace`` must give ``decode_trace``'s samples bit for bit (cut into pieces) and
its metadata, or say it does not stream the trace (``NotStreamed``) for the whole decode;
``analyze`` must print the same bytes (stdout and stderr) whether a trace is streamed
or read whole. Traces: clean ones from the emulation writers (Polar H10 and a Verity
Sense streaming over PMD, micro:bit, MetaWear) and hostile mutations of them (moved
lines, repeats, clock jumps and repeating clocks, truncation, disconnects, garbage,
damaged packets, lying headers, times in ms).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from analysis.simulate import Phase, simulate_walk
from analysis.streaming import WINDOW_SAMPLES
from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace
from firmware_bridge.emulation.microbit_trace import write_microbit_trace
from firmware_bridge.emulation.pmd_device_bytes import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    POLAR_EPOCH_OFFSET_S,
    acc_frame_int16,
    control_response,
)
from firmware_bridge.profiles.metawear import METAWEAR_COMMAND_UUID, METAWEAR_NOTIFY_UUID
from firmware_bridge.sample_times import rates_agree
from firmware_bridge.trace import TraceFormatError, TraceWriter, decode_trace, read_trace
from firmware_bridge.trace.stream_decode import (
    NotStreamed,
    _rate_surely_agrees,
    _StepHistogram,
    stream_trace,
)
from stridewatch.cli import main
from stridewatch.inputs.swtrace import AccelerationCensus
from stridewatch.store import filing


def _walk(fs_hz: float, seconds: float = 50.0, seed: int = 3) -> np.ndarray:
    return simulate_walk([Phase("stand", 6), Phase("walk", seconds - 6, cadence_spm=106)],
                         fs_hz=fs_hz, noise_g=0.01, seed=seed).acc


def _verity_trace(path: Path, acc_g: np.ndarray, rate_hz: int = 52, frame: int = 18) -> None:
    """A Verity Sense streaming ACC over PMD at 52 Hz (its own rate and frame size)."""
    start = bytes([0x02, 0x02, 0x00, 0x01, rate_hz, 0x00, 0x01, 0x01, 0x10, 0x00, 0x02, 0x01,
                   0x08, 0x00])
    acc_mg = np.round(acc_g * 1000).astype(np.int64)
    with TraceWriter(path, "polar-pmd", device_name="Polar Sense 5E7A0C11",
                     device_address="A0:9E:1A:5E:7A:0C",
                     config={"sample_rate_hz": rate_hz, "range_g": 8},
                     started_unix_s=1.7e9, clock=lambda: 0.0) as trace:
        trace.record_connect(t_s=0.0)
        trace.record_write(PMD_CONTROL_POINT_UUID, start, t_s=0.01)
        trace.record_notify(PMD_CONTROL_POINT_UUID, control_response(0x02, 0x02, 0), t_s=0.02)
        for first in range(0, len(acc_mg) - frame + 1, frame):
            last = first + frame - 1
            stamp = int(round((1.7e9 - POLAR_EPOCH_OFFSET_S + last / rate_hz) * 1e9))
            trace.record_notify(PMD_DATA_UUID, acc_frame_int16(stamp, acc_mg[first:last + 1]),
                                t_s=0.05 + last / rate_hz + 0.003 * (first % 5))


def _metawear_trace(path: Path, n: int = 2400, rate_hz: float = 99.5) -> None:
    """A MetaWear streaming at ~100 Hz, timed by host arrivals with BLE jitter."""
    rng = np.random.default_rng(7)
    true_t = 0.3 + np.arange(n) / rate_hz
    arrival = np.maximum.accumulate(true_t + rng.uniform(0.005, 0.04, size=n))
    acc = _walk(rate_hz, seconds=n / rate_hz + 1)[:n]
    with TraceWriter(path, "metawear", config={"sample_rate_hz": 100.0, "range_g": 16.0},
                     clock=lambda: 0.0) as w:
        w.record_connect(0.0)
        w.record_write(METAWEAR_COMMAND_UUID, bytes.fromhex("03 03 28 05"), 0.1)  # ±4 g
        for i in range(n):
            counts = np.clip(np.round(acc[i] * 8192), -32768, 32767).astype("<i2")
            w.record_notify(METAWEAR_NOTIFY_UUID, bytes.fromhex("03 04") + counts.tobytes(),
                            float(arrival[i]))
            if i == n // 2:
                w.record_mark("turn", float(arrival[i]) + 0.01)


def _with_lines(path: Path, edit) -> Path:
    """``path`` rewritten with ``edit(lines)`` (a list of its lines, header first)."""
    lines = path.read_text().split("\n")
    edit(lines)
    path.write_text("\n".join(lines))
    return path


def _data_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if '"ev":"notify"' in line and '"hex":"02' in line]


def _set_stamp(line: str, shift_s: float) -> str:
    """A PMD data line with its frame's device stamp moved by ``shift_s``."""
    event = json.loads(line)
    payload = bytearray.fromhex(event["hex"])
    stamp = int.from_bytes(payload[1:9], "little") + int(shift_s * 1e9)
    payload[1:9] = stamp.to_bytes(8, "little")
    event["hex"] = payload.hex()
    return json.dumps(event, separators=(",", ":"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clean")
    out = {name: folder / f"{name}.swtrace"
           for name in ("h10", "h10-link-lost", "verity", "microbit", "metawear")}
    write_h10_trace(out["h10"], _walk(RATE_HZ))
    write_h10_trace(out["h10-link-lost"], _walk(RATE_HZ), link_down_s=(20.0, 23.5))
    _verity_trace(out["verity"], _walk(52.0))
    write_microbit_trace(out["microbit"], _walk(50.0))
    _metawear_trace(out["metawear"])
    return out


def _hostile(clean: dict[str, Path], folder: Path) -> dict[str, tuple[Path, bool]]:
    """name -> (trace, whether it streams)."""
    def copy(source: str, name: str) -> Path:
        path = folder / f"{name}.swtrace"
        path.write_bytes(clean[source].read_bytes())
        return path

    def marks(lines: list[str]) -> None:
        data = _data_lines(lines)
        lines.insert(data[100], '{"t":10.5,"ev":"mark","label":"start walk"}')
        lines.insert(data[3], '{"t":0.3,"ev":"mark","label":"standing still"}')

    def repeats(lines: list[str]) -> None:  # a relay sending 30 notifications twice each
        for i in reversed(_data_lines(lines)[50:80]):
            lines.insert(i, lines[i])

    def repeated_run(lines: list[str]) -> None:  # ... or a run of them again (time goes back)
        data = _data_lines(lines)
        lines[data[50]:data[50]] = lines[data[50]:data[80]]

    def damaged(lines: list[str]) -> None:
        data = _data_lines(lines)
        for i in (data[20], data[200]):
            lines[i] = lines[i].rsplit('"hex":', 1)[0] + '"hex":"02ff"}'

    def moved(lines: list[str]) -> None:  # two frames swapped 18 lines apart
        data = _data_lines(lines)
        lines[data[40]], lines[data[58]] = lines[data[58]], lines[data[40]]

    def equal_host_times_moved(lines: list[str]) -> None:  # only device time orders them
        data = _data_lines(lines)
        for i in data:
            event = json.loads(lines[i])
            event["t"] = 1.0
            lines[i] = json.dumps(event, separators=(",", ":"))
        lines[data[40]], lines[data[43]] = lines[data[43]], lines[data[40]]

    def clock_jump(lines: list[str]) -> None:  # the device clock set back an hour mid-stream
        for i in _data_lines(lines)[150:]:
            lines[i] = _set_stamp(lines[i], -3600.0)

    def repeating_clock(lines: list[str]) -> None:  # a run of frames with one stamp
        data = _data_lines(lines)
        stamp = json.loads(lines[data[60]])["hex"][2:18]
        for i in data[60:90]:
            event = json.loads(lines[i])
            event["hex"] = event["hex"][:2] + stamp + event["hex"][18:]
            lines[i] = json.dumps(event, separators=(",", ":"))

    def truncated(lines: list[str]) -> None:
        lines[-2] = lines[-2][: len(lines[-2]) // 2]
        del lines[-1]

    def outlier_host_time(lines: list[str]) -> None:
        i = _data_lines(lines)[77]
        event = json.loads(lines[i])
        event["t"] = 1e9
        lines[i] = json.dumps(event, separators=(",", ":"))

    def ms_times(lines: list[str]) -> None:
        for i in range(1, len(lines)):
            if lines[i]:
                event = json.loads(lines[i])
                event["t"] = event["t"] * 1000
                lines[i] = json.dumps(event, separators=(",", ":"))

    def garbage(lines: list[str]) -> None:
        lines.insert(len(lines) // 2, "[" * 40)

    def lying_rate(lines: list[str]) -> None:
        head = json.loads(lines[0])
        head["config"]["sample_rate_hz"] = 12.5
        lines[0] = json.dumps(head)

    out: dict[str, tuple[Path, bool]] = {}
    for source, name, edit, streams in (
        ("h10", "h10-marks", marks, True),
        ("h10", "h10-repeats", repeats, True),
        ("h10", "h10-damaged", damaged, True),
        ("h10", "h10-truncated", truncated, True),
        ("h10", "h10-outlier-host-time", outlier_host_time, True),
        ("h10", "h10-repeated-run", repeated_run, False),
        ("h10", "h10-moved", moved, False),
        ("h10", "h10-equal-host-times-moved", equal_host_times_moved, False),
        ("h10", "h10-clock-jump", clock_jump, False),
        ("h10", "h10-repeating-clock", repeating_clock, False),
        ("h10-link-lost", "h10-link-lost-marks", marks, True),
        ("verity", "verity-truncated", truncated, True),
        ("microbit", "microbit-ms", ms_times, True),
        ("microbit", "microbit-lying-rate", lying_rate, True),
        ("microbit", "microbit-truncated", truncated, True),
        ("microbit", "microbit-moved", lambda lines: lines.insert(300, lines.pop(330)), False),
        ("metawear", "metawear-lying-rate", lying_rate, True),
    ):
        out[name] = (_with_lines(copy(source, name), edit), streams)
    out["h10-garbage"] = (_with_lines(copy("h10", "h10-garbage"), garbage), False)
    return out


@pytest.fixture(scope="module")
def hostile(clean, tmp_path_factory) -> dict[str, tuple[Path, bool]]:
    return _hostile(clean, tmp_path_factory.mktemp("hostile"))


def _bits(a: np.ndarray | None) -> bytes | None:
    return None if a is None else a.dtype.str.encode() + a.tobytes()


def streamed_or_whole(path: Path, piece_samples: int = 1000) -> str:
    """"streamed" (stream == whole decode, asserted), "whole" (NotStreamed) or "error"
    (both raise the same TraceFormatError)."""
    try:
        whole = decode_trace(read_trace(path))
    except TraceFormatError as exc:
        with pytest.raises(TraceFormatError) as streamed_error:
            list(stream_trace(path).samples(piece_samples))
        assert str(streamed_error.value) == str(exc)
        return "error"
    trace = stream_trace(path)
    try:
        pieces = list(trace.samples(piece_samples))
    except NotStreamed:
        return "whole"
    meta = trace.metadata
    assert meta is not None
    assert all(len(p) >= piece_samples for p in pieces[:-1])
    assert [p.first_sample for p in pieces] == list(np.cumsum([0] + [len(p) for p in pieces])[:-1])
    t = np.concatenate([p.t_s for p in pieces]) if pieces else np.zeros(0)
    acc = np.concatenate([p.acc_g for p in pieces]) if pieces else np.zeros((0, 3))
    gyro = (np.concatenate([p.gyro_dps for p in pieces]) if pieces and meta.has_gyro
            else None)
    assert _bits(t) == _bits(whole.t_s)
    assert _bits(acc) == _bits(whole.acc_g)
    assert _bits(gyro) == _bits(whole.gyro_dps)
    assert meta.n_samples == len(whole.t_s) and meta.has_gyro == (whole.gyro_dps is not None)
    for field in ("profile", "device_name", "device_address", "nominal_sample_rate_hz",
                  "time_source", "start_unix_s", "problems", "marks", "n_notifications",
                  "n_bad_notifications"):
        assert getattr(meta, field) == getattr(whole, field), field
    assert repr(meta.gaps) == repr(whole.gaps)  # (nan where a gap has no sample before/after)
    for field in ("rsc_t_s", "cadence_spm", "speed_mps"):
        assert _bits(getattr(meta, field)) == _bits(getattr(whole, field)), field
    assert trace.span_s == (float(whole.t_s[-1]) if len(whole.t_s) else 0.0)
    return "streamed"


def test_clean_traces_stream_exactly_as_decoded_whole(clean):
    for name, path in clean.items():
        assert streamed_or_whole(path) == "streamed", name
    decoded = decode_trace(read_trace(clean["h10-link-lost"]))
    assert [g.kind for g in decoded.gaps] == ["disconnect"]  # the gap is compared too
    assert decode_trace(read_trace(clean["metawear"])).marks  # and the mark


def test_hostile_traces_stream_exactly_or_are_decoded_whole(hostile):
    for name, (path, streams) in hostile.items():
        got = streamed_or_whole(path)
        if name == "h10-garbage":
            assert got == "error"
        else:
            assert got == ("streamed" if streams else "whole"), name
    # the hostile ones that stream were repaired, and said so (compared above)
    assert any("repeated a frame" in p for p in decode_trace(read_trace(
        hostile["h10-repeats"][0])).problems)
    assert decode_trace(read_trace(hostile["h10-damaged"][0])).n_bad_notifications == 2


def test_clockless_traces_decoded_again_are_the_same(clean, hostile, monkeypatch,
                                                         tmp_path):
    """A clockless trace longer than KEEP_BYTES is decoded a second time for its samples
    (the first reading keeps only its timeline): the same samples and metadata."""
    from firmware_bridge.trace import stream_decode

    monkeypatch.setattr(stream_decode, "KEEP_BYTES", 0)
    for path in (clean["microbit"], clean["metawear"], hostile["microbit-ms"][0],
                 hostile["microbit-truncated"][0], hostile["metawear-lying-rate"][0]):
        assert streamed_or_whole(path, piece_samples=700) == "streamed", path.name
    changed = tmp_path / "changed.swtrace"
    changed.write_bytes(clean["microbit"].read_bytes())
    first_reading = stream_decode.StreamedTrace._timeline

    def then_change(self, kept):  # the file changes between the two readings
        host_t = first_reading(self, kept)
        changed.write_text(changed.read_text().replace('"ev":"notify"',
                                                       '"ev":"mark","label":"x"', 40))
        return host_t

    monkeypatch.setattr(stream_decode.StreamedTrace, "_timeline", then_change)
    with pytest.raises(TraceFormatError, match="changed while it was read"):
        list(stream_trace(changed).samples())


def _mutate(data: bytes, r: random.Random) -> bytes:
    """One to three of benchmarks/fuzz.py's kinds of damage, on lines."""
    lines = data.split(b"\n")
    for _ in range(r.randint(1, 3)):
        kind = r.choice(["delete", "duplicate", "swap", "truncate", "flip", "number", "stamp"])
        i = r.randrange(1, len(lines) - 2)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            k = r.randint(1, 50)
            lines[i:i + k] = lines[i:i + k] * r.randint(2, 3)
        elif kind == "swap":
            j = min(len(lines) - 2, i + r.randint(1, 20))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "truncate":
            joined = b"\n".join(lines)
            lines = joined[: r.randrange(len(joined) // 2, len(joined))].split(b"\n")
        elif kind == "flip":
            line = bytearray(lines[i])
            if line:
                line[r.randrange(len(line))] = r.choice(b"0123456789abcdef,{}")
            lines[i] = bytes(line)
        elif kind == "number":
            lines[i] = lines[i].replace(b'{"t":', b'{"t":' + r.choice([b"-", b"9e5", b"1"]), 1)
        elif kind == "stamp" and b'"hex":"02' in lines[i]:
            lines[i] = _set_stamp(lines[i].decode(), r.choice([-30.0, 0.004, 7.0])).encode()
    return b"\n".join(lines)


def test_fuzzed_traces_stream_exactly_or_are_decoded_whole(clean, tmp_path):
    r = random.Random(13)
    seen = {"streamed": 0, "whole": 0, "error": 0}
    for case in range(60):
        source = ("h10", "h10-link-lost", "verity", "microbit")[case % 4]
        path = tmp_path / f"case{case}.swtrace"
        path.write_bytes(_mutate(clean[source].read_bytes(), r))
        seen[streamed_or_whole(path, piece_samples=r.choice([1, 500, 40_000]))] += 1
    assert seen["streamed"] >= 10 and seen["whole"] >= 10 and seen["error"] >= 1, seen


def test_the_median_step_bounds_decide_the_device_rate_as_the_whole_median(tmp_path):
    rng = np.random.default_rng(5)
    for case in range(300):
        n = int(rng.integers(2, 3000))
        period = 1 / rng.choice([25.0, 52.0, 100.0, 200.0])
        steps = period * rng.choice([1.0, 0.5, 1.3, 4.0, -1.0], size=n,
                                    p=[0.6, 0.1, 0.1, 0.1, 0.1]) * rng.normal(1, 0.01, n)
        times = 1e9 + np.cumsum(steps)
        histogram = _StepHistogram()
        for piece in np.array_split(times, 7):
            histogram.add(piece)
        nominal = float(rng.choice([25.0, 52.0, 100.0, 200.0]))
        diffs = np.diff(times)
        positive = diffs[diffs > 0]
        agrees = not positive.size or rates_agree(1.0 / float(np.median(positive)), nominal)
        if _rate_surely_agrees(histogram, nominal):
            assert agrees, case  # never streams a trace the whole decode would re-time
        low_high = histogram.median_bounds()
        if positive.size:
            assert low_high is not None
            assert low_high[0] <= float(np.median(positive)) <= low_high[1]


def test_the_acceleration_census_bounds_the_median_magnitude():
    from analysis.streaming import SampleChunk
    from analysis.units import median_magnitude

    rng = np.random.default_rng(9)
    for case in range(40):
        n = int(rng.integers(1, 400_000))
        scale = rng.choice([1.0, 0.3, 2.5])
        acc = rng.normal(0, 0.2, (n, 3)) + [0, 0, scale]
        census = AccelerationCensus(iter(SampleChunk(acc[i:i + 30_000, 0], acc[i:i + 30_000],
                                                     None, i) for i in range(0, n, 30_000)))
        assert sum(len(c) for c in census) == n
        if census.median_surely_about_1g(n):
            assert 0.5 <= median_magnitude(acc) <= 2.0, case
        elif scale == 1.0 and n > 10:
            pytest.fail(f"case {case}: a 1 g recording is not judged ~1 g")


# ---------------------------------------------------------------- analyze, streamed or whole

def _analyze(capsys, args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def counted_streams(patch: pytest.MonkeyPatch, name: str) -> list[bool]:
    """Patch ``stridewatch.store.filing.<name>`` (a stream analysis answering None when the
    file is to be read whole) to note, call by call, whether it streamed."""
    streamed: list[bool] = []
    real = getattr(filing, name)

    def counting(*a, **k):
        answer = real(*a, **k)
        streamed.append(answer is not None)
        return answer

    patch.setattr(filing, name, counting)
    return streamed


def _streamed_and_whole(capsys, monkeypatch, args: list[str]):
    """(exit status, stdout, stderr) of ``analyze`` as it is, and with every trace read
    whole (as before streaming); and, of the traces this process answered, which
    were streamed."""
    with monkeypatch.context() as patch:
        streamed = counted_streams(patch, "analyze_streamed_trace")
        as_stream = _analyze(capsys, args)
    with monkeypatch.context() as patch:
        patch.setattr(filing, "analyze_streamed_trace", lambda *a, **k: None)
        whole = _analyze(capsys, args)
    return as_stream, whole, streamed


def test_analyze_prints_the_same_bytes_streamed_or_whole(clean, hostile, capsys, monkeypatch):
    cases = [(clean["h10"], True), (clean["h10-link-lost"], True),
             (hostile["h10-damaged"][0], True), (hostile["h10-marks"][0], True),
             (clean["verity"], True), (clean["microbit"], True), (clean["metawear"], True),
             (hostile["microbit-lying-rate"][0], True), (hostile["h10-clock-jump"][0], False),
             (hostile["h10-moved"][0], False), (hostile["h10-garbage"][0], False)]
    for path, streams in cases:
        as_stream, whole, streamed = _streamed_and_whole(capsys, monkeypatch,
                                                         ["analyze", "--json", str(path)])
        assert as_stream == whole, path.name
        if path.name != "h10-garbage.swtrace":  # (an error before the analysis)
            assert streamed == [streams], path.name
    code, out, err = whole
    assert code == 2 and out.count("\n") == 1 and err.startswith("error: ")
    damaged = _streamed_and_whole(capsys, monkeypatch,
                                  ["analyze", "--json", str(hostile["h10-damaged"][0])])[0]
    assert damaged[0] == 0 and damaged[2].count("warning:") >= 2  # the warnings compared
    summary = _streamed_and_whole(capsys, monkeypatch, ["analyze", str(clean["h10"])])
    assert summary[0] == summary[1] and summary[0][1].strip()


def test_analyze_with_workers_prints_the_same_bytes_streamed_or_whole(clean, hostile, capsys,
                                                                      monkeypatch):
    inputs = [str(clean["h10"]), str(hostile["h10-damaged"][0]), str(clean["microbit"]),
              str(hostile["h10-clock-jump"][0]), str(hostile["h10-garbage"][0]),
              str(clean["verity"])]
    as_stream, whole, _ = _streamed_and_whole(capsys, monkeypatch,
                                              ["analyze", "--json", "--workers", "2", *inputs])
    assert as_stream == whole
    one = _analyze(capsys, ["analyze", "--json", "--workers", "1", *inputs])
    assert one == as_stream
    assert as_stream[0] == 1 and len(as_stream[1].splitlines()) == len(inputs)


def test_a_long_trace_is_analysed_chunk_by_chunk_with_the_whole_result(tmp_path, capsys,
                                                                        monkeypatch):
    """From WINDOW_SAMPLES samples analyze_stream checks and feeds chunk by chunk."""
    path = tmp_path / "long.swtrace"
    walk = _walk(RATE_HZ, seconds=90.0, seed=8)
    total = WINDOW_SAMPLES + 40 * 36
    write_h10_trace(path, walk, total_samples=total, link_down_s=(400.0, 401.5))
    _with_lines(path, lambda lines: lines.insert(
        _data_lines(lines)[3000], '{"t":540.0,"ev":"mark","label":"turn"}'))
    as_stream, whole, streamed = _streamed_and_whole(capsys, monkeypatch,
                                                     ["analyze", "--json", str(path)])
    assert streamed == [True]
    assert as_stream == whole and as_stream[0] == 0
    session = json.loads(as_stream[1])
    assert session["steps"] > 100 and math.isfinite(session["duration_s"])


def test_arrivals_in_order_are_never_moved():
    """arrival_permutation's shortcut (sorted times: no outlier, no move) is what the
    outlier-aware sort key gives."""
    from firmware_bridge.trace.arrival_order import _sort_key, arrival_permutation

    rng = np.random.default_rng(1)
    for case in range(2000):
        n = int(rng.integers(2, 60))
        t = np.sort(np.cumsum(rng.choice([0, 0.01, 3, 6, 20, 1e9], size=n)))
        assert arrival_permutation(t) is None
        assert np.all(np.diff(_sort_key(t)) >= 0), case
