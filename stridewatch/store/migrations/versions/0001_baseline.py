"""Baseline: patients, sessions, bouts and flags (the schema of the pre-Alembic SQLite store at
its ``PRAGMA user_version = 2``; such databases are stamped at this revision, not re-created).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("rules_toml", sa.Text),
        sa.Column("rules_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rules_updated_at", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "sessions",
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
    )
    op.create_index("sessions_by_patient_date", "sessions", ["patient_id", "session_date"])
    for name, extra in (
        ("bouts", [sa.Column("start_s", sa.Float, nullable=False),
                   sa.Column("end_s", sa.Float, nullable=False),
                   sa.Column("steps", sa.Integer),
                   sa.Column("cadence_spm", sa.Float),
                   sa.Column("step_time_si_pct", sa.Float)]),
        ("flags", [sa.Column("rule", sa.Text, nullable=False),
                   sa.Column("start_s", sa.Float),
                   sa.Column("end_s", sa.Float),
                   sa.Column("value", sa.Float),
                   sa.Column("threshold", sa.Float),
                   sa.Column("message", sa.Text)]),
    ):
        op.create_table(
            name,
            sa.Column("session_id", sa.Integer,
                      sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
            sa.Column("idx", sa.Integer, nullable=False),
            *extra,
            sa.PrimaryKeyConstraint("session_id", "idx"),
        )
    op.create_index("flags_by_rule", "flags", ["rule"])


def downgrade() -> None:
    for name in ("flags", "bouts", "sessions", "patients"):
        op.drop_table(name)
