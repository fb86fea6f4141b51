"""The pre-Alembic SQLite store (``PRAGMA user_version`` 1 to 3), adopted by the migrations.

Frozen on purpose: databases made by those releases must keep upgrading. Version 1 had
patients and sessions; version 2 added the bouts and flags tables, backfilled from each stored
session's JSON; version 3 added ``lean_references`` (no id column). ``adopt`` brings a
version 1 file to version 2 with that release's own step, after which the file has the
schema of Alembic revision 0001 (plus, from version 3, the old ``lean_references``, which
revision 0002 carries over row by row) and is stamped there.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stridewatch.store.errors import StoreError

#: The last user_version the pre-Alembic store wrote.
LAST_LEGACY_VERSION = 3

_V2_STATEMENTS = (
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
    """INSERT INTO bouts (session_id, idx, start_s, end_s, steps, cadence_spm, step_time_si_pct)
       SELECT s.id, CAST(b.key AS INTEGER),
              json_extract(b.value, '$.start_s'), json_extract(b.value, '$.end_s'),
              json_extract(b.value, '$.steps'), json_extract(b.value, '$.cadence_spm'),
              json_extract(b.value, '$.step_time_si_pct')
       FROM sessions AS s, json_each(s.session_json, '$.bouts') AS b""",
    """INSERT INTO flags (session_id, idx, rule, start_s, end_s, value, threshold, message)
       SELECT s.id, CAST(f.key AS INTEGER),
              json_extract(f.value, '$.rule'), json_extract(f.value, '$.start_s'),
              json_extract(f.value, '$.end_s'), json_extract(f.value, '$.value'),
              json_extract(f.value, '$.threshold'), json_extract(f.value, '$.message')
       FROM sessions AS s, json_each(s.session_json, '$.flags') AS f""",
)


def adopt(conn: Connection) -> bool:
    """Inside the migration transaction of a SQLite store without ``alembic_version``: bring a
    pre-Alembic store to at least its version 2 and return True (stamp it at 0001), or return False
    for a new, empty file."""
    version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    has_sessions = sa.inspect(conn).has_table("sessions")
    if version == 0 and not has_sessions:
        return False
    if version > LAST_LEGACY_VERSION:
        raise StoreError(
            f"database schema version {version} is newer than this stridewatch supports; "
            "upgrade stridewatch instead of opening it with an older version")
    if version == 0:
        raise StoreError("the file has stridewatch tables but no schema version; "
                         "it was not written by stridewatch")
    if version == 1:
        for statement in _V2_STATEMENTS:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO schema_version (version, description, applied_at) "
            "VALUES (2, 'bouts and flags tables, backfilled from stored session JSON', "
            "datetime('now'))")
        conn.exec_driver_sql("PRAGMA user_version = 2")
    return True
