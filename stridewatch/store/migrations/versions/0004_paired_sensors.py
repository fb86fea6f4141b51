"""The sensor each patient wears: the first device a patient's recording or sync came from,
so a different one answering later is noticed (issue 16).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paired_sensors",
        sa.Column("patient_id", sa.Text, sa.ForeignKey("patients.id"), primary_key=True),
        sa.Column("device_address", sa.Text, nullable=False),
        sa.Column("device_name", sa.Text),
        sa.Column("profile", sa.Text),
        sa.Column("paired_at_utc", sa.Text, nullable=False),
        sa.Column("source", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("paired_sensors")
