"""`stridewatch history` and `report --history` from the command line."""

from __future__ import annotations

from pathlib import Path

from stridewatch.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample-walk.csv"


def test_history_table_and_trend_page(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    for day in ("2026-11-16", "2026-11-18", "2026-11-24"):
        assert main(["report", str(SAMPLE), "--patient", "P7", "--db", str(db), "--date", day,
                     "-o", str(tmp_path / f"r-{day}.html")]) == 0
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
    assert main(["history", "--patient", "nobody", "--db", str(db),
                 "-o", str(tmp_path / "empty.html")]) == 0


def test_analyze_save_files_the_session_under_the_patient(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    assert main(["analyze", "--save", "--patient", "P9", "--db", str(db), str(SAMPLE)]) == 0
    assert f"saved session 1 in {db}" in capsys.readouterr().err
    from stridewatch import store

    (stored,) = store.list_sessions(db, patient_id="P9")
    assert stored.source == str(SAMPLE) and stored.steps > 600
    assert main(["analyze", str(SAMPLE)]) == 0  # without --save nothing more is stored
    assert len(store.list_sessions(db)) == 1
