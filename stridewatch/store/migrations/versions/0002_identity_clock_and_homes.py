"""Sessions stored once: content identity (device + SHA-256) and one recording clock in UTC;
tables for stored lean references (a version 3 SQLite store's rows carried over) and synced
offline recordings.

Existing rows keep their data: their UTC recording time is their stored local ``started_at``
read in this computer's time zone (``clock = 'local'``); they have no content hash (NULL, which
the unique index does not compare), so re-saving their recording adds one new session.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("content_sha256", sa.Text))
    op.add_column("sessions", sa.Column("device", sa.Text, nullable=False, server_default=""))
    op.add_column("sessions", sa.Column("recorded_at_utc", sa.Text))
    op.add_column("sessions", sa.Column("clock", sa.Text))
    op.add_column("sessions", sa.Column("updated_at_utc", sa.Text))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, started_at FROM sessions")).fetchall()
    for session_id, started_at in rows:
        local = datetime.fromisoformat(started_at)
        utc = (local.astimezone(UTC) if local.tzinfo is None else local.astimezone(UTC))
        conn.execute(
            sa.text("UPDATE sessions SET recorded_at_utc = :t, clock = 'local' WHERE id = :i"),
            {"t": utc.replace(microsecond=0).isoformat(), "i": session_id},
        )
    op.create_index("sessions_identity", "sessions", ["device", "content_sha256"], unique=True)
    op.create_index("sessions_by_patient_time", "sessions", ["patient_id", "recorded_at_utc"])
    legacy = sa.inspect(conn).has_table("lean_references")  # a version 3 SQLite store
    op.create_table(
        "lean_references_new" if legacy else "lean_references",
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
    if legacy:  # carried over in their order (ids follow it), then put in its place
        columns = ("patient_id, device, gravity_x_g, gravity_y_g, gravity_z_g, "
                   "segment_start_s, segment_end_s, source, created_at")
        conn.execute(sa.text(f"INSERT INTO lean_references_new ({columns}) "
                             f"SELECT {columns} FROM lean_references ORDER BY rowid"))
        op.drop_table("lean_references")
        op.rename_table("lean_references_new", "lean_references")
    op.create_index("lean_references_by_wearer", "lean_references", ["patient_id", "device"])
    op.create_table(
        "synced_recordings",
        sa.Column("device", sa.Text, nullable=False),
        sa.Column("recording_id", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("session_id", sa.Integer,
                  sa.ForeignKey("sessions.id", ondelete="SET NULL")),
        sa.Column("trace_path", sa.Text, nullable=False),
        sa.Column("synced_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("device", "recording_id", "content_sha256"),
    )


def downgrade() -> None:
    op.drop_table("synced_recordings")
    op.drop_table("lean_references")
    op.drop_index("sessions_by_patient_time", "sessions")
    op.drop_index("sessions_identity", "sessions")
    for column in ("updated_at_utc", "clock", "recorded_at_utc", "device", "content_sha256"):
        op.drop_column("sessions", column)
