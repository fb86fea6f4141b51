"""The ledger of recordings downloaded from sensors (table ``synced_recordings``).

One row per recording stored: the device (its address), the recording's id on the
device, the SHA-256 of its content, the session it was filed as and its trace file. The
key is (device, recording id, content hash), so a recording synced twice is stored once,
and a recording is deleted on the sensor only when its row exists and the trace still
holds exactly that content. The table is created by store migration 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stridewatch.store import database as store


@dataclass(frozen=True)
class SyncedRecording:
    device: str
    recording_id: str
    content_sha256: str
    session_id: int | None
    trace_path: Path
    synced_at: str


def _row(row: tuple) -> SyncedRecording:
    return SyncedRecording(row[0], row[1], row[2], row[3], Path(row[4]), row[5])


_COLUMNS = "device, recording_id, content_sha256, session_id, trace_path, synced_at"


def synced(db: store.DbLike, device: str, recording_id: str) -> list[SyncedRecording]:
    """Rows of ``recording_id`` from ``device`` (usually 0 or 1)."""
    with store._connection(db) as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM synced_recordings WHERE device = ? AND recording_id = ?"
            " ORDER BY synced_at",
            (device, recording_id),
        ).fetchall()
    return [_row(r) for r in rows]


def record_synced(
    db: store.DbLike, device: str, recording_id: str, content_sha256: str,
    session_id: int | None, trace_path: Path,
) -> bool:
    """Add a row; False (nothing written) when that key is already in the ledger."""
    with store._connection(db) as conn, store._write(conn):
        cur = conn.execute(
            f"INSERT OR IGNORE INTO synced_recordings ({_COLUMNS}) VALUES (?,?,?,?,?,?)",
            (device, recording_id, content_sha256, session_id, str(trace_path),
             datetime.now().isoformat(timespec="seconds")),
        )
        return cur.rowcount == 1


def last_synced_device(db: store.DbLike) -> str | None:
    """The device of the most recent sync (the remembered device), or None."""
    with store._connection(db) as conn:
        row = conn.execute(
            "SELECT device FROM synced_recordings ORDER BY synced_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
    return None if row is None else str(row[0])
