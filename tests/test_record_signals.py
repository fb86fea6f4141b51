"""Signals and argument values in `record` (issue 16).

SIGTERM and SIGHUP stop a recording like Ctrl-C: the stop command is sent, the
disconnect is traced, the summary is printed and the session is filed. Bad argument
values are refused by the parser, before any scanning or connecting.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_bridge.emulation.pmd_device_bytes import PMD_CONTROL_POINT_UUID
from firmware_bridge.trace import DisconnectEvent, WriteEvent, read_trace
from stridewatch.cli import main
from stridewatch.store import database as store

ROOT = Path(__file__).resolve().parents[1]


def _record_until(signum: int, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path, Path]:
    trace, db = tmp_path / "walk.swtrace", tmp_path / "s.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stridewatch", "record", "--emulate", "--emulate-speed", "20",
         "-o", str(trace), "--db", str(db), "--patient", "S1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    # wait until samples have been recorded (the live view prints a status line)
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "steps" in line and "cadence" in line:
            break
        assert line, "record ended before streaming: " + proc.stderr.read()
    time.sleep(0.8)  # ≈ 16 s of emulated walking more
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=90)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines) + out, err), \
        trace, db


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_record_like_ctrl_c(tmp_path, signum):
    done, trace, db = _record_until(signum, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "notifications," in done.stdout and "link loss(es)" in done.stdout  # the summary
    assert "saved session 1 in" in done.stdout
    events = read_trace(trace).events
    writes = [e.payload.hex() for e in events
              if isinstance(e, WriteEvent) and e.char_uuid == PMD_CONTROL_POINT_UUID]
    assert writes[-1] == "0302"  # the stop command went out before disconnecting
    assert isinstance(events[-1], DisconnectEvent) and events[-1].reason == "closed by host"
    (stored,) = store.list_sessions(db, patient_id="S1")
    assert stored.trace_path == str(trace.resolve())


@pytest.mark.parametrize(("args", "message"), [
    (["--duration", "nan"], "argument --duration: 'nan' must be a finite number above 0"),
    (["--duration", "-5"], "argument --duration: '-5' must be a finite number above 0"),
    (["--emulate-speed", "0"], "argument --emulate-speed: '0' must be a finite number above 0"),
    (["--timeout", "inf"], "argument --timeout: 'inf' must be a finite number above 0"),
    (["--rate", "x"], "argument --rate: 'x' is not a number"),
])
def test_bad_record_arguments_are_refused_by_the_parser(capsys, args, message):
    assert main(["record", "--emulate", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_reversed_calibration_is_refused_before_connecting(tmp_path, capsys, monkeypatch):
    import firmware_bridge.scanner

    def no_radio(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("scanned before checking the arguments")

    monkeypatch.setattr(firmware_bridge.scanner, "scan", no_radio)
    monkeypatch.setattr(firmware_bridge.scanner, "find_sensor", no_radio)
    code = main(["record", "--emulate", "--calibrate", "5:2", "--no-save",
                 "-o", str(tmp_path / "w.swtrace")])
    assert code == 2
    assert "error: --calibrate '5:2': START and END must be seconds with 0 ≤ START < END" in (
        capsys.readouterr().err)
    assert not (tmp_path / "w.swtrace").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_final_analysis_still_files_the_session(tmp_path, capsys,
                                                                    monkeypatch, signum):
    from stridewatch.live.view import LiveView

    finish = LiveView.finish

    def signalled(self):  # noqa: ANN001, ANN202 - Ctrl-C (or a kill) in the final analysis
        os.kill(os.getpid(), signum)
        return finish(self)

    monkeypatch.setattr(LiveView, "finish", signalled)
    trace, db = tmp_path / "w.swtrace", tmp_path / "s.db"
    code = main(["record", "--emulate", "--emulate-speed", "20", "--duration", "2",
                 "-o", str(trace), "--db", str(db), "--patient", "S1"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert ("finishing the final analysis and saving the session of the complete trace; "
            "another Ctrl-C stops without it") in out.err
    assert "saved session 1 in" in out.out
    (stored,) = store.list_sessions(db, patient_id="S1")
    assert stored.trace_path == str(trace.resolve())
    # the handlers are back as they were
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_two_signals_during_the_final_analysis_stop_without_filing_the_session(
        tmp_path, capsys, monkeypatch):
    from stridewatch.store import filing

    save = filing.save_recording_session

    def interrupted_save(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # the second one interrupts the save
        return save(*args, **kwargs)

    monkeypatch.setattr(filing, "save_recording_session", interrupted_save)
    trace, db = tmp_path / "w.swtrace", tmp_path / "s.db"
    code = main(["record", "--emulate", "--emulate-speed", "20", "--duration", "2",
                 "-o", str(trace), "--db", str(db), "--patient", "S1"])
    err = capsys.readouterr().err
    assert code == 130
    assert f"interrupted during the final analysis; the trace {trace} is complete" in err
    assert store.list_sessions(db) == []  # nothing filed
    assert read_trace(trace).events


def test_ctrl_c_during_the_final_analysis_says_how_to_finish_it(tmp_path, capsys, monkeypatch):
    from stridewatch.live.view import LiveView

    def interrupted(self):  # noqa: ANN001, ANN202 - Ctrl-C arrives in the final analysis
        raise KeyboardInterrupt

    monkeypatch.setattr(LiveView, "finish", interrupted)
    trace, db = tmp_path / "w.swtrace", tmp_path / "s.db"
    code = main(["record", "--emulate", "--emulate-speed", "20", "--duration", "1",
                 "-o", str(trace), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 130
    assert (f"interrupted during the final analysis; the trace {trace} is complete: analyse it "
            f"with `stridewatch analyze --save --db {db} {trace}`") in err
    assert read_trace(trace).events  # complete and readable
