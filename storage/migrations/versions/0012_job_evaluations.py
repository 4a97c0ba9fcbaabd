"""job_evaluations: a job's automatic scorecard (product §10): `eval=off` recorded at start, or
the evaluation due once the job succeeded, claimed with a lease (one replica runs it, another
takes it over after a crash), where its progress line and scorecard were posted

Revision ID: 0012_job_evaluations
Revises: 0008_evaluations
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_job_evaluations"
down_revision = "0010_chosen_by"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False, unique=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("progress_ts", sa.String(length=32), nullable=True),
        sa.Column("scorecard_ts", sa.String(length=32), nullable=True),
        sa.Column("evaluation_id", sa.Integer(), sa.ForeignKey("evaluations.id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_job_evaluations_state", "job_evaluations", ["state"])


def downgrade() -> None:
    op.drop_table("job_evaluations")
