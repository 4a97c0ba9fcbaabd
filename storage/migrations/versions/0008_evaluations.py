"""holdouts, evaluations, evaluation_scores: the examples a job keeps back for evaluation
(`holdout=P%`: seeded split, both parts' counts, the training part's upload, the held-out
examples), and each evaluation run with its per-model scores (product §10)

Revision ID: 0008_evaluations
Revises: 0007_deployments
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_evaluations"
down_revision = "0007_deployments"
branch_labels = None
depends_on = None


def _times(*names: str, nullable: bool = False) -> list[sa.Column[Any]]:
    return [sa.Column(n, sa.DateTime(timezone=True), nullable=nullable) for n in names]


def upgrade() -> None:
    op.create_table(
        "holdouts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False, unique=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("training_count", sa.Integer(), nullable=True),
        sa.Column("held_out_count", sa.Integer(), nullable=True),
        sa.Column("training_sha256", sa.String(length=64), nullable=True),
        sa.Column("training_file_id", sa.String(length=128), nullable=True),
        sa.Column("held_out_lines", sa.JSON(), nullable=True),
        sa.Column("held_out_examples", sa.Text(), nullable=True),
        *_times("created_at", "updated_at"),
    )
    op.create_index("ix_holdouts_dataset_id", "holdouts", ["dataset_id"])
    op.create_index("ix_holdouts_training_sha256", "holdouts", ["training_sha256"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("requester_id", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("base_model", sa.String(length=256), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("grader_model", sa.String(length=128), nullable=True),
        sa.Column("estimated_usd", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("missing", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_times("created_at"),
        *_times("finished_at", nullable=True),
    )
    for column in ("dataset_id", "job_id", "channel_id"):
        op.create_index(f"ix_evaluations_{column}", "evaluations", [column])
    op.create_table(
        "evaluation_scores",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("evaluation_id", sa.Integer(), sa.ForeignKey("evaluations.id"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("base_model", sa.String(length=256), nullable=True),
        *(
            sa.Column(n, sa.Integer(), nullable=False)
            for n in (
                "cases",
                "answered",
                "exact",
                "normalised",
                "graded",
                "wins",
                "ties",
                "losses",
            )
        ),
        sa.Column("opponent", sa.String(length=256), nullable=True),
        sa.Column("mean_latency_s", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
    )
    op.create_index("ix_evaluation_scores_evaluation_id", "evaluation_scores", ["evaluation_id"])
    op.create_index("ix_evaluation_scores_model", "evaluation_scores", ["model"])


def downgrade() -> None:
    op.drop_table("evaluation_scores")
    op.drop_table("evaluations")
    op.drop_table("holdouts")
