"""datasets: a real upload claim (token and time) instead of `uploading:<uuid>` in openai_file_id

Revision ID: 0004_upload_claim
Revises: 0003_catchup
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_upload_claim"
down_revision = "0003_catchup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("upload_claim", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("upload_claimed_at", sa.DateTime(timezone=True), nullable=True))
    # An old-style lock has no time to expire by (a crashed uploader held it for ever): the row
    # becomes not uploaded and unclaimed, so the next start uploads it.
    op.execute(
        sa.text("UPDATE datasets SET openai_file_id = NULL WHERE openai_file_id LIKE 'uploading:%'")
    )


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("upload_claimed_at")
        batch.drop_column("upload_claim")
