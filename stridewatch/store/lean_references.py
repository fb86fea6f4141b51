"""Lean references kept per patient and sensor (table ``lean_references``).

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
import sqlalchemy as sa

from analysis.lean import LeanReference, stored_reference
from stridewatch.store import schema
from stridewatch.store.database import DbLike, _now_local_iso, connect
from stridewatch.store.engine import reading, writing

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
    created = _now_local_iso()
    start, end = (None, None) if segment_s is None else (float(segment_s[0]),
                                                          float(segment_s[1]))
    with writing(connect(db)) as conn:
        conn.execute(schema.lean_references.insert().values(
            patient_id=patient_id, device=device, gravity_x_g=g[0], gravity_y_g=g[1],
            gravity_z_g=g[2], segment_start_s=start, segment_end_s=end, source=source,
            created_at=created))
    return StoredLeanReference(patient_id, device, g,  # type: ignore[arg-type]
                               None if start is None else (start, end), source, created)


def get_lean_reference(db: DbLike, patient_id: str, device: str) -> StoredLeanReference | None:
    """The newest reference for this patient and device, or None."""
    t = schema.lean_references
    with reading(connect(db)) as conn:
        row = conn.execute(
            sa.select(t.c.gravity_x_g, t.c.gravity_y_g, t.c.gravity_z_g, t.c.segment_start_s,
                      t.c.segment_end_s, t.c.source, t.c.created_at)
            .where(t.c.patient_id == patient_id, t.c.device == device)
            .order_by(t.c.created_at.desc(), t.c.id.desc()).limit(1)
        ).first()
    if row is None:
        return None
    segment = None if row[3] is None else (float(row[3]), float(row[4]))
    return StoredLeanReference(patient_id, device, (row[0], row[1], row[2]), segment, row[5],
                               row[6])
