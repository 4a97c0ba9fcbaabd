"""model_deployments: the deployment a model (or one of its checkpoints) answers through on a
backend that serves fine-tuned models only via deployments (Azure OpenAI), and the claim of the
one creator while a deployment is being made

Revision ID: 0007_deployments
Revises: 0006_remote_id
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_deployments"
down_revision = "0006_remote_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_deployments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("deployment", sa.String(length=64), nullable=True),
        sa.Column("deploy_claim", sa.String(length=64), nullable=True),
        sa.Column("deploy_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("backend", "model", name="uq_model_deployment"),
    )


def downgrade() -> None:
    op.drop_table("model_deployments")
