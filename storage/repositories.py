"""Repositories: short transactions over the ORM, returning frozen dataclasses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Engine, String, and_, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utc
from storage.models import Dataset, RemoteFile, SlackDelivery


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """A dataset as stored."""

    id: int
    slack_file_id: str
    channel_id: str
    thread_ts: str | None
    uploader_id: str
    name: str
    size_bytes: int | None
    sha256: str | None
    format: str | None
    examples: int | None
    total_tokens: int | None
    valid: bool | None
    report: dict[str, Any] | None
    status: str
    error: str | None
    report_ts: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class UploadState:
    """A dataset's upload to one backend: its file once uploaded; `claimed` while one works."""

    file_id: str | None
    claimed: bool


# A first claim inserts the dataset's row for the backend, only if the dataset exists.
_CLAIM_COLUMNS = (
    "dataset_id", "backend", "upload_claim", "upload_claimed_at", "created_at", "updated_at"
)  # fmt: skip


def _dataset(row: Dataset) -> DatasetRecord:
    return DatasetRecord(
        id=row.id,
        slack_file_id=row.slack_file_id,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        uploader_id=row.uploader_id,
        name=row.name,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        format=row.format,
        examples=row.examples,
        total_tokens=row.total_tokens,
        valid=row.valid,
        report=row.report,
        status=row.status,
        error=row.error,
        report_ts=row.report_ts,
        created_at=utc(row.created_at) or row.created_at,
    )


def insert_for(engine: Engine, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT on this engine's dialect."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class DeliveryRepository:
    """Events API deliveries: each event id is taken once, by one replica."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine)

    def first_time(self, *, event_id: str, now: dt.datetime) -> bool:
        """Record `event_id`; True only for the first caller (any replica)."""
        stmt = (
            insert_for(self._engine, SlackDelivery)
            .values(event_id=event_id, received_at=now)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(SlackDelivery.event_id)
        )
        with self._sessions.begin() as session:
            return session.execute(stmt).first() is not None

    def forget(self, *, event_id: str) -> None:
        """Drop `event_id`, so the next caller is the first again (the work it claimed failed)."""
        with self._sessions.begin() as session:
            session.execute(delete(SlackDelivery).where(SlackDelivery.event_id == event_id))


class DatasetRepository:
    """Datasets: claim a Slack file once, store its report, find it again."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def claim(
        self,
        *,
        slack_file_id: str,
        channel_id: str,
        uploader_id: str,
        thread_ts: str | None,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> bool:
        """Take the file for reporting: True for the first caller, or when a claim went stale."""
        stmt = (
            insert_for(self._engine, Dataset)
            .values(
                slack_file_id=slack_file_id,
                channel_id=channel_id,
                uploader_id=uploader_id,
                thread_ts=thread_ts,
                name="",
                status="processing",
                claimed_at=now,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["slack_file_id"])
            .returning(Dataset.id)
        )
        stale = (
            update(Dataset)
            .where(
                and_(
                    Dataset.slack_file_id == slack_file_id,
                    Dataset.status == "processing",
                    Dataset.claimed_at < now - lease,
                )
            )
            .values(claimed_at=now, updated_at=now)
            .returning(Dataset.id)
        )
        with self._sessions.begin() as session:
            if session.execute(stmt).first() is not None:
                return True
            return session.execute(stale).first() is not None

    def stale_claims(self, *, now: dt.datetime, lease: dt.timedelta) -> list[DatasetRecord]:
        """Files still marked as being checked although their claim ran out (a crash)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(Dataset).where(
                    Dataset.status == "processing", Dataset.claimed_at < now - lease
                )
            )
            return [_dataset(row) for row in rows]

    def describe(
        self,
        *,
        slack_file_id: str,
        name: str,
        size_bytes: int,
        thread_ts: str | None,
        now: dt.datetime,
    ) -> None:
        """Record what the chat says about the file: its name, size and thread."""
        self._set(slack_file_id, now, name=name, size_bytes=size_bytes, thread_ts=thread_ts)

    def ignore(self, *, slack_file_id: str, now: dt.datetime) -> None:
        """Mark the file as not a dataset (nothing is reported on it)."""
        self._set(slack_file_id, now, status="ignored")

    def store_report(
        self,
        *,
        slack_file_id: str,
        sha256: str,
        format: str | None,
        examples: int,
        total_tokens: int,
        valid: bool,
        report: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        """Store the file's content hash and its validation report (not yet posted)."""
        self._set(
            slack_file_id,
            now,
            sha256=sha256,
            format=format,
            examples=examples,
            total_tokens=total_tokens,
            valid=valid,
            report=report,
        )

    def mark_reported(self, *, slack_file_id: str, report_ts: str, now: dt.datetime) -> None:
        """The report is posted (as message `report_ts`): the dataset is usable."""
        self._set(slack_file_id, now, status="reported", report_ts=report_ts)

    def mark_failed(self, *, slack_file_id: str, error: str, now: dt.datetime) -> None:
        """The file could not be checked; `error` is what the user was told."""
        self._set(slack_file_id, now, status="failed", error=error)

    def _set(self, slack_file_id: str, now: dt.datetime, **values: object) -> None:
        # Private on purpose: each public write above names the columns it sets.
        with self._sessions.begin() as session:
            session.execute(
                update(Dataset)
                .where(Dataset.slack_file_id == slack_file_id)
                .values(updated_at=now, **values)
            )

    def get(self, *, slack_file_id: str) -> DatasetRecord | None:
        """The dataset of a Slack file, if any."""
        with self._sessions() as session:
            row = session.scalar(select(Dataset).where(Dataset.slack_file_id == slack_file_id))
            return _dataset(row) if row else None

    def in_channel(self, *, channel_id: str, limit: int = 200) -> list[DatasetRecord]:
        """Reported datasets of a channel, newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(Dataset)
                .where(
                    Dataset.channel_id == channel_id,
                    or_(Dataset.status == "reported", Dataset.status == "processing"),
                    Dataset.name != "",
                )
                .order_by(Dataset.created_at.desc(), Dataset.id.desc())
                .limit(limit)
            )
            return [_dataset(row) for row in rows]

    def uploaded_with_sha(self, *, sha256: str, backend: str) -> str | None:
        """The file id of an earlier upload of the same content to `backend`, if any."""
        with self._sessions() as session:
            return session.scalar(
                select(RemoteFile.file_id)
                .join(Dataset, Dataset.id == RemoteFile.dataset_id)
                .where(
                    Dataset.sha256 == sha256,
                    RemoteFile.backend == backend,
                    RemoteFile.file_id.is_not(None),
                )
                .order_by(RemoteFile.id)
                .limit(1)
            )

    def by_id(self, dataset_id: int) -> DatasetRecord | None:
        """A dataset by its row id."""
        with self._sessions() as session:
            row = session.get(Dataset, dataset_id)
            return _dataset(row) if row else None

    def find(self, *, reference: str, channel_id: str, limit: int = 50) -> list[DatasetRecord]:
        """Datasets a reference may mean, newest first: Slack file id, any backend's file id, name
        in this channel, or `latest` (the caller keeps the ones the requester may see)."""
        # Reported, or its report stored and being posted this moment: a user who reads the
        # report a moment before it is marked reported finds the dataset all the same.
        reported = select(Dataset).where(
            or_(
                Dataset.status == "reported",
                and_(Dataset.status == "processing", Dataset.report.is_not(None)),
            )
        )
        by_name = reported.where(Dataset.channel_id == channel_id, Dataset.name == reference)
        if reference == "latest":
            query = reported.where(Dataset.channel_id == channel_id, Dataset.valid.is_(True))
        elif reference.startswith("file-"):
            # Every backend's uploads (OpenAI's `file-abc…`, Together's `file-<uuid>`); a dataset
            # whose own name starts with `file-` is still found by that name.
            uploaded = select(RemoteFile.dataset_id).where(RemoteFile.file_id == reference)
            query = reported.where(Dataset.id.in_(uploaded))
        elif reference[:1] == "F" and reference[1:].isalnum() and reference.isupper():
            query = reported.where(Dataset.slack_file_id == reference)
        else:
            query = by_name
        order = (Dataset.created_at.desc(), Dataset.id.desc())
        with self._sessions() as session:
            rows = list(session.scalars(query.order_by(*order).limit(limit)))
            if not rows and reference.startswith("file-"):
                rows = list(session.scalars(by_name.order_by(*order).limit(limit)))
            return [_dataset(row) for row in rows]

    def claim_upload(
        self, *, dataset_id: int, backend: str, token: str, now: dt.datetime, lease: dt.timedelta
    ) -> bool:
        """Take the right to upload the dataset to `backend`: True unless it is uploaded there or
        another uploader holds a claim younger than `lease` (an older one is taken over)."""
        first = (
            insert_for(self._engine, RemoteFile)
            .from_select(
                _CLAIM_COLUMNS,
                select(
                    Dataset.id,
                    literal(backend, String()),
                    literal(token, String()),
                    *[literal(now, DateTime(timezone=True))] * 3,
                ).where(Dataset.id == dataset_id),
            )
            .on_conflict_do_nothing(index_elements=["dataset_id", "backend"])
            .returning(RemoteFile.id)
        )
        take = (
            update(RemoteFile)
            .where(
                RemoteFile.dataset_id == dataset_id,
                RemoteFile.backend == backend,
                RemoteFile.file_id.is_(None),
                or_(RemoteFile.upload_claim.is_(None), RemoteFile.upload_claimed_at < now - lease),
            )
            .values(upload_claim=token, upload_claimed_at=now, updated_at=now)
            .returning(RemoteFile.id)
        )
        with self._sessions.begin() as session:
            if session.execute(first).first() is not None:
                return True
            return session.execute(take).first() is not None

    def finish_upload(
        self, *, dataset_id: int, backend: str, file_id: str, now: dt.datetime
    ) -> str:
        """Record the dataset's file on `backend` and drop any claim; the recorded id is returned
        (an earlier one, when another uploader finished first)."""
        stmt = insert_for(self._engine, RemoteFile).values(
            dataset_id=dataset_id, backend=backend, file_id=file_id, created_at=now, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["dataset_id", "backend"],
            set_={
                "file_id": file_id,
                "upload_claim": None,
                "upload_claimed_at": None,
                "updated_at": now,
            },
            where=RemoteFile.file_id.is_(None),
        )
        with self._sessions.begin() as session:
            session.execute(stmt)
            recorded = session.scalar(
                select(RemoteFile.file_id).where(
                    RemoteFile.dataset_id == dataset_id, RemoteFile.backend == backend
                )
            )
        return recorded or file_id

    def release_upload(
        self, *, dataset_id: int, backend: str, token: str, now: dt.datetime
    ) -> None:
        """Give up the claim after a failed upload (a claim taken over since is left alone)."""
        with self._sessions.begin() as session:
            session.execute(
                update(RemoteFile)
                .where(
                    RemoteFile.dataset_id == dataset_id,
                    RemoteFile.backend == backend,
                    RemoteFile.upload_claim == token,
                )
                .values(upload_claim=None, upload_claimed_at=None, updated_at=now)
            )

    def uploaded_file(self, *, dataset_id: int, backend: str) -> str | None:
        """The dataset's file id on `backend`, once uploaded there."""
        with self._sessions() as session:
            return session.scalar(
                select(RemoteFile.file_id).where(
                    RemoteFile.dataset_id == dataset_id, RemoteFile.backend == backend
                )
            )

    def upload_state(self, *, dataset_id: int, backend: str) -> UploadState | None:
        """Where the dataset's upload to `backend` stands (None for an unknown dataset)."""
        with self._sessions() as session:
            row = session.execute(
                select(Dataset.id, RemoteFile.file_id, RemoteFile.upload_claim)
                .outerjoin(
                    RemoteFile,
                    and_(RemoteFile.dataset_id == Dataset.id, RemoteFile.backend == backend),
                )
                .where(Dataset.id == dataset_id)
            ).first()
        if row is None:
            return None
        return UploadState(file_id=row.file_id, claimed=row.upload_claim is not None)

    def names_of(self, dataset_ids: set[int]) -> dict[int, str]:
        """Each dataset's name, in one query per 500 ids (listings name a job's dataset)."""
        found: dict[int, str] = {}
        wanted = sorted(dataset_ids)
        with self._sessions() as session:
            for start in range(0, len(wanted), 500):
                query = select(Dataset.id, Dataset.name).where(
                    Dataset.id.in_(wanted[start : start + 500])
                )
                found.update({row.id: row.name for row in session.execute(query)})
        return found

    def by_uploader(self, *, uploader_id: str, limit: int = 10) -> list[DatasetRecord]:
        """A user's most recent reported datasets."""
        with self._sessions() as session:
            rows = session.scalars(
                select(Dataset)
                .where(Dataset.uploader_id == uploader_id, Dataset.status == "reported")
                .order_by(Dataset.created_at.desc(), Dataset.id.desc())
                .limit(limit)
            )
            return [_dataset(row) for row in rows]
