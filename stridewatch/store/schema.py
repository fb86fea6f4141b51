"""The store's tables as SQLAlchemy Core objects: the schema at the newest migration.

The tables are created and changed only by the Alembic migrations in
``stridewatch/store/migrations/versions`` (one set for SQLite and PostgreSQL); this module
describes the result for the queries. Keep the two in step: a column added by a migration is
added here in the same commit.

Times are ISO 8601 text: ``*_utc`` columns in UTC with an explicit ``+00:00``; the legacy
``started_at`` / ``session_date`` columns in the local time of the computer that saved the
session (kept for older rows and readers; the store reads ``recorded_at_utc``). Units as in
the session JSON: ``*_s`` seconds, ``*_spm`` steps/min, ``*_deg`` degrees, ``*_pct`` percent,
``*_g`` standard gravity.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

patients = sa.Table(
    "patients", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("rules_toml", sa.Text),
    sa.Column("rules_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rules_updated_at", sa.Text),
    sa.Column("created_at", sa.Text, nullable=False),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id")),
    sa.Column("source", sa.Text),
    sa.Column("trace_path", sa.Text),
    sa.Column("session_date", sa.Text, nullable=False),
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("analyzed_at", sa.Text, nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("walking_s", sa.Float),
    sa.Column("steps", sa.Integer),
    sa.Column("cadence_spm", sa.Float),
    sa.Column("sagittal_deg_median", sa.Float),
    sa.Column("frontal_deg_median", sa.Float),
    sa.Column("sagittal_deg_p95", sa.Float),
    sa.Column("step_time_si_pct", sa.Float),
    sa.Column("lean_reference", sa.Text),
    sa.Column("rules_version", sa.Text),
    sa.Column("session_json", sa.Text, nullable=False),
    # revision 0002: identity and one recording clock
    sa.Column("content_sha256", sa.Text),
    sa.Column("device", sa.Text, nullable=False, server_default=""),
    sa.Column("recorded_at_utc", sa.Text),
    sa.Column("clock", sa.Text),
    sa.Column("updated_at_utc", sa.Text),
)

bouts = sa.Table(
    "bouts", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("steps", sa.Integer),
    sa.Column("cadence_spm", sa.Float),
    sa.Column("step_time_si_pct", sa.Float),
)

flags = sa.Table(
    "flags", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("start_s", sa.Float),
    sa.Column("end_s", sa.Float),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("message", sa.Text),
)

# Homes for other parts of stridewatch (their functions live in their own modules here).
lean_references = sa.Table(
    "lean_references", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Text, nullable=False),
    sa.Column("device", sa.Text, nullable=False),
    sa.Column("gravity_x_g", sa.Float, nullable=False),
    sa.Column("gravity_y_g", sa.Float, nullable=False),
    sa.Column("gravity_z_g", sa.Float, nullable=False),
    sa.Column("segment_start_s", sa.Float),
    sa.Column("segment_end_s", sa.Float),
    sa.Column("source", sa.Text),
    sa.Column("created_at", sa.Text, nullable=False),
)

synced_recordings = sa.Table(
    "synced_recordings", metadata,
    sa.Column("device", sa.Text, primary_key=True),
    sa.Column("recording_id", sa.Text, primary_key=True),
    sa.Column("content_sha256", sa.Text, primary_key=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="SET NULL")),
    sa.Column("trace_path", sa.Text, nullable=False),
    sa.Column("synced_at", sa.Text, nullable=False),
)

# revision 0003: clinician accounts (stridewatch.store.clinicians, used by the web app)
clinicians = sa.Table(
    "clinicians", metadata,
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id, never the password
    sa.Column("role", sa.Text, nullable=False, server_default="clinician"),  # or "admin"
    sa.Column("created_at_utc", sa.Text, nullable=False),
    sa.Column("password_changed_at_utc", sa.Text, nullable=False),
)

patient_assignments = sa.Table(
    "patient_assignments", metadata,
    sa.Column("username", sa.Text, sa.ForeignKey("clinicians.username", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id"), primary_key=True),
    sa.Column("assigned_by", sa.Text),
    sa.Column("assigned_at_utc", sa.Text, nullable=False),
)

rules_history = sa.Table(
    "rules_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id"), nullable=False),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("rules_toml", sa.Text, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed_at_utc", sa.Text, nullable=False),
)

# revision 0004: the sensor each patient wears (stridewatch.store.paired_sensors)
paired_sensors = sa.Table(
    "paired_sensors", metadata,
    sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id"), primary_key=True),
    sa.Column("device_address", sa.Text, nullable=False),
    sa.Column("device_name", sa.Text),
    sa.Column("profile", sa.Text),
    sa.Column("paired_at_utc", sa.Text, nullable=False),
    sa.Column("source", sa.Text),
)

#: The newest migration revision; equal to the head of ``migrations/versions`` (tested).
HEAD_REVISION = "0004"
