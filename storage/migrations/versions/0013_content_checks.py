"""content_checks: a dataset's content check through OpenAI's moderation endpoint (product §11),
claimed once per dataset, with its progress message and the flagged lines

Revision ID: 0013_content_checks
Revises: 0012_job_evaluations
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_content_checks"
down_revision = "0012_job_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_checks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False, unique=True
        ),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("flagged_count", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_content_checks_sha256", "content_checks", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_content_checks_sha256", table_name="content_checks")
    op.drop_table("content_checks")
