"""The session store: analysed walks, per-patient rules, weekly plan totals.

One store (a SQLite file by default, or a clinic's PostgreSQL; see ``stridewatch.store.engine``)
holds every analysed session as its full ``stridewatch.session/1`` JSON plus the scalar
columns, bouts and flags that history pages query.

Sessions are stored once: a session saved with its recording's identity (content SHA-256 plus
device, ``stridewatch.store.identity``) replaces the analysis of the session already stored
for that recording instead of adding one; the recording's start is kept in UTC and shown in
local time. Concurrent writers (processes or machines) never lose or duplicate a session: the
identity is a unique index and a save is one ``INSERT ... ON CONFLICT`` transaction.

Units: durations in seconds (``*_s``) or minutes (``*_min``), cadence in steps/min, lean
angles in degrees relative to the upright reference (sagittal: positive = forward), step-time
symmetry index in percent.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from analysis.rules import WalkingPlan
from stridewatch.store import schema
from stridewatch.store.clock import CLOCK_SOURCES, to_utc
from stridewatch.store.engine import (
    BUSY_TIMEOUT_MS,
    DB_FILENAME,
    ENV_VAR,
    DbLike,
    default_db_path,
    describe,
    open_engine,
    reading,
    store_url,
    upgrade,
    writing,
)
from stridewatch.store.errors import StoreError

__all__ = [
    "BUSY_TIMEOUT_MS", "DB_FILENAME", "ENV_VAR", "DbLike", "PatientRules", "SavedSession",
    "StoreError", "StoredSession", "TrendPoint", "WalkingPlan", "WeekTotal", "connect",
    "default_db_path", "delete_session", "describe", "get_patient_rules", "get_session",
    "known_patients", "list_sessions", "load_session", "move_session", "plan_weeks",
    "save_session", "session_trends", "set_patient_rules", "similar_patients", "store_session",
    "store_url", "upgrade", "weekly_totals",
]


@dataclass(frozen=True)
class PatientRules:
    patient_id: str
    toml_text: str
    version: int
    updated_at: str


@dataclass(frozen=True)
class StoredSession:
    """One row of session history (the full JSON is read with ``load_session``).

    ``recorded_at_utc``: when the recording started (aware, UTC); ``started_at`` and
    ``session_date`` are the same instant in this computer's local time (naive).
    ``clock``: where that time came from (``stridewatch.store.clock.CLOCK_SOURCES``).
    """

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
    recorded_at_utc: datetime | None = None
    clock: str | None = None
    content_sha256: str | None = None
    device: str = ""

    @property
    def walking_min(self) -> float:
        return (self.walking_s or 0.0) / 60.0

    @property
    def source_name(self) -> str:
        """The source file's name without its folder."""
        return Path(self.source).name if self.source else ""


@dataclass(frozen=True)
class SavedSession:
    """The outcome of a save: the session's id and whether it is new or an updated one."""

    id: int
    created: bool

    @property
    def verb(self) -> str:
        return "saved" if self.created else "updated"


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


def connect(db: DbLike = None, *, migrate: bool = True) -> Engine:
    """The store's engine (path, URL or None for ``STRIDEWATCH_DB`` / the default file),
    created if needed and migrated to the newest schema."""
    return open_engine(db, migrate=migrate)


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
    p = schema.patients
    with writing(connect(db)) as conn:
        _ensure_patient(conn, patient_id)
        row = conn.execute(
            sa.select(p.c.rules_toml, p.c.rules_version).where(p.c.id == patient_id)
            .with_for_update()
        ).one()
        if row.rules_toml == toml_text:
            return int(row.rules_version)
        version = int(row.rules_version) + 1
        conn.execute(p.update().where(p.c.id == patient_id).values(
            rules_toml=toml_text, rules_version=version, rules_updated_at=_now_local_iso()))
        return version


def get_patient_rules(db: DbLike, patient_id: str) -> PatientRules | None:
    """The patient's current rules, or None when none were set."""
    p = schema.patients
    with reading(connect(db)) as conn:
        row = conn.execute(
            sa.select(p.c.rules_toml, p.c.rules_version, p.c.rules_updated_at)
            .where(p.c.id == patient_id)
        ).first()
    if row is None or row.rules_toml is None:
        return None
    return PatientRules(patient_id, row.rules_toml, int(row.rules_version),
                        row.rules_updated_at)


def known_patients(db: DbLike) -> list[str]:
    """Every patient ID in the store (with sessions or stored rules), sorted."""
    p, s = schema.patients, schema.sessions
    with reading(connect(db)) as conn:
        ids = set(conn.execute(sa.select(p.c.id)).scalars())
        ids |= set(conn.execute(sa.select(s.c.patient_id).distinct()
                                .where(s.c.patient_id.is_not(None))).scalars())
    return sorted(ids)


def similar_patients(db: DbLike, patient_id: str, limit: int = 5) -> list[str]:
    """Known patient IDs that look like ``patient_id`` (``42`` -> ``042``, case, spaces)."""
    known = known_patients(db)

    def norm(text: str) -> str:
        text = "".join(text.split()).casefold()
        return text.lstrip("0") or text

    wanted = norm(patient_id)
    same = [k for k in known if norm(k) == wanted and k != patient_id]
    close = difflib.get_close_matches(patient_id, known, n=limit, cutoff=0.6)
    contains = [k for k in known if wanted and wanted in norm(k)]
    out: list[str] = []
    for k in same + close + contains:
        if k not in out and k != patient_id:
            out.append(k)
    return out[:limit]


def _ensure_patient(conn: Connection, patient_id: str) -> None:
    p = schema.patients
    conn.execute(_insert(conn, p).values(id=patient_id, created_at=_now_local_iso())
                 .on_conflict_do_nothing(index_elements=["id"]))


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


# --------------------------------------------------------------------------- sessions


def store_session(
    db: DbLike,
    session_dict: Mapping[str, Any],
    patient_id: str | None = None,
    trace_path: str | Path | None = None,
    recorded_at: date | datetime | None = None,
    *,
    rules_version: str | None = None,
    content_sha256: str | None = None,
    device: str = "",
    clock: str | None = None,
) -> SavedSession:
    """Store one analysed session (``stridewatch.session/1`` dict), once per recording.

    With ``content_sha256`` (the recording's identity with ``device``) a session already
    stored for that recording is updated (analysis, rules version, source, trace link; its
    patient only when ``patient_id`` is given; its recording time only when ``clock`` is a
    date the user gave or stronger than the stored one, ``clock.CLOCK_SOURCES``). Without it
    a new session is always added.

    ``recorded_at``: when the recording started (aware, or naive local time, or a date =
    local midnight); default now. ``clock``: where that time came from (default ``"given"``
    when ``recorded_at`` is passed, else ``"host"``). ``rules_version``: defaults to the
    session's own ``rules_version``, else the patient's stored rules (``"patient-v<N>"``).
    """
    if clock is not None and clock not in CLOCK_SOURCES:
        raise ValueError(f"clock must be one of {', '.join(CLOCK_SOURCES)}, not {clock!r}")
    if rules_version is None:
        rules_version = _opt_str(session_dict.get("rules_version"))
    recorded = to_utc(recorded_at) if recorded_at is not None else _now_utc()
    clock = clock or ("given" if recorded_at is not None else "host")
    local = recorded.astimezone().replace(tzinfo=None)
    lean = _mapping(session_dict.get("lean"))
    asym = _mapping(session_dict.get("asymmetry"))
    analysis = {
        "source": _opt_str(session_dict.get("source")),
        "analyzed_at": _now_local_iso(),
        "duration_s": _opt_float(session_dict.get("duration_s")),
        "walking_s": _opt_float(session_dict.get("walking_s")),
        "steps": _opt_int(session_dict.get("steps")),
        "cadence_spm": _opt_float(session_dict.get("cadence_spm")),
        "sagittal_deg_median": _opt_float(lean.get("sagittal_deg_median")),
        "frontal_deg_median": _opt_float(lean.get("frontal_deg_median")),
        "sagittal_deg_p95": _opt_float(lean.get("sagittal_deg_p95")),
        "step_time_si_pct": _opt_float(asym.get("step_time_si_pct")),
        "lean_reference": _opt_str(lean.get("reference")),
        "session_json": json.dumps(session_dict, allow_nan=False, separators=(",", ":")),
        "updated_at_utc": _now_utc().isoformat(),
    }
    when = {
        "session_date": local.date().isoformat(),
        "started_at": local.isoformat(),
        "recorded_at_utc": recorded.isoformat(),
        "clock": clock,
    }
    s = schema.sessions
    with writing(connect(db)) as conn:
        if patient_id is not None:
            _ensure_patient(conn, patient_id)
            if rules_version is None:
                stored = conn.execute(
                    sa.select(schema.patients.c.rules_version).where(
                        schema.patients.c.id == patient_id,
                        schema.patients.c.rules_toml.is_not(None))
                ).scalar()
                if stored is not None:
                    rules_version = f"patient-v{stored}"
        analysis["rules_version"] = rules_version
        row = {**analysis, **when, "patient_id": patient_id, "content_sha256": content_sha256,
               "device": device or "",
               "trace_path": str(trace_path) if trace_path is not None else None}
        insert = _insert(conn, s).values(**row)
        if content_sha256 is not None:
            insert = insert.on_conflict_do_nothing(index_elements=["device", "content_sha256"])
        session_id = conn.execute(insert.returning(s.c.id)).scalar()
        created = session_id is not None
        if not created:
            old = conn.execute(
                sa.select(s.c.id, s.c.clock).where(
                    s.c.device == (device or ""), s.c.content_sha256 == content_sha256)
                .with_for_update()
            ).one()
            session_id = int(old.id)
            update = dict(analysis)
            if patient_id is not None:
                update["patient_id"] = patient_id
            if trace_path is not None:
                update["trace_path"] = str(trace_path)
            if clock == "given" or _clock_rank(clock) > _clock_rank(old.clock):
                update.update(when)
            conn.execute(s.update().where(s.c.id == session_id).values(**update))
            for table in (schema.bouts, schema.flags):
                conn.execute(table.delete().where(table.c.session_id == session_id))
        _insert_details(conn, int(session_id), session_dict)
    return SavedSession(int(session_id), created)


def save_session(
    db: DbLike,
    session_dict: Mapping[str, Any],
    patient_id: str | None = None,
    trace_path: str | Path | None = None,
    session_date: date | datetime | None = None,
    *,
    rules_version: str | None = None,
) -> int:
    """``store_session`` without a recording identity (always a new session); its id."""
    return store_session(db, session_dict, patient_id, trace_path, session_date,
                         rules_version=rules_version).id


def _insert_details(conn: Connection, session_id: int, session_dict: Mapping[str, Any]) -> None:
    bout_rows = [
        {"session_id": session_id, "idx": i, "start_s": float(b["start_s"]),
         "end_s": float(b["end_s"]), "steps": _opt_int(b.get("steps")),
         "cadence_spm": _opt_float(b.get("cadence_spm")),
         "step_time_si_pct": _opt_float(b.get("step_time_si_pct"))}
        for i, b in enumerate(session_dict.get("bouts") or [])
    ]
    flag_rows = [
        {"session_id": session_id, "idx": i, "rule": str(f["rule"]),
         "start_s": _opt_float(f.get("start_s")), "end_s": _opt_float(f.get("end_s")),
         "value": _opt_float(f.get("value")), "threshold": _opt_float(f.get("threshold")),
         "message": _opt_str(f.get("message"))}
        for i, f in enumerate(session_dict.get("flags") or [])
    ]
    if bout_rows:
        conn.execute(schema.bouts.insert(), bout_rows)
    if flag_rows:
        conn.execute(schema.flags.insert(), flag_rows)


def _clock_rank(clock: str | None) -> int:
    return CLOCK_SOURCES.index(clock) if clock in CLOCK_SOURCES else -1


def load_session(db: DbLike, session_id: int) -> dict[str, Any]:
    """The full session JSON as stored."""
    s = schema.sessions
    with reading(connect(db)) as conn:
        text = conn.execute(sa.select(s.c.session_json).where(s.c.id == session_id)).scalar()
    if text is None:
        raise KeyError(f"no session with id {session_id}")
    return json.loads(text)


def _session_columns() -> list[sa.Column]:
    s = schema.sessions
    return [s.c[name] for name in (
        "id", "patient_id", "source", "trace_path", "recorded_at_utc", "started_at",
        "analyzed_at", "duration_s", "walking_s", "steps", "cadence_spm",
        "sagittal_deg_median", "frontal_deg_median", "sagittal_deg_p95", "step_time_si_pct",
        "lean_reference", "rules_version", "clock", "content_sha256", "device")]


def _stored(row: Any) -> StoredSession:
    if row.recorded_at_utc:
        recorded = datetime.fromisoformat(row.recorded_at_utc).astimezone(UTC)
        local = recorded.astimezone().replace(tzinfo=None)
    else:  # not written by this release; every migrated row has a UTC time
        local = datetime.fromisoformat(row.started_at)
        recorded = local.astimezone(UTC)
    return StoredSession(
        id=int(row.id), patient_id=row.patient_id, source=row.source,
        trace_path=row.trace_path, session_date=local.date(), started_at=local,
        analyzed_at=datetime.fromisoformat(row.analyzed_at), duration_s=row.duration_s,
        walking_s=row.walking_s, steps=row.steps, cadence_spm=row.cadence_spm,
        sagittal_deg_median=row.sagittal_deg_median, frontal_deg_median=row.frontal_deg_median,
        sagittal_deg_p95=row.sagittal_deg_p95, step_time_si_pct=row.step_time_si_pct,
        lean_reference=row.lean_reference, rules_version=row.rules_version,
        recorded_at_utc=recorded, clock=row.clock, content_sha256=row.content_sha256,
        device=row.device or "",
    )


def list_sessions(
    db: DbLike,
    patient_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[StoredSession]:
    """Sessions in recording order, optionally for one patient and a range of local dates
    (inclusive)."""
    s = schema.sessions
    query = sa.select(*_session_columns())
    if patient_id is not None:
        query = query.where(s.c.patient_id == patient_id)
    if since is not None:
        query = query.where(s.c.recorded_at_utc >= to_utc(since).isoformat())
    if until is not None:
        query = query.where(s.c.recorded_at_utc < to_utc(until + timedelta(days=1)).isoformat())
    query = query.order_by(s.c.recorded_at_utc, s.c.id)
    with reading(connect(db)) as conn:
        return [_stored(r) for r in conn.execute(query)]


def get_session(db: DbLike, session_id: int) -> StoredSession | None:
    """One stored session's row, or None."""
    s = schema.sessions
    with reading(connect(db)) as conn:
        row = conn.execute(sa.select(*_session_columns()).where(s.c.id == session_id)).first()
    return None if row is None else _stored(row)


def delete_session(db: DbLike, session_ids: Sequence[int]) -> int:
    """Delete sessions (with their bouts and flags); return how many were deleted."""
    s = schema.sessions
    ids = [int(i) for i in session_ids]
    with writing(connect(db)) as conn:
        for table in (schema.bouts, schema.flags):
            conn.execute(table.delete().where(table.c.session_id.in_(ids)))
        conn.execute(schema.synced_recordings.update()
                     .where(schema.synced_recordings.c.session_id.in_(ids))
                     .values(session_id=None))
        return int(conn.execute(s.delete().where(s.c.id.in_(ids))).rowcount)


def move_session(db: DbLike, session_ids: Sequence[int], patient_id: str) -> int:
    """File sessions under another patient; return how many were moved."""
    if not patient_id:
        raise ValueError("patient_id must be a non-empty string")
    s = schema.sessions
    ids = [int(i) for i in session_ids]
    with writing(connect(db)) as conn:
        _ensure_patient(conn, patient_id)
        return int(conn.execute(s.update().where(s.c.id.in_(ids))
                                .values(patient_id=patient_id)).rowcount)


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


def _now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _now_local_iso() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
