"""jobs: who approved a request, and the approval message

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("approver_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("approval_ts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("approval_ts")
        batch.drop_column("approver_id")
