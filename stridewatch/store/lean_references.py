"""Lean references kept per patient and sensor (table ``lean_references``, migration 3).

A reference is the gravity vector (sensor frame, g) the sensor read while the
wearer stood upright, from ``stridewatch calibrate`` or the guided calibration
of ``stridewatch record``. The newest one for a patient and device is used by
later sessions that have no standing segment of their own (``analysis.lean``
refuses it when the sensor now sits differently). Rows are only added, never
changed, so an earlier calibration is never lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.lean import LeanReference, stored_reference
from stridewatch.store.database import DbLike, _connection, _now_iso, _write

UNKNOWN_DEVICE = "unknown device"


@dataclass(frozen=True)
class StoredLeanReference:
    """One row of ``lean_references``."""

    patient_id: str
    device: str
    gravity_g: tuple[float, float, float]
    segment_s: tuple[float, float] | None
    source: str | None
    created_at: str

    def as_reference(self) -> LeanReference:
        """The reference for ``analysis`` (kind ``stored``)."""
        return stored_reference(np.array(self.gravity_g), self.segment_s)


def device_key(meta: Mapping[str, Any] | None) -> str:
    """The sensor a recording came from: its address (else name) from the trace header.

    CSV files do not say which sensor made them: they share ``UNKNOWN_DEVICE``.
    """
    meta = meta or {}
    for key in ("device_address", "device_name"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return UNKNOWN_DEVICE


def save_lean_reference(
    db: DbLike,
    patient_id: str,
    device: str,
    gravity_g: np.ndarray,
    segment_s: tuple[float, float] | None,
    source: str,
) -> StoredLeanReference:
    """Add a reference for ``patient_id`` and ``device`` (the newest one is used)."""
    if not patient_id:
        raise ValueError("patient_id must be a non-empty string")
    g = tuple(float(v) for v in np.asarray(gravity_g, dtype=float))
    stored_reference(np.array(g))  # refuses a vector that is not gravity
    created = _now_iso()
    start, end = (None, None) if segment_s is None else (float(segment_s[0]),
                                                          float(segment_s[1]))
    with _connection(db) as conn, _write(conn):
        conn.execute(
            "INSERT INTO lean_references (patient_id, device, gravity_x_g, gravity_y_g,"
            " gravity_z_g, segment_start_s, segment_end_s, source, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (patient_id, device, *g, start, end, source, created),
        )
    return StoredLeanReference(patient_id, device, g,  # type: ignore[arg-type]
                               None if start is None else (start, end), source, created)


def get_lean_reference(db: DbLike, patient_id: str, device: str) -> StoredLeanReference | None:
    """The newest reference for this patient and device, or None."""
    with _connection(db) as conn:
        row = conn.execute(
            "SELECT gravity_x_g, gravity_y_g, gravity_z_g, segment_start_s, segment_end_s,"
            " source, created_at FROM lean_references WHERE patient_id = ? AND device = ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (patient_id, device),
        ).fetchone()
    if row is None:
        return None
    segment = None if row[3] is None else (float(row[3]), float(row[4]))
    return StoredLeanReference(patient_id, device, (row[0], row[1], row[2]), segment, row[5],
                               row[6])
