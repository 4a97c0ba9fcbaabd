"""SQLAlchemy 2 typed ORM tables. Only storage/ imports this module."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


class SlackDelivery(Base):
    """Events API deliveries already taken (dedup of Slack retries across replicas)."""

    __tablename__ = "slack_deliveries"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime]


class Dataset(Base):
    """A dataset file dropped into Slack and its report (its uploads are RemoteFile rows)."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slack_file_id: Mapped[str] = mapped_column(String(32), unique=True)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    uploader_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(512), default="")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    format: Mapped[str | None] = mapped_column(String(32))
    examples: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(BigInteger)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    report: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="processing")
    error: Mapped[str | None] = mapped_column(Text)
    report_ts: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Job(Base):
    """A fine-tuning job (or a request for one awaiting approval) and who owns it."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("backend", "remote_id", name="uq_job_remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    backend: Mapped[str] = mapped_column(String(16), server_default="openai")
    # The backend's own job id (ftjob-…, ft-…): unique per backend.
    remote_id: Mapped[str | None] = mapped_column(String(64))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    validation_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    model: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(16), default="supervised")
    hyperparameters: Mapped[dict[str, Any] | None]
    suffix: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(24), default="requested")
    status: Mapped[str | None] = mapped_column(String(32))
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float)
    estimated_tokens: Mapped[int | None] = mapped_column(BigInteger)
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger)
    fine_tuned_model: Mapped[str | None] = mapped_column(String(256))
    chosen_model: Mapped[str | None] = mapped_column(String(256))
    status_ts: Mapped[str | None] = mapped_column(String(32))
    events_cursor: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    approver_id: Mapped[str | None] = mapped_column(String(32))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    cancelled_by: Mapped[str | None] = mapped_column(String(32))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class RemoteFile(Base):
    """A dataset's upload to one backend: the claim while an uploader works, then the file id."""

    __tablename__ = "remote_files"
    __table_args__ = (UniqueConstraint("dataset_id", "backend", name="uq_remote_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    backend: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str | None] = mapped_column(String(128), index=True)  # a remote id, only
    upload_claim: Mapped[str | None] = mapped_column(String(64))  # the uploader's token
    upload_claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Notification(Base):
    """One message the bot posts about a job: claimed before posting, so it is posted once."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("job_id", "kind", "key", name="uq_notification"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payload: Mapped[dict[str, Any] | None]
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class FineTunedModel(Base):
    """A model produced by a job: its owner and the checkpoint chosen as its default."""

    __tablename__ = "fine_tuned_models"
    __table_args__ = (UniqueConstraint("backend", "name", name="uq_model_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256))
    backend: Mapped[str] = mapped_column(String(16), server_default="openai")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    base_model: Mapped[str] = mapped_column(String(128))
    chosen: Mapped[str | None] = mapped_column(String(256))
    chosen_by: Mapped[str | None] = mapped_column(String(32))  # who made `chosen` the default
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class ModelDeployment(Base):
    """The deployment a model (or checkpoint) answers through (Azure), or the claim of the one
    creating it."""

    __tablename__ = "model_deployments"
    __table_args__ = (UniqueConstraint("backend", "model", name="uq_model_deployment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backend: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(256))
    deployment: Mapped[str | None] = mapped_column(String(64))
    deploy_claim: Mapped[str | None] = mapped_column(String(64))  # the creator's token
    deploy_claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class CatchupMark(Base):
    """How far the upload catch-up got, and when this database first saw the bot run."""

    __tablename__ = "catchup_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    mark: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Holdout(Base):
    """The examples a job keeps back for evaluation (`holdout=P%`): the seeded split, both parts'
    counts, the training part's upload and the held-out examples themselves."""

    __tablename__ = "holdouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    backend: Mapped[str] = mapped_column(String(16))
    percent: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int | None] = mapped_column(Integer)  # examples in the dataset
    training_count: Mapped[int | None] = mapped_column(Integer)
    held_out_count: Mapped[int | None] = mapped_column(Integer)
    training_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    training_file_id: Mapped[str | None] = mapped_column(String(128))
    held_out_lines: Mapped[dict[str, Any] | None]  # {"lines": [...]}: 1-based, file order
    held_out_examples: Mapped[str | None] = mapped_column(Text)  # JSONL, the first KEPT ones
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Evaluation(Base):
    """One evaluation run on a dataset's held-out examples (its per-model scores:
    EvaluationScore rows)."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    requester_id: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(256))
    backend: Mapped[str] = mapped_column(String(16))
    base_model: Mapped[str | None] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(16))  # holdout | dataset
    examples: Mapped[int] = mapped_column(Integer)
    grader_model: Mapped[str | None] = mapped_column(String(128))
    estimated_usd: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: a part's price is unknown
    missing: Mapped[str | None] = mapped_column(Text)  # what a partial result lacks
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class EvaluationScore(Base):
    """What one model scored in an evaluation (`role`: model, base or best)."""

    __tablename__ = "evaluation_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(256), index=True)
    backend: Mapped[str] = mapped_column(String(16))
    base_model: Mapped[str | None] = mapped_column(String(256))
    cases: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    exact: Mapped[int] = mapped_column(Integer)
    normalised: Mapped[int] = mapped_column(Integer)
    graded: Mapped[int] = mapped_column(Integer, default=0)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    ties: Mapped[int] = mapped_column(Integer, default=0)
    losses: Mapped[int] = mapped_column(Integer, default=0)
    opponent: Mapped[str | None] = mapped_column(String(256))  # whom the win rate is against
    mean_latency_s: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)


class JobEvaluation(Base):
    """A job's automatic scorecard: `off` (eval=off at start), or `pending` once the job
    succeeded, `running` under a lease, then `done` or `skipped` (`note` says why)."""

    __tablename__ = "job_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    progress_ts: Mapped[str | None] = mapped_column(String(32))
    scorecard_ts: Mapped[str | None] = mapped_column(String(32))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class ContentCheck(Base):
    """A dataset's content check through a moderation endpoint (product §11): claimed before any
    call (one per dataset), its progress message, and the flagged lines once done. A finished
    check of the same content (`sha256`) is reused instead of calling the endpoint again."""

    __tablename__ = "content_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|done|failed
    requester_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))  # progress, then the result
    total: Mapped[int] = mapped_column(Integer, default=0)  # examples with text
    checked: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # unreadable or without text
    flagged_count: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[dict[str, Any] | None]  # {"unit": "line", "lines": [[line, [category…]]…]}
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
