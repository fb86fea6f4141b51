"""Local SQLite store of analysed walks: session history, per-patient rules, weekly plan totals.

One database file (default: ``platformdirs.user_data_dir("stridewatch")/sessions.sqlite3``)
holds every analysed session as its full ``stridewatch.session/1`` JSON plus the scalar
columns, bouts and flags that history pages query.

Concurrency: the database runs in WAL mode with a busy timeout, and every write is one
``BEGIN IMMEDIATE`` transaction, so a recording and a report writing at the same time wait
for each other instead of failing or corrupting the file. Readers never block writers.

Schema changes are versioned migrations (``MIGRATIONS``), applied in order, each inside its
own transaction together with the ``PRAGMA user_version`` bump and a ``schema_version`` row.
Released migrations are never edited; a change is a new migration appended to the list.

Units: durations in seconds (``*_s``) or minutes (``*_min``), cadence in steps/min, lean
angles in degrees relative to the upright reference (sagittal: positive = forward), step-time
symmetry index in percent. Dates are the wearer's local calendar dates.
"""

from __future__ import annotations

import json
import sqlite3
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs

from analysis.rules import WalkingPlan

DB_FILENAME = "sessions.sqlite3"
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Migration:
    """One schema step: SQL statements run in order inside a single transaction."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "patients and sessions",
        (
            """CREATE TABLE schema_version (
                version     INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            )""",
            """CREATE TABLE patients (
                id               TEXT PRIMARY KEY,
                rules_toml       TEXT,
                rules_version    INTEGER NOT NULL DEFAULT 0,
                rules_updated_at TEXT,
                created_at       TEXT NOT NULL
            )""",
            """CREATE TABLE sessions (
                id                  INTEGER PRIMARY KEY,
                patient_id          TEXT REFERENCES patients(id),
                source              TEXT,
                trace_path          TEXT,
                session_date        TEXT NOT NULL,
                started_at          TEXT NOT NULL,
                analyzed_at         TEXT NOT NULL,
                duration_s          REAL,
                walking_s           REAL,
                steps               INTEGER,
                cadence_spm         REAL,
                sagittal_deg_median REAL,
                frontal_deg_median  REAL,
                sagittal_deg_p95    REAL,
                step_time_si_pct    REAL,
                lean_reference      TEXT,
                rules_version       TEXT,
                session_json        TEXT NOT NULL
            )""",
            "CREATE INDEX sessions_by_patient_date ON sessions(patient_id, session_date)",
        ),
    ),
    Migration(
        2,
        "bouts and flags tables, backfilled from stored session JSON",
        (
            """CREATE TABLE bouts (
                session_id       INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                idx              INTEGER NOT NULL,
                start_s          REAL NOT NULL,
                end_s            REAL NOT NULL,
                steps            INTEGER,
                cadence_spm      REAL,
                step_time_si_pct REAL,
                PRIMARY KEY (session_id, idx)
            )""",
            """CREATE TABLE flags (
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                idx        INTEGER NOT NULL,
                rule       TEXT NOT NULL,
                start_s    REAL,
                end_s      REAL,
                value      REAL,
                threshold  REAL,
                message    TEXT,
                PRIMARY KEY (session_id, idx)
            )""",
            "CREATE INDEX flags_by_rule ON flags(rule)",
            """INSERT INTO bouts (session_id, idx, start_s, end_s, steps, cadence_spm,
                                  step_time_si_pct)
               SELECT s.id, CAST(b.key AS INTEGER),
                      json_extract(b.value, '$.start_s'), json_extract(b.value, '$.end_s'),
                      json_extract(b.value, '$.steps'), json_extract(b.value, '$.cadence_spm'),
                      json_extract(b.value, '$.step_time_si_pct')
               FROM sessions AS s, json_each(s.session_json, '$.bouts') AS b""",
            """INSERT INTO flags (session_id, idx, rule, start_s, end_s, value, threshold,
                                  message)
               SELECT s.id, CAST(f.key AS INTEGER),
                      json_extract(f.value, '$.rule'), json_extract(f.value, '$.start_s'),
                      json_extract(f.value, '$.end_s'), json_extract(f.value, '$.value'),
                      json_extract(f.value, '$.threshold'), json_extract(f.value, '$.message')
               FROM sessions AS s, json_each(s.session_json, '$.flags') AS f""",
        ),
    ),
    # lean references per patient and sensor (issue 9; read and written by
    # stridewatch.store.lean_references)
    Migration(
        3,
        "lean_references: standing gravity per patient and device",
        (
            """CREATE TABLE lean_references (
                patient_id      TEXT NOT NULL,
                device          TEXT NOT NULL,
                gravity_x_g     REAL NOT NULL,
                gravity_y_g     REAL NOT NULL,
                gravity_z_g     REAL NOT NULL,
                segment_start_s REAL,
                segment_end_s   REAL,
                source          TEXT,
                created_at      TEXT NOT NULL
            )""",
            "CREATE INDEX lean_references_by_wearer ON lean_references(patient_id, device)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

DbLike = sqlite3.Connection | str | Path | None


class StoreError(RuntimeError):
    """The database cannot be used (e.g. written by a newer stridewatch)."""


@dataclass(frozen=True)
class PatientRules:
    patient_id: str
    toml_text: str
    version: int
    updated_at: str


@dataclass(frozen=True)
class StoredSession:
    """One row of session history (the full JSON is read with ``load_session``)."""

    id: int
    patient_id: str | None
    source: str | None
    trace_path: str | None
    session_date: date
    started_at: datetime
    analyzed_at: datetime
    duration_s: float | None
    walking_s: float | None
    steps: int | None
    cadence_spm: float | None
    sagittal_deg_median: float | None
    frontal_deg_median: float | None
    sagittal_deg_p95: float | None
    step_time_si_pct: float | None
    lean_reference: str | None
    rules_version: str | None

    @property
    def walking_min(self) -> float:
        return (self.walking_s or 0.0) / 60.0


@dataclass(frozen=True)
class WeekTotal:
    """Walking done in one ISO week, against the plan's target for that week."""

    iso_year: int
    iso_week: int
    week_start: date  # Monday
    sessions: int  # recordings that week, whatever their length
    walks: int  # recordings with walking >= min_walk_min
    minutes: float  # walking minutes of all recordings that week
    longest_walk_min: float
    target_walk_min: float  # plan target per walk this week
    target_walks: int
    walks_at_target: int
    met: bool
    min_walk_min: float = WalkingPlan.min_walk_min  # the plan's shortest counted walk

    @property
    def label(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"


@dataclass(frozen=True)
class TrendPoint:
    """Per-session gait and posture summary for trend plots."""

    session_id: int
    session_date: date
    started_at: datetime
    walking_min: float
    cadence_spm: float | None
    sagittal_deg_median: float | None
    frontal_deg_median: float | None
    sagittal_deg_p95: float | None
    step_time_si_pct: float | None
    lean_reference: str | None


# --------------------------------------------------------------------------- connection


def default_db_path() -> Path:
    """``<user data dir>/stridewatch/sessions.sqlite3`` (the directory is not created here)."""
    return Path(platformdirs.user_data_dir("stridewatch")) / DB_FILENAME


def connect(db_path: str | Path | None = None, *, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the store and bring its schema up to ``LATEST_VERSION``.

    The connection is in autocommit mode; this module opens explicit transactions.
    """
    path = Path(db_path) if db_path is not None else default_db_path()
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
        check_same_thread=False,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _enable_wal(conn)
        if mode not in ("wal", "memory"):
            raise StoreError(f"could not switch {path} to WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if migrate:
            apply_migrations(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _enable_wal(conn: sqlite3.Connection) -> str:
    """Switch to WAL (persistent in the file) and return the journal mode now in force.

    Switching needs an exclusive lock, and SQLite reports "database is locked" for it without
    calling the busy handler when another connection opens the new file at the same moment,
    so this retries until the busy timeout runs out.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay_s = 0.002
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return "wal"
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, 0.05)


@contextmanager
def _connection(db: DbLike) -> Iterator[sqlite3.Connection]:
    if isinstance(db, sqlite3.Connection):
        yield db
        return
    conn = connect(db)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction. IMMEDIATE takes the write lock up front, so a concurrent writer
    waits in the busy handler instead of failing on a read-to-write lock upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    target: int | None = None,
) -> int:
    """Apply every migration above the database's version up to ``target`` (default: last).

    Each step runs in its own transaction with the version bump, so a failing step leaves the
    database at the previous version. Safe when several processes open a new file at once:
    the version is re-read after taking the write lock. Returns the resulting version.
    """
    latest = migrations[-1].version if migrations else 0
    target = latest if target is None else target
    current = schema_version(conn)
    if current > latest:
        raise StoreError(
            f"database schema version {current} is newer than this stridewatch supports "
            f"({latest}); upgrade stridewatch instead of opening it with an older version"
        )
    for migration in migrations:
        if migration.version > target:
            break
        if migration.version <= current:
            continue
        with _write(conn):
            current = schema_version(conn)  # another process may have migrated meanwhile
            if migration.version <= current:
                continue
            if migration.version != current + 1:
                raise StoreError(
                    f"migration {migration.version} cannot follow schema version {current}"
                )
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?,?,?)",
                (migration.version, migration.description, _now_iso()),
            )
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            current = migration.version
    return schema_version(conn)


# --------------------------------------------------------------------------- patients


def set_patient_rules(db: DbLike, patient_id: str, toml_text: str) -> int:
    """Store a patient's rules (TOML text, checked to parse) and return the new rules version.

    The version starts at 1 and goes up by one each time the text changes; storing the same
    text again keeps the version.
    """
    if not patient_id:
        raise ValueError("patient_id must be a non-empty string")
    try:
        tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"rules for patient {patient_id!r} are not valid TOML: {exc}") from exc
    with _connection(db) as conn, _write(conn):
        row = conn.execute(
            "SELECT rules_toml, rules_version FROM patients WHERE id = ?", (patient_id,)
        ).fetchone()
        now = _now_iso()
        if row is None:
            conn.execute(
                "INSERT INTO patients (id, rules_toml, rules_version, rules_updated_at,"
                " created_at) VALUES (?,?,?,?,?)",
                (patient_id, toml_text, 1, now, now),
            )
            return 1
        if row[0] == toml_text:
            return int(row[1])
        version = int(row[1]) + 1
        conn.execute(
            "UPDATE patients SET rules_toml = ?, rules_version = ?, rules_updated_at = ?"
            " WHERE id = ?",
            (toml_text, version, now, patient_id),
        )
        return version


def get_patient_rules(db: DbLike, patient_id: str) -> PatientRules | None:
    """The patient's current rules, or None when none were set."""
    with _connection(db) as conn:
        row = conn.execute(
            "SELECT rules_toml, rules_version, rules_updated_at FROM patients WHERE id = ?",
            (patient_id,),
        ).fetchone()
    if row is None or row[0] is None:
        return None
    return PatientRules(patient_id, row[0], int(row[1]), row[2])


# --------------------------------------------------------------------------- sessions


def save_session(
    db: DbLike,
    session_dict: Mapping[str, Any],
    patient_id: str | None = None,
    trace_path: str | Path | None = None,
    session_date: date | datetime | None = None,
    *,
    rules_version: str | None = None,
) -> int:
    """Store one analysed session (``stridewatch.session/1`` dict); return its id.

    ``session_date``: when the walk was recorded (a date, or a datetime; an aware datetime
    is converted to local time). Defaults to now. ``rules_version``: defaults to the session's
    own ``rules_version``, else the patient's stored rules version (``"patient-v<N>"``).
    """
    if rules_version is None:
        rules_version = _opt_str(session_dict.get("rules_version"))
    started = _as_local_datetime(session_date) if session_date is not None else datetime.now()
    started = started.replace(microsecond=0)
    lean = _mapping(session_dict.get("lean"))
    asym = _mapping(session_dict.get("asymmetry"))
    payload = json.dumps(session_dict, allow_nan=False, separators=(",", ":"))
    with _connection(db) as conn, _write(conn):
        if patient_id is not None:
            conn.execute(
                "INSERT OR IGNORE INTO patients (id, created_at) VALUES (?, ?)",
                (patient_id, _now_iso()),
            )
            if rules_version is None:
                row = conn.execute(
                    "SELECT rules_version FROM patients WHERE id = ? AND rules_toml IS NOT NULL",
                    (patient_id,),
                ).fetchone()
                if row is not None:
                    rules_version = f"patient-v{row[0]}"
        cur = conn.execute(
            """INSERT INTO sessions (patient_id, source, trace_path, session_date, started_at,
                   analyzed_at, duration_s, walking_s, steps, cadence_spm, sagittal_deg_median,
                   frontal_deg_median, sagittal_deg_p95, step_time_si_pct, lean_reference,
                   rules_version, session_json)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                patient_id,
                _opt_str(session_dict.get("source")),
                str(trace_path) if trace_path is not None else None,
                started.date().isoformat(),
                started.isoformat(),
                _now_iso(),
                _opt_float(session_dict.get("duration_s")),
                _opt_float(session_dict.get("walking_s")),
                _opt_int(session_dict.get("steps")),
                _opt_float(session_dict.get("cadence_spm")),
                _opt_float(lean.get("sagittal_deg_median")),
                _opt_float(lean.get("frontal_deg_median")),
                _opt_float(lean.get("sagittal_deg_p95")),
                _opt_float(asym.get("step_time_si_pct")),
                _opt_str(lean.get("reference")),
                rules_version,
                payload,
            ),
        )
        session_id = int(cur.lastrowid)
        conn.executemany(
            "INSERT INTO bouts (session_id, idx, start_s, end_s, steps, cadence_spm,"
            " step_time_si_pct) VALUES (?,?,?,?,?,?,?)",
            [
                (
                    session_id, i, float(b["start_s"]), float(b["end_s"]),
                    _opt_int(b.get("steps")), _opt_float(b.get("cadence_spm")),
                    _opt_float(b.get("step_time_si_pct")),
                )
                for i, b in enumerate(session_dict.get("bouts") or [])
            ],
        )
        conn.executemany(
            "INSERT INTO flags (session_id, idx, rule, start_s, end_s, value, threshold,"
            " message) VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    session_id, i, str(f["rule"]), _opt_float(f.get("start_s")),
                    _opt_float(f.get("end_s")), _opt_float(f.get("value")),
                    _opt_float(f.get("threshold")), _opt_str(f.get("message")),
                )
                for i, f in enumerate(session_dict.get("flags") or [])
            ],
        )
    return session_id


def load_session(db: DbLike, session_id: int) -> dict[str, Any]:
    """The full session JSON as stored."""
    with _connection(db) as conn:
        row = conn.execute(
            "SELECT session_json FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    if row is None:
        raise KeyError(f"no session with id {session_id}")
    return json.loads(row[0])


_SESSION_COLUMNS = (
    "id, patient_id, source, trace_path, session_date, started_at, analyzed_at, duration_s,"
    " walking_s, steps, cadence_spm, sagittal_deg_median, frontal_deg_median,"
    " sagittal_deg_p95, step_time_si_pct, lean_reference, rules_version"
)


def list_sessions(
    db: DbLike,
    patient_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[StoredSession]:
    """Sessions in recording order, optionally for one patient and a date range (inclusive)."""
    where: list[str] = []
    args: list[Any] = []
    if patient_id is not None:
        where.append("patient_id = ?")
        args.append(patient_id)
    if since is not None:
        where.append("session_date >= ?")
        args.append(since.isoformat())
    if until is not None:
        where.append("session_date <= ?")
        args.append(until.isoformat())
    sql = f"SELECT {_SESSION_COLUMNS} FROM sessions"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started_at, id"
    with _connection(db) as conn:
        rows = conn.execute(sql, args).fetchall()
    return [
        StoredSession(
            id=r[0], patient_id=r[1], source=r[2], trace_path=r[3],
            session_date=date.fromisoformat(r[4]),
            started_at=datetime.fromisoformat(r[5]), analyzed_at=datetime.fromisoformat(r[6]),
            duration_s=r[7], walking_s=r[8], steps=r[9], cadence_spm=r[10],
            sagittal_deg_median=r[11], frontal_deg_median=r[12], sagittal_deg_p95=r[13],
            step_time_si_pct=r[14], lean_reference=r[15], rules_version=r[16],
        )
        for r in rows
    ]


def session_trends(
    db: DbLike, patient_id: str | None = None, since: date | None = None
) -> list[TrendPoint]:
    """Cadence, lean and asymmetry per session, oldest first."""
    return [
        TrendPoint(
            session_id=s.id, session_date=s.session_date, started_at=s.started_at,
            walking_min=s.walking_min, cadence_spm=s.cadence_spm,
            sagittal_deg_median=s.sagittal_deg_median,
            frontal_deg_median=s.frontal_deg_median, sagittal_deg_p95=s.sagittal_deg_p95,
            step_time_si_pct=s.step_time_si_pct, lean_reference=s.lean_reference,
        )
        for s in list_sessions(db, patient_id=patient_id, since=since)
    ]


# --------------------------------------------------------------------------- walking plan


def weekly_totals(
    db: DbLike,
    patient_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    plan: WalkingPlan | None = None,
    plan_start: date | None = None,
) -> list[WeekTotal]:
    """Per ISO week: walks, walking minutes, longest walk and the plan's target, met or not.

    The plan starts in the week of ``plan_start`` (default: the first stored session) and every
    week from there to ``until`` (default: the last session) is listed, empty weeks included,
    since the target of a week depends on the weeks before it. ``since`` only trims the output.
    """
    sessions = list_sessions(db, patient_id=patient_id)
    return plan_weeks(sessions, plan or WalkingPlan(), since=since, until=until,
                      plan_start=plan_start)


def plan_weeks(
    sessions: Sequence[StoredSession],
    plan: WalkingPlan,
    since: date | None = None,
    until: date | None = None,
    plan_start: date | None = None,
) -> list[WeekTotal]:
    """``weekly_totals`` on already loaded sessions."""
    if plan_start is None:
        if not sessions:
            return []
        plan_start = min(s.session_date for s in sessions)
    last = until or max((s.session_date for s in sessions), default=plan_start)
    by_week: dict[date, list[float]] = {}
    for s in sessions:
        if s.session_date >= _monday(plan_start) and s.session_date <= last:
            by_week.setdefault(_monday(s.session_date), []).append(s.walking_min)

    weeks: list[WeekTotal] = []
    target = plan.start_min
    monday = _monday(plan_start)
    eps = 1e-9
    while monday <= last:
        minutes = by_week.get(monday, [])
        walks = [m for m in minutes if m + eps >= plan.min_walk_min]
        at_target = sum(1 for m in walks if m + eps >= target)
        met = at_target >= plan.walks_per_week
        iso = monday.isocalendar()
        weeks.append(
            WeekTotal(
                iso_year=iso.year, iso_week=iso.week, week_start=monday,
                sessions=len(minutes), walks=len(walks), minutes=sum(minutes),
                longest_walk_min=max(minutes, default=0.0), target_walk_min=target,
                target_walks=plan.walks_per_week, walks_at_target=at_target, met=met,
                min_walk_min=plan.min_walk_min,
            )
        )
        if met or not plan.advance_only_when_met:
            target = min(plan.goal_min, target + plan.step_min)
        monday += timedelta(days=7)
    if since is not None:
        weeks = [w for w in weeks if w.week_start + timedelta(days=6) >= since]
    return weeks


# --------------------------------------------------------------------------- helpers


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _as_local_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone().replace(tzinfo=None)
        return value
    return datetime(value.year, value.month, value.day)


def _now_iso() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
