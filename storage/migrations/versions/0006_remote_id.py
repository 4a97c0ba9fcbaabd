"""jobs: `openai_job_id` is renamed `remote_id`: it holds each backend's own job id (ftjob-…,
ft-…), unique per backend (the constraint keeps its name and now covers the renamed column)

Revision ID: 0006_remote_id
Revises: 0005_backends
Create Date: 2026-12-01 04:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_remote_id"
down_revision = "0005_backends"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("openai_job_id", new_column_name="remote_id")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("remote_id", new_column_name="openai_job_id")
