"""Session store: round trip, walking-plan weekly totals, rules versions, migrations,
concurrent writers from two processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from stridewatch.store import database as store
from stridewatch.store.database import WalkingPlan
from tests.fixtures_session import make_session

ROOT = Path(__file__).resolve().parents[1]


def walk(minutes: float) -> dict:
    """A minimal session whose walking time is ``minutes``."""
    walking_s = minutes * 60.0
    return {
        "schema": "stridewatch.session/1",
        "source": f"walk-{minutes:g}min.csv",
        "sample_rate_hz": 100.0,
        "duration_s": walking_s + 60.0,
        "walking_s": walking_s,
        "steps": int(minutes * 105),
        "cadence_spm": 105.0,
        "asymmetry": {"step_time_si_pct": 4.0},
        "lean": {"reference": "auto", "sagittal_deg_median": 5.0, "frontal_deg_median": 1.0,
                 "sagittal_deg_p95": 8.0},
        "bouts": [{"start_s": 30.0, "end_s": 30.0 + walking_s, "steps": int(minutes * 105),
                   "cadence_spm": 105.0, "step_time_si_pct": 4.0}],
        "flags": [],
    }


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


def test_default_path_is_in_user_data_dir(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setattr(store.platformdirs, "user_data_dir", lambda app: str(tmp_path / app))
    assert store.default_db_path() == tmp_path / "stridewatch" / "sessions.sqlite3"
    conn = store.connect()
    conn.close()
    assert (tmp_path / "stridewatch" / "sessions.sqlite3").exists()


def test_save_and_read_back_a_session(db: Path) -> None:
    session = make_session(source="walk-a.csv")
    sid = store.save_session(db, session, patient_id="p1", trace_path="/data/walk-a.swtrace",
                             session_date=datetime(2025, 3, 4, 9, 30))
    [row] = store.list_sessions(db)
    assert row.id == sid
    assert row.patient_id == "p1"
    assert row.source == "walk-a.csv"
    assert row.trace_path == "/data/walk-a.swtrace"
    assert row.started_at == datetime(2025, 3, 4, 9, 30)
    assert row.session_date == date(2025, 3, 4)
    assert row.walking_s == 510.0
    assert row.steps == session["steps"]
    assert row.cadence_spm == session["cadence_spm"]
    assert row.sagittal_deg_median == 4.0
    assert row.frontal_deg_median == 1.5
    assert row.step_time_si_pct == 7.5
    assert row.lean_reference == "calibrated"
    assert store.load_session(db, sid) == session

    conn = store.connect(db)
    bouts = conn.execute("SELECT start_s, end_s, steps, step_time_si_pct FROM bouts "
                         "WHERE session_id = ? ORDER BY idx", (sid,)).fetchall()
    flags = conn.execute("SELECT rule, start_s, end_s, value, threshold FROM flags "
                         "WHERE session_id = ? ORDER BY idx", (sid,)).fetchall()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS
    conn.close()
    assert bouts == [(b["start_s"], b["end_s"], b["steps"], b["step_time_si_pct"])
                     for b in session["bouts"]]
    assert flags == [("forward-lean", 400.0, 460.0, 13.0, 10.0),
                     ("uneven-steps", 360.0, 570.0, 12.0, 10.0)]


def test_list_filters_by_patient_and_date(db: Path) -> None:
    conn = store.connect(db)
    for day, patient in [(1, "a"), (2, "b"), (3, "a"), (10, "a")]:
        store.save_session(conn, walk(10), patient_id=patient,
                           session_date=date(2025, 5, day))
    assert [s.session_date.day for s in store.list_sessions(conn, patient_id="a")] == [1, 3, 10]
    assert [s.session_date.day for s in store.list_sessions(
        conn, patient_id="a", since=date(2025, 5, 3))] == [3, 10]
    assert [s.session_date.day for s in store.list_sessions(
        conn, since=date(2025, 5, 2), until=date(2025, 5, 3))] == [2, 3]
    trend = store.session_trends(conn, patient_id="b")
    assert [(t.session_date, t.cadence_spm, t.walking_min) for t in trend] == [
        (date(2025, 5, 2), 105.0, 10.0)]
    conn.close()


# Known history: (date, walking minutes). Plan: 5 -> 30 min per walk in 5 min steps,
# 3 walks a week, target rises only after a week that met the plan.
HISTORY = [
    # 2025-W02 (Mon 6 Jan): target 5 -> three walks >= 5 min: met
    (date(2025, 1, 6), 6.0), (date(2025, 1, 8), 5.5), (date(2025, 1, 10), 7.0),
    # 2025-W03: target 10 -> 10 and 12 reach it, 4 min is not a walk: not met
    (date(2025, 1, 13), 10.0), (date(2025, 1, 15), 12.0), (date(2025, 1, 18), 4.0),
    # 2025-W04: target held at 10 -> four walks >= 10: met
    (date(2025, 1, 20), 10.0), (date(2025, 1, 21), 11.0), (date(2025, 1, 23), 10.5),
    (date(2025, 1, 26), 15.0),
    # 2025-W05: nothing recorded; target 15, not met
    # 2025-W06: target still 15 -> 15, 16, 20: met
    (date(2025, 2, 3), 15.0), (date(2025, 2, 5), 16.0), (date(2025, 2, 9), 20.0),
]


def test_weekly_totals_over_known_history(db: Path) -> None:
    conn = store.connect(db)
    for day, minutes in HISTORY:
        store.save_session(conn, walk(minutes), patient_id="pat",
                           session_date=datetime.combine(day, datetime.min.time())
                           + timedelta(hours=10))
    # another patient's walks must not count
    store.save_session(conn, walk(40), patient_id="other", session_date=date(2025, 1, 14))
    weeks = store.weekly_totals(conn, patient_id="pat")
    conn.close()

    got = [(w.label, w.walks, round(w.minutes, 2), w.longest_walk_min, w.target_walk_min,
            w.walks_at_target, w.met) for w in weeks]
    assert got == [
        ("2025-W02", 3, 18.5, 7.0, 5.0, 3, True),
        ("2025-W03", 2, 26.0, 12.0, 10.0, 2, False),
        ("2025-W04", 4, 46.5, 15.0, 10.0, 4, True),
        ("2025-W05", 0, 0.0, 0.0, 15.0, 0, False),
        ("2025-W06", 3, 51.0, 20.0, 15.0, 3, True),
    ]
    assert [w.week_start for w in weeks] == [date(2025, 1, 6) + timedelta(weeks=i)
                                             for i in range(5)]
    assert weeks[1].sessions == 3  # the 4-minute recording is a session, not a walk


def test_weekly_totals_since_keeps_plan_history(db: Path) -> None:
    conn = store.connect(db)
    for day, minutes in HISTORY:
        store.save_session(conn, walk(minutes), patient_id="pat", session_date=day)
    weeks = store.weekly_totals(conn, patient_id="pat", since=date(2025, 2, 1))
    conn.close()
    # W05 (27 Jan - 2 Feb) overlaps since; targets still reflect the weeks before it
    assert [(w.label, w.target_walk_min) for w in weeks] == [("2025-W05", 15.0),
                                                             ("2025-W06", 15.0)]


def test_plan_builds_up_from_5_to_30_minutes_and_holds(db: Path) -> None:
    conn = store.connect(db)
    start = date(2025, 3, 3)  # a Monday
    targets = [5, 10, 15, 20, 25, 30, 30, 30]
    for week, target in enumerate(targets):
        for day in (0, 2, 4):  # three walks a week, each exactly at the target
            store.save_session(conn, walk(target), session_date=start + timedelta(
                weeks=week, days=day))
    weeks = store.weekly_totals(conn)
    conn.close()
    assert [w.target_walk_min for w in weeks] == targets
    assert all(w.met for w in weeks)
    assert weeks[-1].longest_walk_min == 30


def test_plan_every_week_mode_and_empty_store(db: Path) -> None:
    assert store.weekly_totals(db) == []
    sessions = [walk(3)]
    conn = store.connect(db)
    store.save_session(conn, sessions[0], session_date=date(2025, 6, 2))
    weeks = store.weekly_totals(conn, until=date(2025, 6, 30),
                                plan=WalkingPlan(advance_only_when_met=False))
    conn.close()
    assert [w.target_walk_min for w in weeks] == [5, 10, 15, 20, 25]
    assert [w.met for w in weeks] == [False] * 5
    assert weeks[0].walks == 0 and weeks[0].sessions == 1  # 3 min is below a walk


def test_iso_weeks_across_new_year(db: Path) -> None:
    conn = store.connect(db)
    for day in (date(2025, 12, 28), date(2025, 12, 29), date(2026, 1, 1), date(2026, 1, 4)):
        store.save_session(conn, walk(6), session_date=day)
    weeks = store.weekly_totals(conn)
    conn.close()
    # Sun 28 Dec 2025 is in 2025-W52; Mon 29 Dec 2025 to Sun 4 Jan 2026 is 2026-W01
    assert [(w.label, w.walks) for w in weeks] == [("2025-W52", 1), ("2026-W01", 3)]


def test_patient_rules_are_versioned(db: Path) -> None:
    assert store.get_patient_rules(db, "p7") is None
    assert store.set_patient_rules(db, "p7", "[forward-lean]\nenabled = false\n") == 1
    assert store.set_patient_rules(db, "p7", "[forward-lean]\nenabled = false\n") == 1
    assert store.set_patient_rules(db, "p7", "[slow-pace]\nthreshold_spm = 90\n") == 2
    rules = store.get_patient_rules(db, "p7")
    assert rules is not None
    assert (rules.version, rules.toml_text) == (2, "[slow-pace]\nthreshold_spm = 90\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        store.set_patient_rules(db, "p7", "[broken")
    assert store.get_patient_rules(db, "p7").version == 2  # type: ignore[union-attr]
    sid = store.save_session(db, walk(8), patient_id="p7", session_date=date(2025, 1, 1))
    plain = store.save_session(db, walk(8), patient_id="p8", session_date=date(2025, 1, 1))
    versions = {s.id: s.rules_version for s in store.list_sessions(db)}
    assert versions == {sid: "patient-v2", plain: None}


# The schema as released at version 1. Frozen here on purpose: databases created by that
# release must keep upgrading, whatever later migrations do.
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL,
                             applied_at TEXT NOT NULL);
CREATE TABLE patients (id TEXT PRIMARY KEY, rules_toml TEXT,
                       rules_version INTEGER NOT NULL DEFAULT 0, rules_updated_at TEXT,
                       created_at TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY, patient_id TEXT REFERENCES patients(id),
    source TEXT, trace_path TEXT, session_date TEXT NOT NULL, started_at TEXT NOT NULL,
    analyzed_at TEXT NOT NULL, duration_s REAL, walking_s REAL, steps INTEGER,
    cadence_spm REAL, sagittal_deg_median REAL, frontal_deg_median REAL,
    sagittal_deg_p95 REAL, step_time_si_pct REAL, lean_reference TEXT, rules_version TEXT,
    session_json TEXT NOT NULL);
CREATE INDEX sessions_by_patient_date ON sessions(patient_id, session_date);
INSERT INTO schema_version VALUES (1, 'patients and sessions', '2025-01-01T00:00:00');
PRAGMA user_version = 1;
"""


def test_migrates_a_version_1_database(db: Path) -> None:
    session = make_session()
    raw = sqlite3.connect(db)
    raw.executescript(V1_SCHEMA)
    raw.execute(
        "INSERT INTO sessions (patient_id, source, session_date, started_at, analyzed_at,"
        " walking_s, steps, session_json) VALUES (NULL, 'old.csv', '2025-01-02',"
        " '2025-01-02T08:00:00', '2025-01-02T08:05:00', 510, ?, ?)",
        (session["steps"], json.dumps(session)),
    )
    raw.commit()
    raw.close()

    conn = store.connect(db)
    assert store.schema_version(conn) == store.LATEST_VERSION == 3
    assert conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall() == [
        (1,), (2,), (3,)]
    bouts = conn.execute("SELECT idx, start_s, end_s, steps, cadence_spm FROM bouts "
                         "ORDER BY idx").fetchall()
    assert bouts == [(i, b["start_s"], b["end_s"], b["steps"], b["cadence_spm"])
                     for i, b in enumerate(session["bouts"])]
    flags = conn.execute("SELECT rule, value, threshold, message FROM flags ORDER BY idx")
    assert flags.fetchall() == [(f["rule"], f["value"], f["threshold"], f["message"])
                                for f in session["flags"]]
    # the upgraded store takes new sessions next to the old one
    store.save_session(conn, walk(12), session_date=date(2025, 1, 3))
    assert [s.source for s in store.list_sessions(conn)] == ["old.csv", "walk-12min.csv"]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_failed_migration_rolls_back_to_previous_version(db: Path) -> None:
    bad = store.MIGRATIONS[:1] + (
        store.Migration(2, "half-done step", (
            "CREATE TABLE half_done (x INTEGER)",
            "INSERT INTO no_such_table VALUES (1)",
        )),
    )
    conn = store.connect(db, migrate=False)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        store.apply_migrations(conn, bad)
    assert store.schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables and "sessions" in tables
    assert store.apply_migrations(conn) == store.LATEST_VERSION
    conn.close()


def test_refuses_a_database_from_a_newer_release(db: Path) -> None:
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(store.StoreError, match="newer"):
        store.connect(db)


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[5])
    from stridewatch.store import database as store
    db, tag, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.001)
    conn = store.connect(db)          # both processes may create and migrate the file
    for i in range(n):
        session = {"schema": "stridewatch.session/1", "source": f"{tag}-{i}.csv",
                   "duration_s": 60.0, "walking_s": 50.0, "steps": 90,
                   "bouts": [{"start_s": 5.0, "end_s": 55.0, "steps": 90}] * 3,
                   "flags": [{"rule": "short-walk", "value": 0.8, "threshold": 5.0}]}
        store.save_session(conn, session, patient_id=tag)
        if i % 10 == 0:
            store.list_sessions(conn, patient_id=tag)    # a report reading meanwhile
    conn.close()
    print("done", tag)
""")


def test_two_processes_write_at_once(db: Path, tmp_path: Path) -> None:
    n = 60
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag, str(n), str(go),
                          str(ROOT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for tag in ("recorder", "reporter")
    ]
    time.sleep(0.3)  # let both interpreters start and wait on the go file
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("done")

    conn = store.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for tag in ("recorder", "reporter"):
        sources = [s.source for s in store.list_sessions(conn, patient_id=tag)]
        assert sorted(sources) == sorted(f"{tag}-{i}.csv" for i in range(n))
    assert conn.execute("SELECT COUNT(*) FROM bouts").fetchone()[0] == 2 * n * 3
    assert conn.execute("SELECT COUNT(*) FROM flags").fetchone()[0] == 2 * n
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 3
    conn.close()
