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
    from stridewatch.store import database as store

    (stored,) = store.list_sessions(db, patient_id="P9")
    assert stored.source == str(SAMPLE) and stored.steps > 600
    assert main(["analyze", str(SAMPLE)]) == 0  # without --save nothing more is stored
    assert len(store.list_sessions(db)) == 1


def test_history_follows_the_patients_walking_plan(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    rules = tmp_path / "p8.toml"
    # one walk a week of at least 6 min, then 1 min more per met week
    rules.write_text("[walking-plan]\nstart_min = 6\nstep_min = 1\nwalks_per_week = 1\n"
                     "min_walk_min = 6\n")
    assert main(["patient", "set-rules", "P8", str(rules), "--db", str(db)]) == 0
    for patient in ("P8", "P9"):  # P9 has no stored rules: the default plan
        for day in ("2026-11-16", "2026-11-24"):  # one 6.5-min walk in ISO weeks 47 and 48
            assert main(["report", str(SAMPLE), "--patient", patient, "--db", str(db),
                         "--date", day, "-o", str(tmp_path / f"{patient}-{day}.html")]) == 0

    def weeks(patient: str) -> dict[str, list[str]]:
        capsys.readouterr()
        page = tmp_path / f"{patient}.html"
        assert main(["history", "--patient", patient, "--db", str(db), "-o", str(page)]) == 0
        return {line.split()[0]: line.split()[1:] for line in
                capsys.readouterr().out.splitlines() if line.startswith("2026-W")}

    p8 = weeks("P8")
    assert p8["2026-W47"] == ["1", "6.5", "6.5", "6m", "met"]
    assert p8["2026-W48"] == ["1", "6.5", "6.5", "7m", "not", "met"]
    assert "1 walk of 6 min or more" in (tmp_path / "P8.html").read_text()
    # the default plan wants 3 walks of 5 min a week: not met, the target holds at 5
    p9 = weeks("P9")
    assert p9["2026-W47"] == ["1", "6.5", "6.5", "5m", "not", "met"]
    assert p9["2026-W48"] == ["1", "6.5", "6.5", "5m", "not", "met"]
