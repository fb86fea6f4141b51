"""Guided calibration: the countdown on the samples' clock, retries, marks, and `record`
end to end against the emulated H10 (the session's lean reference is `standing`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from firmware_bridge.trace import decode_trace, read_trace
from stridewatch.cli import main
from stridewatch.cli import record as record_cli
from stridewatch.live.calibration import (
    ASK,
    DONE,
    MARK_DONE,
    MARK_MOVED,
    MARK_START,
    MAX_TRY_S,
    RETRY,
    STILL_S,
    GuidedCalibration,
)
from stridewatch.store.lean_references import get_lean_reference

RATE_HZ = 100.0


def _stream(guide: GuidedCalibration, acc: np.ndarray, block: int = 36) -> None:
    t = np.arange(len(acc)) / RATE_HZ + 12.5  # any clock origin
    for i in range(0, len(acc), block):
        guide.feed(t[i : i + block], acc[i : i + block])


def _still(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE_HZ)
    return np.array([0.1, 0.05, 0.99]) + 0.01 * rng.standard_normal((n, 3))


def _swaying(seconds: float) -> np.ndarray:
    acc = _still(seconds, seed=1)
    acc[:, 0] += 0.15 * np.sin(2 * np.pi * 0.9 * np.arange(len(acc)) / RATE_HZ)
    return acc


def test_still_wearer_counts_down_once_and_is_done_after_5_s():
    marks: list[str] = []
    guide = GuidedCalibration(mark=marks.append)
    _stream(guide, _still(8))
    assert guide.state == "done" and guide.attempts == 1
    assert guide.segment_s == pytest.approx((12.5, 12.5 + STILL_S))
    assert guide.messages == [f"{ASK}: 5…", "  4…", "  3…", "  2…", "  1…", DONE]
    assert marks == [MARK_START, MARK_DONE]


def test_moving_wearer_gets_the_retry_message_then_the_segment_after_settling():
    marks: list[str] = []
    guide = GuidedCalibration(mark=marks.append)
    _stream(guide, np.vstack([_still(2), _swaying(6), _still(7)]))
    assert guide.state == "done" and guide.attempts == 2
    assert sum(m.startswith(RETRY) for m in guide.messages) == 1  # once, not every second
    assert marks == [MARK_START, MARK_MOVED, MARK_START, MARK_DONE]
    start, end = guide.segment_s
    assert start >= 12.5 + 8 - 1e-9 and end - start == pytest.approx(STILL_S)


def test_wearer_who_never_stands_still_is_told_calibration_was_skipped():
    guide = GuidedCalibration()
    _stream(guide, _swaying(MAX_TRY_S + 5))
    assert guide.state == "skipped" and guide.segment_s is None
    assert "Calibration skipped" in guide.messages[-1]


def _record(tmp_path, capsys, name: str, *extra: str) -> tuple[str, dict, object]:
    trace = tmp_path / f"{name}.swtrace"
    db = tmp_path / "store.sqlite3"
    code = main(["record", "--emulate", "--emulate-speed", "20", "-o", str(trace),
                 "--patient", "G1", "--db", str(db), *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    assert main(["analyze", "--json", str(trace)]) == 0
    session = json.loads(capsys.readouterr().out)
    return out, session, decode_trace(read_trace(trace))


def test_record_guides_the_wearer_and_the_reference_is_the_standing_segment(tmp_path, capsys):
    out, session, decoded = _record(tmp_path, capsys, "guided")
    assert f"{ASK}: 5…" in out and DONE in out
    assert out.index(DONE) < out.index("ALERT forward-lean")  # live alert uses the reference
    labels = [m.label for m in decoded.marks]
    assert labels == [MARK_START, MARK_DONE]
    assert session["lean"]["reference"] == "standing"
    start, end = session["lean"]["reference_segment_s"]
    done_t = decoded.marks[-1].t_s
    assert start <= done_t - STILL_S + 1.5 and end >= done_t - 1.0  # the guided segment
    # 0-6° walking then 18°: relative to the real standing, not to the walking
    assert {f["rule"] for f in session["flags"]} == {"forward-lean", "short-walk"}
    stored = get_lean_reference(tmp_path / "store.sqlite3", "G1", "A0:9E:1A:1A:2B:3C")
    assert stored is not None and stored.source.startswith("record ")


def test_record_retries_when_the_wearer_moves(tmp_path, capsys, monkeypatch):
    fidgety = record_cli.emulated_walk(fidget_s=40.0)
    monkeypatch.setattr(record_cli, "emulated_walk", lambda: fidgety)
    out, session, decoded = _record(tmp_path, capsys, "fidget")
    assert RETRY in out and DONE in out
    labels = [m.label for m in decoded.marks]
    assert MARK_MOVED in labels and labels[-1] == MARK_DONE
    assert session["lean"]["reference"] == "standing"


def test_no_calibration_skips_the_guide(tmp_path, capsys):
    trace = tmp_path / "plain.swtrace"
    assert main(["record", "--emulate", "--emulate-speed", "20", "--duration", "2",
                 "--no-calibration", "--no-save", "-o", str(trace)]) == 0
    out = capsys.readouterr().out
    assert ASK not in out and "steps" in out
    assert not decode_trace(read_trace(trace)).marks
