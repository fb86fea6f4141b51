"""Clinician accounts, patient assignments and the history of rule changes, in the store.

Used by the web app (``stridewatch serve``) and the ``stridewatch users`` command. Only
password *hashes* are stored (argon2id, made by ``stridewatch.web.passwords``); this module
never sees a password. A clinician sees the patients assigned to them; an admin sees every
patient and assigns them.

Times are ISO 8601 UTC text with ``+00:00`` like the rest of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from stridewatch.store import database, schema
from stridewatch.store.engine import DbLike, reading, writing

ROLES = ("clinician", "admin")


@dataclass(frozen=True)
class Clinician:
    username: str
    password_hash: str
    role: str
    created_at_utc: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class RulesChange:
    patient_id: str
    rules_version: int
    rules_toml: str
    changed_by: str
    changed_at_utc: str


@dataclass(frozen=True)
class PatientOverview:
    """One row of the patients list."""

    patient_id: str
    sessions: int
    last_walk_utc: datetime | None
    last_session_id: int | None
    last_session_flags: int  # flags raised in the newest session


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _check_username(username: str) -> None:
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise ValueError("a user name is 1-64 printable characters without spaces")


def add_clinician(db: DbLike, username: str, password_hash: str, role: str = "clinician") -> None:
    """Create an account; ValueError when the name is taken or the role unknown."""
    _check_username(username)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    c = schema.clinicians
    with writing(database.connect(db)) as conn:
        if conn.execute(sa.select(c.c.username).where(c.c.username == username)).first():
            raise ValueError(f"user {username!r} already exists")
        now = _now()
        conn.execute(c.insert().values(username=username, password_hash=password_hash,
                                       role=role, created_at_utc=now,
                                       password_changed_at_utc=now))


def set_password_hash(db: DbLike, username: str, password_hash: str) -> None:
    c = schema.clinicians
    with writing(database.connect(db)) as conn:
        done = conn.execute(c.update().where(c.c.username == username).values(
            password_hash=password_hash, password_changed_at_utc=_now())).rowcount
    if not done:
        raise KeyError(f"no user {username!r}")


def remove_clinician(db: DbLike, username: str) -> None:
    c, a = schema.clinicians, schema.patient_assignments
    with writing(database.connect(db)) as conn:
        conn.execute(a.delete().where(a.c.username == username))
        done = conn.execute(c.delete().where(c.c.username == username)).rowcount
    if not done:
        raise KeyError(f"no user {username!r}")


def get_clinician(db: DbLike, username: str) -> Clinician | None:
    c = schema.clinicians
    with reading(database.connect(db)) as conn:
        row = conn.execute(sa.select(c.c.username, c.c.password_hash, c.c.role,
                                     c.c.created_at_utc).where(c.c.username == username)).first()
    return None if row is None else Clinician(*row)


def list_clinicians(db: DbLike) -> list[Clinician]:
    c = schema.clinicians
    with reading(database.connect(db)) as conn:
        rows = conn.execute(sa.select(c.c.username, c.c.password_hash, c.c.role,
                                      c.c.created_at_utc).order_by(c.c.username)).all()
    return [Clinician(*row) for row in rows]


def assign_patients(db: DbLike, username: str, patient_ids: Sequence[str],
                    assigned_by: str | None = None) -> int:
    """Let ``username`` see these patients (created in the store if new); how many were new."""
    a = schema.patient_assignments
    added = 0
    with writing(database.connect(db)) as conn:
        if get_role(conn, username) is None:
            raise KeyError(f"no user {username!r}")
        for patient_id in patient_ids:
            if not patient_id:
                raise ValueError("patient_id must be a non-empty string")
            database._ensure_patient(conn, patient_id)
            exists = conn.execute(sa.select(a.c.username).where(
                a.c.username == username, a.c.patient_id == patient_id)).first()
            if not exists:
                conn.execute(a.insert().values(username=username, patient_id=patient_id,
                                               assigned_by=assigned_by,
                                               assigned_at_utc=_now()))
                added += 1
    return added


def unassign_patients(db: DbLike, username: str, patient_ids: Sequence[str]) -> int:
    a = schema.patient_assignments
    with writing(database.connect(db)) as conn:
        return int(conn.execute(a.delete().where(
            a.c.username == username, a.c.patient_id.in_(list(patient_ids)))).rowcount)


def get_role(conn: sa.Connection, username: str) -> str | None:
    c = schema.clinicians
    return conn.execute(sa.select(c.c.role).where(c.c.username == username)).scalar()


def visible_patients(db: DbLike, username: str) -> list[str]:
    """The patients this user may see: all for an admin, else the assigned ones (sorted)."""
    a = schema.patient_assignments
    with reading(database.connect(db)) as conn:
        role = get_role(conn, username)
        if role is None:
            return []
        if role != "admin":
            return sorted(conn.execute(sa.select(a.c.patient_id)
                                       .where(a.c.username == username)).scalars())
    return database.known_patients(db)


def may_see(db: DbLike, username: str, patient_id: str | None) -> bool:
    """Whether this user may open this patient's data (sessions without a patient: admins)."""
    a = schema.patient_assignments
    with reading(database.connect(db)) as conn:
        role = get_role(conn, username)
        if role == "admin":
            return True
        if role is None or patient_id is None:
            return False
        return conn.execute(sa.select(a.c.patient_id).where(
            a.c.username == username, a.c.patient_id == patient_id)).first() is not None


def patient_overview(db: DbLike, patient_ids: Sequence[str]) -> list[PatientOverview]:
    """Sessions count, newest walk and its flag count per patient (one query each table)."""
    s, f = schema.sessions, schema.flags
    ids = list(patient_ids)
    out: dict[str, dict[str, Any]] = {
        pid: {"sessions": 0, "last": None, "last_id": None, "flags": 0} for pid in ids}
    if not ids:
        return []
    with reading(database.connect(db)) as conn:
        newest = (sa.select(s.c.patient_id, sa.func.count().label("n"),
                            sa.func.max(s.c.recorded_at_utc).label("last"))
                  .where(s.c.patient_id.in_(ids)).group_by(s.c.patient_id)).subquery()
        rows = conn.execute(
            sa.select(newest.c.patient_id, newest.c.n, newest.c.last, sa.func.max(s.c.id))
            .join(s, sa.and_(s.c.patient_id == newest.c.patient_id,
                             s.c.recorded_at_utc == newest.c.last))
            .group_by(newest.c.patient_id, newest.c.n, newest.c.last)).all()
        last_ids = {}
        for pid, n, last, sid in rows:
            out[pid].update(sessions=int(n), last=last, last_id=int(sid))
            last_ids[int(sid)] = pid
        if last_ids:
            for sid, count in conn.execute(
                    sa.select(f.c.session_id, sa.func.count()).where(
                        f.c.session_id.in_(list(last_ids))).group_by(f.c.session_id)):
                out[last_ids[int(sid)]]["flags"] = int(count)
    return [PatientOverview(pid, v["sessions"],
                            datetime.fromisoformat(v["last"]) if v["last"] else None,
                            v["last_id"], v["flags"]) for pid, v in out.items()]


def session_flags(db: DbLike, session_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The stored flags of these sessions, by session id, in order."""
    f = schema.flags
    out: dict[int, list[dict[str, Any]]] = {int(i): [] for i in session_ids}
    if not out:
        return out
    with reading(database.connect(db)) as conn:
        for row in conn.execute(sa.select(f).where(f.c.session_id.in_(list(out)))
                                .order_by(f.c.session_id, f.c.idx)).mappings():
            out[int(row["session_id"])].append(dict(row))
    return out


def change_patient_rules(db: DbLike, patient_id: str, toml_text: str, changed_by: str) -> int:
    """Store a patient's rules (``database.set_patient_rules``) and record who changed them
    and when in ``rules_history``; returns the rules version (unchanged text: no new entry).

    The caller has already checked the text with the rule set (as a rules file is checked).
    """
    before = database.get_patient_rules(db, patient_id)
    version = database.set_patient_rules(db, patient_id, toml_text)
    if before is None or before.version != version:
        with writing(database.connect(db)) as conn:
            conn.execute(schema.rules_history.insert().values(
                patient_id=patient_id, rules_version=version, rules_toml=toml_text,
                changed_by=changed_by, changed_at_utc=_now()))
    return version


def rules_history(db: DbLike, patient_id: str) -> list[RulesChange]:
    """Every recorded change of a patient's rules, newest first."""
    h = schema.rules_history
    with reading(database.connect(db)) as conn:
        rows = conn.execute(sa.select(h.c.patient_id, h.c.rules_version, h.c.rules_toml,
                                      h.c.changed_by, h.c.changed_at_utc)
                            .where(h.c.patient_id == patient_id)
                            .order_by(h.c.id.desc())).all()
    return [RulesChange(*row) for row in rows]
