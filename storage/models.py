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
    """A dataset file dropped into Slack, its report, and its OpenAI upload."""

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
    openai_file_id: Mapped[str | None] = mapped_column(String(64))  # a remote file id, only
    upload_claim: Mapped[str | None] = mapped_column(String(64))  # the uploader's token
    upload_claimed_at: Mapped[dt.datetime | None]
    claimed_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Job(Base):
    """A fine-tuning job (or a request for one awaiting approval) and who owns it."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    openai_job_id: Mapped[str | None] = mapped_column(String(64), unique=True)
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
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


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

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    base_model: Mapped[str] = mapped_column(String(128))
    chosen: Mapped[str | None] = mapped_column(String(256))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class CatchupMark(Base):
    """How far the upload catch-up got, and when this database first saw the bot run."""

    __tablename__ = "catchup_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    mark: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
