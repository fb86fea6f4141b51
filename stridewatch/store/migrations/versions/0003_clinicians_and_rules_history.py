"""Clinician accounts, which patients each clinician may see, and the history of every change
to a patient's rules (who, when, the full TOML text).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinicians",
        sa.Column("username", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False, server_default="clinician"),
        sa.Column("created_at_utc", sa.Text, nullable=False),
        sa.Column("password_changed_at_utc", sa.Text, nullable=False),
    )
    op.create_table(
        "patient_assignments",
        sa.Column("username", sa.Text,
                  sa.ForeignKey("clinicians.username", ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("assigned_by", sa.Text),
        sa.Column("assigned_at_utc", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("username", "patient_id"),
    )
    op.create_table(
        "rules_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("rules_version", sa.Integer, nullable=False),
        sa.Column("rules_toml", sa.Text, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at_utc", sa.Text, nullable=False),
    )
    op.create_index("rules_history_by_patient", "rules_history", ["patient_id", "id"])


def downgrade() -> None:
    op.drop_index("rules_history_by_patient", "rules_history")
    op.drop_table("rules_history")
    op.drop_table("patient_assignments")
    op.drop_table("clinicians")
