"""`stridewatch scan` and `record` from the command line, against the emulated H10."""

from __future__ import annotations

import json

from stridewatch.cli import main
from stridewatch.cli.record import emulated_walk


def test_scan_lists_the_emulated_strap(capsys):
    assert main(["scan", "--emulate"]) == 0
    out = capsys.readouterr().out
    assert "polar-pmd" in out and "Polar H10 1A2B3C4D" in out and "dBm" in out


def test_record_shows_live_view_alerts_and_writes_an_analysable_trace(tmp_path, capsys):
    trace = tmp_path / "walk.swtrace"
    db = tmp_path / "store.sqlite3"
    code = main(["record", "--emulate", "--emulate-speed", "20", "-o", str(trace),
                 "--calibrate", "1:6", "--patient", "W1", "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "steps" in out and "cadence  110 spm" in out
    assert "ALERT forward-lean" in out
    assert f"saved session 1 in {db}" in out
    assert trace.exists()
    assert main(["analyze", "--json", "--calibrate", "1:6", str(trace)]) == 0
    session = json.loads(capsys.readouterr().out)
    truth = emulated_walk().truth["initial_contacts"]
    # Scanning and connecting at 20x speed cost part of the 30 s standing, never a step.
    assert abs(session["steps"] - len(truth)) <= 0.01 * len(truth)
    assert {f["rule"] for f in session["flags"]} == {"forward-lean", "short-walk"}
    from stridewatch.store import database as store

    (stored,) = store.list_sessions(db, patient_id="W1")
    assert stored.trace_path == str(trace.resolve())
    assert stored.steps == session["steps"]  # the live result equals the trace's analysis
    # never overwrite a recording
    assert main(["record", "--emulate", "--no-save", "-o", str(trace)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_record_a_named_device_identifies_its_protocol_from_the_advertisement(tmp_path, capsys):
    trace = tmp_path / "named.swtrace"
    assert main(["record", "--emulate", "--emulate-speed", "20", "--device", "Polar H10 1A2B3C4D",
                 "--duration", "2", "--no-save", "-o", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "recording polar-pmd Polar H10 1A2B3C4D" in out
    assert "0 bad packet(s)" in out and trace.exists()
    assert main(["record", "--emulate", "--device", "Nobody 1234", "--no-save",
                 "-o", str(tmp_path / "none.swtrace")]) == 1
    assert "no device 'Nobody 1234' found" in capsys.readouterr().err
