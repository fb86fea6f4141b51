"""`stridewatch history`, `report --history` and `sessions` from the command line; a walk is
stored once however often it is saved, reported or recorded."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from stridewatch.cli import main
from stridewatch.store import database as store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample-walk.csv"


def other_walk(tmp_path: Path, k: int) -> Path:
    """The sample walk with one sample nudged by k mg: another recording (other content)."""
    lines = SAMPLE.read_text().splitlines()
    t, ax, *rest = lines[-1].split(",")
    lines[-1] = ",".join([t, f"{float(ax) + k * 1e-3:.6f}", *rest])
    path = tmp_path / f"walk-{k}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def week_rows(lines: list[str]) -> list[str]:
    return [line for line in lines if line.split() and "-W" in line.split()[0]]


def history(db: Path, patient: str, out: Path, capsys) -> tuple[int, list[str], str]:
    capsys.readouterr()
    code = main(["history", "--patient", patient, "--db", str(db), "-o", str(out)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_history_table_and_trend_page(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    for k, day in enumerate(("2026-11-16", "2026-11-18", "2026-11-24")):
        assert main(["report", str(other_walk(tmp_path, k)), "--patient", "P7", "--db", str(db),
                     "--date", day, "-o", str(tmp_path / f"r-{day}.html")]) == 0
    capsys.readouterr()
    page = tmp_path / "trend.html"
    assert main(["report", "--history", "--patient", "P7", "--db", str(db), "-o", str(page)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert sum(line.startswith("2026-11-") for line in lines) == 3  # one row per session
    week47 = next(line for line in lines if line.startswith("2026-W47"))
    assert week47.split()[1:3] == ["2", "13.0"]  # two walks of 6.5 min in that week
    text = page.read_text()
    assert "<img" in text or "<svg" in text


def test_history_weeks_run_from_the_first_session_to_now(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    first = date.today() - timedelta(days=15)
    assert main(["report", str(SAMPLE), "--patient", "P1", "--db", str(db),
                 "--date", first.isoformat(), "-o", str(tmp_path / "r.html")]) == 0
    code, lines, _ = history(db, "P1", tmp_path / "h.html", capsys)
    assert code == 0
    weeks = [line.split()[0] for line in week_rows(lines)]
    expected, monday = [], first - timedelta(days=first.weekday())
    while monday <= date.today():
        iso = monday.isocalendar()
        expected.append(f"{iso.year}-W{iso.week:02d}")
        monday += timedelta(days=7)
    assert weeks == expected and len(weeks) in (3, 4)


def test_history_of_an_unknown_patient_names_the_similar_ones(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    for patient in ("042", "117"):
        assert main(["patient", "set-rules", patient, str(tmp_path / "r.toml"), "--db", str(db)]
                    ) == 2  # no such rules file: nothing stored
    (tmp_path / "r.toml").write_text("[slow-pace]\nthreshold_spm = 95\n")
    assert main(["patient", "set-rules", "117", str(tmp_path / "r.toml"), "--db", str(db)]) == 0
    assert main(["analyze", "--save", "--patient", "042", "--db", str(db), str(SAMPLE)]) == 0
    code, lines, err = history(db, "42", tmp_path / "h.html", capsys)
    assert code == 1 and not (tmp_path / "h.html").exists()
    assert err.strip() == f"error: no patient '42' in {db}; did you mean 042?"
    code, _, err = history(db, "117", tmp_path / "h.html", capsys)  # known, no sessions yet
    assert code == 0 and err == ""


def test_analyze_save_files_the_session_under_the_patient(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    assert main(["analyze", "--save", "--patient", "P9", "--db", str(db), str(SAMPLE)]) == 0
    assert f"saved session 1 in {db}" in capsys.readouterr().err
    (stored,) = store.list_sessions(db, patient_id="P9")
    assert stored.source == str(SAMPLE) and stored.steps > 600
    assert stored.clock == "file" and stored.content_sha256
    assert main(["analyze", str(SAMPLE)]) == 0  # without --save nothing more is stored
    assert len(store.list_sessions(db)) == 1


def test_saving_or_reporting_the_same_walk_again_keeps_one_session(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    rules = tmp_path / "p.toml"
    rules.write_text("[slow-pace]\nthreshold_spm = 95\n")
    for _ in range(2):
        assert main(["analyze", "--save", "--db", str(db), str(SAMPLE)]) == 0
    assert "updated session 1" in capsys.readouterr().err
    assert main(["patient", "set-rules", "042", str(rules), "--db", str(db)]) == 0
    for _ in range(2):  # reported for the patient: filed under them, with their rules
        assert main(["report", str(SAMPLE), "--patient", "042", "--db", str(db),
                     "-o", str(tmp_path / "r.html")]) == 0
    assert "updated session 1" in capsys.readouterr().out
    (stored,) = store.list_sessions(db)
    assert (stored.id, stored.patient_id) == (1, "042")
    assert stored.rules_version and "patient 042 rules v1" in stored.rules_version
    # a copy of the file elsewhere is the same recording
    copy = tmp_path / "copy.csv"
    copy.write_bytes(SAMPLE.read_bytes())
    assert main(["analyze", "--save", "--db", str(db), str(copy)]) == 0
    (stored,) = store.list_sessions(db)
    assert stored.source_name == "copy.csv" and stored.patient_id == "042"
    code, lines, _ = history(db, "042", tmp_path / "h.html", capsys)
    assert code == 0
    assert sum(line.endswith("copy.csv") for line in lines) == 1  # listed once
    week = stored.session_date - timedelta(days=stored.session_date.weekday())
    label = f"{week.isocalendar().year}-W{week.isocalendar().week:02d}"
    assert next(line for line in lines if line.startswith(label)).split()[1:3] == ["1", "6.5"]


def test_recording_then_reporting_its_trace_keeps_one_session(tmp_path, capsys):
    trace = tmp_path / "walk1.swtrace"
    db = tmp_path / "store.sqlite3"
    assert main(["record", "--emulate", "--emulate-speed", "40", "-o", str(trace),
                 "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"saved session 1 in {db}" in out
    (recorded,) = store.list_sessions(db)
    # the emulated strap's clock reads January 2025: far off the computer's, so not used
    assert recorded.clock == "host"
    assert abs((date.today() - recorded.session_date).days) <= 1
    assert main(["report", str(trace), "--patient", "042", "--db", str(db),
                 "-o", str(tmp_path / "r.html")]) == 0
    assert "updated session 1" in capsys.readouterr().out
    (reported,) = store.list_sessions(db)
    assert reported.patient_id == "042" and reported.content_sha256 == recorded.content_sha256
    assert reported.recorded_at_utc == recorded.recorded_at_utc
    assert reported.device == "A0:9E:1A:12:34:56" or reported.device
    code, lines, _ = history(db, "042", tmp_path / "h.html", capsys)
    assert code == 0 and sum(line.endswith("walk1.swtrace") for line in lines) == 1
    assert len(week_rows(lines)) == 1  # this week only


def test_sessions_list_show_move_delete(tmp_path, capsys, monkeypatch):
    db = tmp_path / "store.sqlite3"
    for k, day in enumerate(("2026-10-05", "2026-10-07")):
        assert main(["report", str(other_walk(tmp_path, k)), "--patient", "42", "--db", str(db),
                     "--date", day, "-o", str(tmp_path / "r.html")]) == 0
    capsys.readouterr()
    assert main(["sessions", "list", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["1", "2026-10-05", "00:00"]
    assert lines[1].endswith("walk-0.csv") and lines[2].endswith("walk-1.csv")
    assert lines[-1] == f"2 session(s) in {db}"
    assert main(["sessions", "show", "2", "--db", str(db)]) == 0
    shown = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines()
                 if len(line.split(None, 1)) == 2)
    assert shown["patient"] == "42" and shown["clock"] == "given"
    assert shown["source"].endswith("walk-1.csv")
    assert main(["sessions", "move", "1", "2", "--patient", "042", "--db", str(db)]) == 0
    assert main(["sessions", "list", "--patient", "42", "--db", str(db)]) == 0  # still known
    assert capsys.readouterr().out.splitlines()[-1] == f"0 session(s) in {db}"
    # delete asks; no answer (no terminal) deletes nothing
    monkeypatch.setattr("builtins.input", lambda prompt: (_ for _ in ()).throw(EOFError))
    assert main(["sessions", "delete", "1", "--db", str(db)]) == 1
    assert len(store.list_sessions(db)) == 2
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["sessions", "delete", "1", "--db", str(db)]) == 0
    assert main(["sessions", "delete", "2", "--yes", "--db", str(db)]) == 0
    assert store.list_sessions(db) == []
    assert main(["sessions", "delete", "7", "--yes", "--db", str(db)]) == 1
    assert "no session 7" in capsys.readouterr().err


@pytest.mark.parametrize("patient", ["P8", "P9"])
def test_history_follows_the_patients_walking_plan(tmp_path, capsys, patient):
    db = tmp_path / "store.sqlite3"
    rules = tmp_path / "p8.toml"
    # one walk a week of at least 6 min, then 1 min more per met week
    rules.write_text("[walking-plan]\nstart_min = 6\nstep_min = 1\nwalks_per_week = 1\n"
                     "min_walk_min = 6\n")
    assert main(["patient", "set-rules", "P8", str(rules), "--db", str(db)]) == 0
    for k, day in enumerate(("2026-11-16", "2026-11-24")):  # 6.5-min walks in W47 and W48
        assert main(["report", str(other_walk(tmp_path, k)), "--patient", patient,
                     "--db", str(db), "--date", day, "-o", str(tmp_path / f"{day}.html")]) == 0
    code, lines, _ = history(db, patient, tmp_path / f"{patient}.html", capsys)
    weeks = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("2026-W")}
    if patient == "P8":
        assert weeks["2026-W47"] == ["1", "6.5", "6.5", "6m", "met"]
        assert weeks["2026-W48"] == ["1", "6.5", "6.5", "7m", "not", "met"]
        assert "walks of 6 min or more" in (tmp_path / "P8.html").read_text()  # its plan
    else:  # no stored rules: the default plan wants 3 walks of 5 min a week; target holds
        assert weeks["2026-W47"] == ["1", "6.5", "6.5", "5m", "not", "met"]
        assert weeks["2026-W48"] == ["1", "6.5", "6.5", "5m", "not", "met"]
