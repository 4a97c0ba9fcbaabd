"""jobs.cancelled_by: who asked the bot to cancel a job, for its status message and its one
line in the thread ("⏹ <job> cancelled by @who")

Revision ID: 0009_cancelled_by
Revises: 0007_deployments
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_cancelled_by"
down_revision = "0008_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cancelled_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancelled_by")
