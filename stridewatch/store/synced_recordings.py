"""The ledger of recordings downloaded from sensors (table ``synced_recordings``).

One row per recording stored: the device (its address), the recording's id on the
device, the SHA-256 of its content, the session it was filed as and its trace file. The
key is (device, recording id, content hash), so a recording synced twice is stored once,
and a recording is deleted on the sensor only when its row exists and the trace still
holds exactly that content. The table comes from the store's migration 0002
(``stridewatch.store.schema``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from stridewatch.store import schema
from stridewatch.store.database import DbLike, connect
from stridewatch.store.engine import reading, writing


@dataclass(frozen=True)
class SyncedRecording:
    device: str
    recording_id: str
    content_sha256: str
    session_id: int | None
    trace_path: Path
    synced_at: str


_T = schema.synced_recordings
_COLUMNS = (_T.c.device, _T.c.recording_id, _T.c.content_sha256, _T.c.session_id,
            _T.c.trace_path, _T.c.synced_at)


def _row(row: sa.Row) -> SyncedRecording:
    return SyncedRecording(row[0], row[1], row[2], row[3], Path(row[4]), row[5])


def synced(db: DbLike, device: str, recording_id: str) -> list[SyncedRecording]:
    """Rows of ``recording_id`` from ``device`` (usually 0 or 1)."""
    with reading(connect(db)) as conn:
        rows = conn.execute(
            sa.select(*_COLUMNS)
            .where(_T.c.device == device, _T.c.recording_id == recording_id)
            .order_by(_T.c.synced_at)
        ).all()
    return [_row(r) for r in rows]


def record_synced(
    db: DbLike, device: str, recording_id: str, content_sha256: str,
    session_id: int | None, trace_path: Path,
) -> bool:
    """Add a row; False (nothing written) when that key is already in the ledger."""
    key = (_T.c.device == device, _T.c.recording_id == recording_id,
           _T.c.content_sha256 == content_sha256)
    try:
        with writing(connect(db)) as conn:
            if conn.execute(sa.select(_T.c.device).where(*key)).first() is not None:
                return False
            conn.execute(_T.insert().values(
                device=device, recording_id=recording_id, content_sha256=content_sha256,
                session_id=session_id, trace_path=str(trace_path),
                synced_at=datetime.now().isoformat(timespec="seconds")))
    except sa.exc.IntegrityError:  # another process filed the same key at the same moment
        return False
    return True


def last_synced_device(db: DbLike) -> str | None:
    """The device of the most recent sync (the remembered device), or None."""
    with reading(connect(db)) as conn:
        row = conn.execute(
            sa.select(_T.c.device).order_by(_T.c.synced_at.desc()).limit(1)
        ).first()
    return None if row is None else str(row[0])
