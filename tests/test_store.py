"""Session store on SQLite and PostgreSQL: round trip, sessions stored once, walking-plan
weekly totals, rules versions, migrations from the pre-Alembic store, 20 concurrent writer
processes."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from stridewatch.store import database as store
from stridewatch.store import engine, schema
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
def db(tmp_path: Path):
    path = tmp_path / "store.sqlite3"
    yield path
    engine.close(path)


def rows(db, sql: str, **params) -> list[tuple]:
    with store.connect(db).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def test_default_path_is_in_user_data_dir(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setattr(engine.platformdirs, "user_data_dir", lambda app: str(tmp_path / app))
    monkeypatch.delenv(engine.ENV_VAR, raising=False)
    assert store.default_db_path() == tmp_path / "stridewatch" / "sessions.sqlite3"
    store.connect()
    assert (tmp_path / "stridewatch" / "sessions.sqlite3").exists()
    engine.close()


def test_store_is_chosen_by_option_then_environment(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    import argparse

    from stridewatch.store.filing import db_path

    monkeypatch.setenv(engine.ENV_VAR, "postgresql://clinic:secret@db.example:5432/sw")
    assert db_path(argparse.Namespace(db=None)) == "postgresql://clinic:secret@db.example:5432/sw"
    url = engine.store_url(db_path(argparse.Namespace(db=None)))
    assert url.drivername == "postgresql+psycopg" and url.database == "sw"
    assert "secret" not in store.describe("postgresql://clinic:secret@db.example:5432/sw")
    assert db_path(argparse.Namespace(db=str(tmp_path / "a.db"))) == str(tmp_path / "a.db")
    assert store.describe(tmp_path / "a.db") == str(tmp_path / "a.db")
    with pytest.raises(store.StoreError, match="unsupported"):
        engine.store_url("mysql://x/y")


def test_migration_head_matches_the_schema_module() -> None:
    assert engine.head_revision() == schema.HEAD_REVISION


def test_save_and_read_back_a_session(store_db: str) -> None:
    session = make_session(source="walk-a.csv")
    sid = store.save_session(store_db, session, patient_id="p1",
                             trace_path="/data/walk-a.swtrace",
                             session_date=datetime(2025, 3, 4, 9, 30))
    [row] = store.list_sessions(store_db)
    assert row.id == sid
    assert row.patient_id == "p1"
    assert row.source == "walk-a.csv" and row.source_name == "walk-a.csv"
    assert row.trace_path == "/data/walk-a.swtrace"
    assert row.started_at == datetime(2025, 3, 4, 9, 30)  # local time, as given
    assert row.recorded_at_utc == datetime(2025, 3, 4, 9, 30).astimezone(UTC)
    assert row.session_date == date(2025, 3, 4)
    assert row.clock == "given"
    assert row.walking_s == 510.0
    assert row.steps == session["steps"]
    assert row.cadence_spm == session["cadence_spm"]
    assert row.sagittal_deg_median == 4.0
    assert row.frontal_deg_median == 1.5
    assert row.step_time_si_pct == 7.5
    assert row.lean_reference == "calibrated"
    assert store.load_session(store_db, sid) == session
    assert store.get_session(store_db, sid) == row
    assert store.get_session(store_db, sid + 1) is None

    bouts = rows(store_db, "SELECT start_s, end_s, steps, step_time_si_pct FROM bouts "
                 "WHERE session_id = :s ORDER BY idx", s=sid)
    flags = rows(store_db, "SELECT rule, start_s, end_s, value, threshold FROM flags "
                 "WHERE session_id = :s ORDER BY idx", s=sid)
    assert bouts == [(b["start_s"], b["end_s"], b["steps"], b["step_time_si_pct"])
                     for b in session["bouts"]]
    assert flags == [("forward-lean", 400.0, 460.0, 13.0, 10.0),
                     ("uneven-steps", 360.0, 570.0, 12.0, 10.0)]


def test_sqlite_store_runs_in_wal_mode_with_a_busy_timeout(db: Path) -> None:
    store.connect(db)
    with store.connect(db).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == store.BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_list_filters_by_patient_and_date(store_db: str) -> None:
    for day, patient in [(1, "a"), (2, "b"), (3, "a"), (10, "a")]:
        store.save_session(store_db, walk(10), patient_id=patient,
                           session_date=date(2025, 5, day))
    days = [s.session_date.day for s in store.list_sessions(store_db, patient_id="a")]
    assert days == [1, 3, 10]
    assert [s.session_date.day for s in store.list_sessions(
        store_db, patient_id="a", since=date(2025, 5, 3))] == [3, 10]
    assert [s.session_date.day for s in store.list_sessions(
        store_db, since=date(2025, 5, 2), until=date(2025, 5, 3))] == [2, 3]
    trend = store.session_trends(store_db, patient_id="b")
    assert [(t.session_date, t.cadence_spm, t.walking_min) for t in trend] == [
        (date(2025, 5, 2), 105.0, 10.0)]


def test_a_recording_saved_again_updates_its_one_session(store_db: str) -> None:
    first = walk(10)
    saved = store.store_session(store_db, first, patient_id="042",
                                recorded_at=datetime(2025, 1, 6, 9, 0, tzinfo=UTC),
                                clock="device", content_sha256="aa" * 32, device="H10 X")
    assert saved.created
    again = walk(12) | {"source": "copy/walk.csv", "rules_version": "v2",
                        "bouts": walk(12)["bouts"] * 2}
    # saved again: later, without a patient, dated by a weaker clock (the file)
    resaved = store.store_session(store_db, again,
                                  recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
                                  clock="file", content_sha256="aa" * 32, device="H10 X")
    assert resaved == store.SavedSession(saved.id, created=False)
    [row] = store.list_sessions(store_db)
    assert row.patient_id == "042"  # kept: saving without a patient does not unfile it
    assert row.walking_s == 12 * 60 and row.source == "copy/walk.csv"
    assert row.rules_version == "v2"
    assert row.recorded_at_utc == datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # device clock kept
    assert store.load_session(store_db, row.id) == again
    assert rows(store_db, "SELECT COUNT(*) FROM bouts") == [(2,)]  # replaced, not added
    # another device with the same bytes is another recording
    other = store.store_session(store_db, first, content_sha256="aa" * 32, device="H10 Y")
    assert other.created
    # a date the user gives corrects the time; a patient given moves it
    store.store_session(store_db, first, patient_id="043", recorded_at=date(2025, 2, 3),
                        content_sha256="aa" * 32, device="H10 X")
    row = store.get_session(store_db, saved.id)
    assert row is not None
    assert (row.patient_id, row.session_date, row.clock) == ("043", date(2025, 2, 3), "given")
    assert len(store.list_sessions(store_db)) == 2


def test_delete_and_move_sessions(store_db: str) -> None:
    ids = [store.save_session(store_db, walk(m), patient_id="42",
                              session_date=date(2025, 4, d))
           for d, m in ((1, 6), (2, 7), (3, 8))]
    assert store.move_session(store_db, [ids[0], ids[2]], "042") == 2
    assert [s.id for s in store.list_sessions(store_db, patient_id="042")] == [ids[0], ids[2]]
    assert store.delete_session(store_db, [ids[0], 999]) == 1
    assert [s.id for s in store.list_sessions(store_db)] == ids[1:]
    assert rows(store_db, "SELECT session_id FROM bouts ORDER BY session_id") == [
        (ids[1],), (ids[2],)]
    assert store.known_patients(store_db) == ["042", "42"]


def test_similar_patient_ids(db: Path) -> None:
    for patient in ("042", "P-17", "abc", "1042"):
        store.save_session(db, walk(5), patient_id=patient)
    assert store.similar_patients(db, "42")[:2] == ["042", "1042"]
    assert store.similar_patients(db, "p-17") == ["P-17"]
    assert store.similar_patients(db, "zzz") == []


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
    conn = db
    for day, minutes in HISTORY:
        store.save_session(conn, walk(minutes), patient_id="pat",
                           session_date=datetime.combine(day, datetime.min.time())
                           + timedelta(hours=10))
    # another patient's walks must not count
    store.save_session(conn, walk(40), patient_id="other", session_date=date(2025, 1, 14))
    weeks = store.weekly_totals(conn, patient_id="pat")

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
    conn = db
    for day, minutes in HISTORY:
        store.save_session(conn, walk(minutes), patient_id="pat", session_date=day)
    weeks = store.weekly_totals(conn, patient_id="pat", since=date(2025, 2, 1))
    # W05 (27 Jan - 2 Feb) overlaps since; targets still reflect the weeks before it
    assert [(w.label, w.target_walk_min) for w in weeks] == [("2025-W05", 15.0),
                                                             ("2025-W06", 15.0)]


def test_plan_builds_up_from_5_to_30_minutes_and_holds(db: Path) -> None:
    conn = db
    start = date(2025, 3, 3)  # a Monday
    targets = [5, 10, 15, 20, 25, 30, 30, 30]
    for week, target in enumerate(targets):
        for day in (0, 2, 4):  # three walks a week, each exactly at the target
            store.save_session(conn, walk(target), session_date=start + timedelta(
                weeks=week, days=day))
    weeks = store.weekly_totals(conn)
    assert [w.target_walk_min for w in weeks] == targets
    assert all(w.met for w in weeks)
    assert weeks[-1].longest_walk_min == 30


def test_plan_every_week_mode_and_empty_store(db: Path) -> None:
    assert store.weekly_totals(db) == []
    sessions = [walk(3)]
    conn = db
    store.save_session(conn, sessions[0], session_date=date(2025, 6, 2))
    weeks = store.weekly_totals(conn, until=date(2025, 6, 30),
                                plan=WalkingPlan(advance_only_when_met=False))
    assert [w.target_walk_min for w in weeks] == [5, 10, 15, 20, 25]
    assert [w.met for w in weeks] == [False] * 5
    assert weeks[0].walks == 0 and weeks[0].sessions == 1  # 3 min is below a walk


def test_iso_weeks_across_new_year(db: Path) -> None:
    conn = db
    for day in (date(2025, 12, 28), date(2025, 12, 29), date(2026, 1, 1), date(2026, 1, 4)):
        store.save_session(conn, walk(6), session_date=day)
    weeks = store.weekly_totals(conn)
    # Sun 28 Dec 2025 is in 2025-W52; Mon 29 Dec 2025 to Sun 4 Jan 2026 is 2026-W01
    assert [(w.label, w.walks) for w in weeks] == [("2025-W52", 1), ("2026-W01", 3)]


def test_patient_rules_are_versioned(store_db: str) -> None:
    assert store.get_patient_rules(store_db, "p7") is None
    assert store.set_patient_rules(store_db, "p7", "[forward-lean]\nenabled = false\n") == 1
    assert store.set_patient_rules(store_db, "p7", "[forward-lean]\nenabled = false\n") == 1
    assert store.set_patient_rules(store_db, "p7", "[slow-pace]\nthreshold_spm = 90\n") == 2
    rules = store.get_patient_rules(store_db, "p7")
    assert rules is not None
    assert (rules.version, rules.toml_text) == (2, "[slow-pace]\nthreshold_spm = 90\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        store.set_patient_rules(store_db, "p7", "[broken")
    assert store.get_patient_rules(store_db, "p7").version == 2  # type: ignore[union-attr]
    sid = store.save_session(store_db, walk(8), patient_id="p7", session_date=date(2025, 1, 1))
    plain = store.save_session(store_db, walk(8), patient_id="p8", session_date=date(2025, 1, 1))
    versions = {s.id: s.rules_version for s in store.list_sessions(store_db)}
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


def make_v1(db: Path, session_json: str, steps: int) -> None:
    raw = sqlite3.connect(db)
    raw.executescript(V1_SCHEMA)
    raw.execute("INSERT INTO patients (id, rules_toml, rules_version, created_at) "
                "VALUES ('042', '[slow-pace]\nthreshold_spm = 90\n', 1, '2025-01-01T00:00:00')")
    raw.execute(
        "INSERT INTO sessions (patient_id, source, session_date, started_at, analyzed_at,"
        " walking_s, steps, session_json) VALUES ('042', 'old.csv', '2025-01-02',"
        " '2025-01-02T08:00:00', '2025-01-02T08:05:00', 510, ?, ?)",
        (steps, session_json),
    )
    raw.commit()
    raw.close()


def test_migrates_a_version_1_database(db: Path) -> None:
    session = make_session()
    make_v1(db, json.dumps(session), session["steps"])

    store.connect(db)
    assert rows(db, "SELECT version_num FROM alembic_version") == [(schema.HEAD_REVISION,)]
    assert rows(db, "PRAGMA user_version") == [(engine.ADOPTED_USER_VERSION,)]
    assert rows(db, "SELECT version FROM schema_version ORDER BY version") == [(1,), (2,)]
    bouts = rows(db, "SELECT idx, start_s, end_s, steps, cadence_spm FROM bouts ORDER BY idx")
    assert bouts == [(i, b["start_s"], b["end_s"], b["steps"], b["cadence_spm"])
                     for i, b in enumerate(session["bouts"])]
    flags = rows(db, "SELECT rule, value, threshold, message FROM flags ORDER BY idx")
    assert flags == [(f["rule"], f["value"], f["threshold"], f["message"])
                     for f in session["flags"]]
    [old] = store.list_sessions(db)
    # the old local start time is kept, now also as UTC
    assert old.started_at == datetime(2025, 1, 2, 8, 0) and old.clock == "local"
    assert old.recorded_at_utc == datetime(2025, 1, 2, 8, 0).astimezone(UTC)
    assert store.load_session(db, old.id) == session
    assert store.get_patient_rules(db, "042").version == 1  # type: ignore[union-attr]
    # the upgraded store takes new sessions next to the old one
    store.save_session(db, walk(12), session_date=date(2025, 1, 3))
    assert [s.source for s in store.list_sessions(db)] == ["old.csv", "walk-12min.csv"]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    # an older stridewatch (which knows user_version up to 3) now refuses the file
    assert engine.ADOPTED_USER_VERSION > 3


def test_migrates_a_version_2_database_without_backfilling_twice(db: Path) -> None:
    session = make_session()
    make_v1(db, json.dumps(session), session["steps"])
    raw = sqlite3.connect(db)
    raw.execute("BEGIN")
    from stridewatch.store import legacy

    for statement in legacy._V2_STATEMENTS:
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()
    store.connect(db)
    assert len(rows(db, "SELECT * FROM bouts")) == len(session["bouts"])
    assert rows(db, "SELECT version FROM schema_version ORDER BY version") == [(1,)]


# what version 3 (the last pre-Alembic release) added: lean references, without an id
V3_LEAN_REFERENCES = """
CREATE TABLE lean_references (patient_id TEXT NOT NULL, device TEXT NOT NULL,
    gravity_x_g REAL NOT NULL, gravity_y_g REAL NOT NULL, gravity_z_g REAL NOT NULL,
    segment_start_s REAL, segment_end_s REAL, source TEXT, created_at TEXT NOT NULL);
CREATE INDEX lean_references_by_wearer ON lean_references(patient_id, device);
"""


def test_migrates_a_version_3_database_keeping_its_lean_references(db: Path) -> None:
    from stridewatch.store import legacy
    from stridewatch.store.lean_references import get_lean_reference, save_lean_reference

    session = make_session()
    make_v1(db, json.dumps(session), session["steps"])
    raw = sqlite3.connect(db)
    for statement in legacy._V2_STATEMENTS:
        raw.execute(statement)
    raw.executescript(V3_LEAN_REFERENCES)
    for k, created in enumerate(("2025-01-01T08:00:00", "2025-01-02T08:00:00")):
        raw.execute("INSERT INTO lean_references VALUES ('042', 'H10', 0.1, ?, 0.99, 2, 12,"
                    " 'calibrate walk.csv', ?)", (0.01 * k, created))
    raw.execute("PRAGMA user_version = 3")
    raw.commit()
    raw.close()
    store.connect(db)
    assert rows(db, "SELECT id, gravity_y_g FROM lean_references ORDER BY id") == [
        (1, 0.0), (2, 0.01)]
    newest = get_lean_reference(db, "042", "H10")
    assert newest is not None and newest.gravity_g == (0.1, 0.01, 0.99)
    assert newest.segment_s == (2.0, 12.0)
    save_lean_reference(db, "042", "H10", [0.0, 0.0, 1.0], None, "record x")
    assert get_lean_reference(db, "042", "H10").gravity_g == (0.0, 0.0, 1.0)  # type: ignore
    assert len(store.list_sessions(db)) == 1


def test_failed_migration_leaves_the_database_as_it_was(db: Path) -> None:
    make_v1(db, "{not json", 5)  # the backfill of bouts cannot read this session
    with pytest.raises(sa.exc.OperationalError, match="malformed JSON"):
        store.connect(db)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"schema_version", "patients", "sessions"}
    assert raw.execute("SELECT source, session_json FROM sessions").fetchall() == [
        ("old.csv", "{not json")]
    raw.close()


def test_refuses_a_database_from_a_newer_release(tmp_path: Path, store_db: str) -> None:
    db = tmp_path / "newer-release.sqlite3"
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA user_version = 99")
    raw.execute("CREATE TABLE sessions (id INTEGER)")
    raw.close()
    with pytest.raises(store.StoreError, match="newer"):
        store.connect(db)
    store.connect(store_db)
    with store.connect(store_db).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.close(store_db)
    with pytest.raises(store.StoreError, match="newer"):
        store.connect(store_db)
    with store.connect(store_db, migrate=False).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                     {"v": schema.HEAD_REVISION})


WRITERS = 20
OWN = 4  # sessions only this writer records
SHARED = 3  # recordings every writer saves (the same walk filed from 20 places)


def _writer(db: str, tag: str, go, done) -> None:  # runs in a forked process
    go.wait()
    for i in range(OWN):
        session = {"schema": "stridewatch.session/1", "source": f"{tag}-{i}.csv",
                   "duration_s": 60.0, "walking_s": 50.0, "steps": 90,
                   "bouts": [{"start_s": 5.0, "end_s": 55.0, "steps": 90}] * 3,
                   "flags": [{"rule": "short-walk", "value": 0.8, "threshold": 5.0}]}
        store.store_session(db, session, patient_id=tag, content_sha256=f"{tag}-{i}",
                            device="dev")
        shared = dict(session, source=f"shared-{i % SHARED}.csv")
        store.store_session(db, shared, patient_id=tag,
                            content_sha256=f"shared-{i % SHARED}", device="dev")
        store.list_sessions(db, patient_id=tag)  # a report reading meanwhile
    done.put(tag)


def test_concurrent_writer_processes_lose_and_duplicate_nothing(store_db: str) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # no re-import per process: fast and light
    go, done = ctx.Event(), ctx.Queue()
    tags = [f"w{k:02d}" for k in range(WRITERS)]
    procs = [ctx.Process(target=_writer, args=(store_db, tag, go, done)) for tag in tags]
    for proc in procs:
        proc.start()
    go.set()  # all of them open (and migrate) the new store at once
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    assert sorted(done.get(timeout=5) for _ in tags) == tags

    sessions = store.list_sessions(store_db)
    sources = sorted(s.source for s in sessions)
    expected = sorted([f"{t}-{i}.csv" for t in tags for i in range(OWN)]
                      + [f"shared-{k}.csv" for k in range(SHARED)])
    assert sources == expected  # nothing lost, nothing twice
    assert rows(store_db, "SELECT COUNT(*) FROM bouts") == [(3 * len(expected),)]
    assert rows(store_db, "SELECT COUNT(*) FROM flags") == [(len(expected),)]
    assert rows(store_db, "SELECT version_num FROM alembic_version") == [
        (schema.HEAD_REVISION,)]
