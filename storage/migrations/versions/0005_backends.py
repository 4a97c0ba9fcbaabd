"""backends: jobs and models say which backend they live on (remote ids unique per backend);
a dataset's uploads move to remote_files, one per backend (existing OpenAI uploads copied)

The three dataset columns the uploads replace (openai_file_id, upload_claim, upload_claimed_at)
are dropped: remote_files is the only place an upload is recorded, so nothing can read a stale
copy. A downgrade keeps the OpenAI uploads and fails if a remote id is used on two backends.

Revision ID: 0005_backends
Revises: 0004_upload_claim
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_backends"
down_revision = "0004_upload_claim"
branch_labels = None
depends_on = None

# 0001 left its single-column UNIQUE constraints unnamed: PostgreSQL named them itself, SQLite
# did not, and batch mode (which rebuilds the table on SQLite) names them by this convention.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_name(table: str, column: str) -> str:
    """The name of the single-column UNIQUE constraint on `table.column`, on either database."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if constraint["column_names"] == [column] and constraint["name"]:
            return constraint["name"]
    return _NAMING["uq"] % {"table_name": table, "column_0_name": column}


def _per_backend(table: str, column: str, name: str) -> None:
    """Add `backend` to `table` (existing rows: openai); `column` unique per backend."""
    old = _unique_name(table, column)
    with op.batch_alter_table(table, naming_convention=_NAMING) as batch:
        batch.add_column(
            sa.Column("backend", sa.String(length=16), server_default="openai", nullable=False)
        )
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint(name, ["backend", column])


def _single_backend(table: str, column: str, name: str) -> None:
    """Undo _per_backend: `column` unique again, `backend` dropped."""
    with op.batch_alter_table(table, naming_convention=_NAMING) as batch:
        batch.drop_constraint(name, type_="unique")
        batch.drop_column("backend")
        batch.create_unique_constraint(f"{table}_{column}_key", [column])


def upgrade() -> None:
    _per_backend("jobs", "openai_job_id", "uq_job_remote_id")
    _per_backend("fine_tuned_models", "name", "uq_model_name")
    op.create_table(
        "remote_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.String(length=128), nullable=True),
        sa.Column("upload_claim", sa.String(length=64), nullable=True),
        sa.Column("upload_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "backend", name="uq_remote_file"),
    )
    op.create_index("ix_remote_files_file_id", "remote_files", ["file_id"], unique=False)
    # Every upload so far went to OpenAI; a claim in flight keeps its time, so it is taken
    # over only once its lease has run out, as before.
    op.execute(
        sa.text(
            "INSERT INTO remote_files (dataset_id, backend, file_id, upload_claim,"
            " upload_claimed_at, created_at, updated_at)"
            " SELECT id, 'openai', openai_file_id, upload_claim, upload_claimed_at,"
            " updated_at, updated_at FROM datasets"
            " WHERE openai_file_id IS NOT NULL OR upload_claim IS NOT NULL"
        )
    )
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("upload_claimed_at")
        batch.drop_column("upload_claim")
        batch.drop_column("openai_file_id")


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("openai_file_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("upload_claim", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("upload_claimed_at", sa.DateTime(timezone=True), nullable=True))
    for column in ("upload_claimed_at", "upload_claim"):
        op.execute(
            sa.text(
                f"UPDATE datasets SET {column} = (SELECT r.{column} FROM remote_files r"
                " WHERE r.dataset_id = datasets.id AND r.backend = 'openai')"
            )
        )
    op.execute(
        sa.text(
            "UPDATE datasets SET openai_file_id = (SELECT r.file_id FROM remote_files r"
            " WHERE r.dataset_id = datasets.id AND r.backend = 'openai')"
        )
    )
    op.drop_index("ix_remote_files_file_id", table_name="remote_files")
    op.drop_table("remote_files")
    _single_backend("fine_tuned_models", "name", "uq_model_name")
    _single_backend("jobs", "openai_job_id", "uq_job_remote_id")
