"""Timing from evidence (issue 16): lying headers, clocks that repeat or run back, ms stamps.

Each trace holds a 32 s synthetic walk with known steps; whatever the header claims
or the clock does, the analysis must find the walk's duration and steps, and say
once, with the figures, what it decided.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pytest

from analysis.simulate import Phase, simulate_walk
from firmware_bridge.emulation.h10_trace import write_h10_trace
from firmware_bridge.emulation.microbit_trace import write_microbit_trace
from firmware_bridge.trace import decode_trace, read_trace
from stridewatch.cli import main


@lru_cache(maxsize=2)
def _walk(fs_hz: float):  # noqa: ANN202
    return simulate_walk([Phase("stand", 2), Phase("walk", 30, cadence_spm=110)],
                         fs_hz=fs_hz, noise_g=0.01, seed=8)


def _truth_steps(fs_hz: float) -> int:
    return len(_walk(fs_hz).truth["initial_contacts"])


def _analyze(capsys, path):  # noqa: ANN202
    code = main(["analyze", "--json", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out), [line for line in out.err.splitlines() if line]


def _assert_walk(session, fs_hz, duration_s=32.0):  # noqa: ANN001, ANN202
    assert session["duration_s"] == pytest.approx(duration_s, abs=0.5)
    assert abs(session["steps"] - _truth_steps(fs_hz)) <= 3


@pytest.mark.parametrize("header_rate_hz", [1.0, 0.5, 5.0, None])
def test_microbit_header_rate_is_overruled_by_the_arrivals(tmp_path, capsys, header_rate_hz):
    path = tmp_path / "microbit.swtrace"
    write_microbit_trace(path, _walk(50.0).acc, rate_hz=50.0, header_rate_hz=header_rate_hz)
    session, warnings = _analyze(capsys, path)
    _assert_walk(session, 50.0)  # was 1,499 s from 30 s of data at a 1 Hz header
    assert session["sample_rate_hz"] == pytest.approx(50.0, rel=0.02)
    (warning,) = warnings  # once, with the figures
    claimed = "no rate" if header_rate_hz is None else f"{header_rate_hz:g} Hz"
    assert f"the header says {claimed} but the notifications arrive at 50" in warning
    assert "(1600 samples in 3" in warning and "timing from the arrivals" in warning


def test_microbit_host_times_in_milliseconds_are_recognised(tmp_path, capsys):
    path = tmp_path / "ms.swtrace"
    write_microbit_trace(path, _walk(50.0).acc, time_scale=1000.0)
    session, warnings = _analyze(capsys, path)
    _assert_walk(session, 50.0)  # was 29,988 s
    (warning,) = warnings
    assert "host times are in milliseconds, not seconds" in warning


def _h10(tmp_path, name="h10.swtrace"):  # noqa: ANN001, ANN202
    path = tmp_path / name
    write_h10_trace(path, _walk(200.0).acc)
    return path, path.read_text(encoding="utf-8").splitlines(keepends=True)


def _notify_lines(lines):  # noqa: ANN001, ANN202
    return [i for i, line in enumerate(lines) if '"ev":"notify"' in line and '"hex":"02' in line]


def test_polar_header_rate_5_hz_does_not_decide_the_grid(tmp_path, capsys):
    path, lines = _h10(tmp_path)
    header = json.loads(lines[0])
    header["config"]["sample_rate_hz"] = 5
    lines[0] = json.dumps(header) + "\n"
    # the start command in the trace asked for 200 Hz; make it claim 5 Hz as well
    text = "".join(lines)
    assert '"hex":"02020001c800' in text
    path.write_text(text.replace('"hex":"02020001c800', '"hex":"020200010500'), encoding="utf-8")
    session, warnings = _analyze(capsys, path)
    (warning,) = warnings
    assert "the header/configured rate is 5 Hz but the device clock shows 200 Hz" in warning
    _assert_walk(session, 200.0)  # was 5 steps instead of 46
    assert session["sample_rate_hz"] == pytest.approx(200.0, rel=0.01)


def test_polar_frames_all_stamped_alike_are_repaired_without_adding_time(tmp_path, capsys):
    path, lines = _h10(tmp_path)
    notifies = _notify_lines(lines)
    first = json.loads(lines[notifies[0]])["hex"]
    for i in notifies:
        event = json.loads(lines[i])
        event["hex"] = event["hex"][:2] + first[2:18] + event["hex"][18:]
        lines[i] = json.dumps(event, separators=(",", ":")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    session, warnings = _analyze(capsys, path)
    _assert_walk(session, 200.0, duration_s=32.0)  # was 84 steps in 58.75 s
    clock_lines = [w for w in warnings if "device clock jumped" in w]
    assert len(clock_lines) == 1 and "more like it)" in clock_lines[0]  # one line, a count
    # the live view (record, replay) re-anchors the same way: no time added either
    from analysis.rules import builtin_rules
    from stridewatch.live.replay import replay_trace

    live = replay_trace(path, rules=builtin_rules()).to_dict(str(path))
    assert live["duration_s"] == pytest.approx(32.0, abs=0.5)
    assert abs(live["steps"] - session["steps"]) <= 2


def test_two_swapped_notify_lines_add_no_time(tmp_path, capsys):
    path, lines = _h10(tmp_path)
    a, b = _notify_lines(lines)[40:42]
    lines[a], lines[b] = lines[b], lines[a]
    path.write_text("".join(lines), encoding="utf-8")
    session, _ = _analyze(capsys, path)
    _assert_walk(session, 200.0)  # was 65.9 s


@pytest.mark.parametrize("apart", [3, 11, 18])
def test_notify_lines_swapped_far_apart_decode_as_the_original(tmp_path, capsys, apart):
    """Fuzz find: frames swapped up to 20 lines apart made 40 s of data last 45-47 s."""
    path, lines = _h10(tmp_path)
    original = decode_trace(read_trace(path))
    notifies = _notify_lines(lines)
    for k in (30, 90):  # two swaps, each a late frame written among early ones
        a, b = notifies[k], notifies[k + apart]
        lines[a], lines[b] = lines[b], lines[a]
    path.write_text("".join(lines), encoding="utf-8")
    decoded = decode_trace(read_trace(path))
    assert decoded.t_s.tolist() == original.t_s.tolist()  # back in arrival order, exactly
    assert decoded.acc_g.tolist() == original.acc_g.tolist()
    assert not [g for g in decoded.gaps if g.kind == "clock_jump"]
    (note,) = [p for p in decoded.problems if "out of arrival order" in p]
    assert "4 notification(s)" in note
    session, _ = _analyze(capsys, path)
    _assert_walk(session, 200.0)


def test_one_event_at_1e308_s_is_one_warning_not_a_thousand(tmp_path, capsys):
    path = tmp_path / "far.swtrace"
    write_microbit_trace(path, _walk(50.0).acc)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    event = json.loads(lines[20])
    event["t"] = 1e308
    lines[20] = json.dumps(event) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    trace = read_trace(path)
    (back,) = [p for p in trace.problems if "time goes back" in p]
    assert back.endswith("(and 1580 more like it)")
    decoded = decode_trace(trace)
    assert decoded.t_s[-1] == pytest.approx(32.0, abs=0.5)
    session, warnings = _analyze(capsys, path)
    _assert_walk(session, 50.0)
    assert len(warnings) <= 3  # was 1,406 lines


def test_replay_equals_analyze_for_a_clockless_sensor(tmp_path, capsys):
    """One timing policy (ArrivalClock) for live, replay and analyze: a micro:bit trace
    (no device clock, bunched arrivals, a 3 s pause) replays to exactly what analyze
    gives; before, the two timed it differently and step times were up to 20 ms apart."""
    path = tmp_path / "microbit.swtrace"
    write_microbit_trace(path, _walk(50.0).acc, rate_hz=50.0)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in range(900, len(lines)):  # the sensor goes quiet for 3 s mid-walk
        event = json.loads(lines[i])
        event["t"] += 3.0
        lines[i] = json.dumps(event) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    analyzed, _ = _analyze(capsys, path)
    assert main(["replay", "--json", str(path)]) == 0
    replayed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert analyzed.pop("input")["time_unit"] == "s (host clock)"
    analyzed["recording"].pop("started_at"), replayed["recording"].pop("started_at")
    assert replayed["initial_contacts_s"] == analyzed["initial_contacts_s"]
    assert replayed == analyzed
    assert len(analyzed["segments"]) == 2  # the pause splits the analysis
    assert abs(analyzed["steps"] - _truth_steps(50.0)) <= 8  # ~3 s of steps unseen


@pytest.mark.parametrize("apart", [3, 18])
def test_swapped_frames_without_usable_host_times_go_back_by_their_device_clock(
    tmp_path, capsys, apart
):
    """Fuzz find (seed 16, trace 685): lines swapped and every host time the same gave
    49.3 s from 40 s of data: with no arrival order, re-anchoring each frame added time."""
    path, lines = _h10(tmp_path)
    original = decode_trace(read_trace(path))
    notifies = _notify_lines(lines)
    for k in (30, 90):
        a, b = notifies[k], notifies[k + apart]
        lines[a], lines[b] = lines[b], lines[a]
    for i, line in enumerate(lines[1:], start=1):
        event = json.loads(line)
        if "t" in event:
            event["t"] = 1.0
            lines[i] = json.dumps(event, separators=(",", ":")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    decoded = decode_trace(read_trace(path))
    assert decoded.acc_g.tolist() == original.acc_g.tolist()
    assert decoded.t_s[-1] == pytest.approx(original.t_s[-1], abs=1e-6)
    assert not [g for g in decoded.gaps if g.kind == "clock_jump"]
    (note,) = [p for p in decoded.problems if "out of device-clock order" in p]
    assert "frame(s)" in note
    session, _ = _analyze(capsys, path)
    _assert_walk(session, 200.0)
