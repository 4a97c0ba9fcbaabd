"""fine_tuned_models: who chose the model's default checkpoint (shown on the checkpoint list)

Revision ID: 0010_chosen_by
Revises: 0007_deployments
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_chosen_by"
down_revision = "0009_cancelled_by"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fine_tuned_models") as batch:
        batch.add_column(sa.Column("chosen_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fine_tuned_models") as batch:
        batch.drop_column("chosen_by")
