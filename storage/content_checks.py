"""Content checks: one per dataset, claimed before the moderation endpoint is called."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utc
from storage.models import ContentCheck
from storage.repositories import insert_for

RUNNING, DONE, FAILED = "running", "done", "failed"
MAX_STORED = 5_000  # flagged lines kept per check (the count is always exact)


@dataclass(frozen=True, slots=True)
class ContentCheckRecord:
    """A content check as stored; `flagged`: (line, categories) pairs, by line."""

    id: int
    dataset_id: int
    sha256: str | None
    model: str
    status: str
    requester_id: str
    channel_id: str
    message_ts: str | None
    total: int
    checked: int
    skipped: int
    flagged_count: int
    flagged: tuple[tuple[int, tuple[str, ...]], ...]
    unit: str  # what the flagged numbers count: "line" (JSONL) or "item" (a JSON array)
    error: str | None
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """The dataset's check and whether this caller took it (False: it runs or ran already)."""

    taken: bool
    check: ContentCheckRecord


def _flagged(value: dict[str, Any] | None) -> tuple[tuple[int, tuple[str, ...]], ...]:
    rows = (value or {}).get("lines") or []
    return tuple(
        (int(row[0]), tuple(str(c) for c in row[1]))
        for row in rows
        if isinstance(row, list) and len(row) == 2 and isinstance(row[1], list)
    )


def _record(row: ContentCheck) -> ContentCheckRecord:
    return ContentCheckRecord(
        id=row.id,
        dataset_id=row.dataset_id,
        sha256=row.sha256,
        model=row.model,
        status=row.status,
        requester_id=row.requester_id,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        total=row.total,
        checked=row.checked,
        skipped=row.skipped,
        flagged_count=row.flagged_count,
        flagged=_flagged(row.flagged),
        unit=str((row.flagged or {}).get("unit") or "line"),
        error=row.error,
        updated_at=utc(row.updated_at) or row.updated_at,
    )


class ContentCheckRepository:
    """Claim a dataset's check once (again after a failure or a stale claim), record its
    progress and result, and find a finished check of the same content."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def claim(
        self,
        *,
        dataset_id: int,
        sha256: str | None,
        model: str,
        requester_id: str,
        channel_id: str,
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> Claim:
        """Take the dataset's check: the first caller, or after a failure, or when the one
        running stopped moving for `lease` (a crash). Anyone else gets the check as it is."""
        insert = (
            insert_for(self._engine, ContentCheck)
            .values(
                dataset_id=dataset_id,
                sha256=sha256,
                model=model,
                status=RUNNING,
                requester_id=requester_id,
                channel_id=channel_id,
                total=0,
                checked=0,
                skipped=0,
                flagged_count=0,
                claimed_at=now,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dataset_id"])
            .returning(ContentCheck.id)
        )
        retake = (
            update(ContentCheck)
            .where(
                and_(
                    ContentCheck.dataset_id == dataset_id,
                    or_(
                        ContentCheck.status == FAILED,
                        and_(ContentCheck.status == RUNNING, ContentCheck.updated_at < now - lease),
                    ),
                )
            )
            .values(
                status=RUNNING,
                sha256=sha256,
                model=model,
                requester_id=requester_id,
                checked=0,
                error=None,
                claimed_at=now,
                updated_at=now,
            )
            .returning(ContentCheck.id)
        )
        with self._sessions.begin() as session:
            taken = session.execute(insert).first() is not None
            if not taken:
                taken = session.execute(retake).first() is not None
            row = session.scalars(
                select(ContentCheck).where(ContentCheck.dataset_id == dataset_id)
            ).one()
            return Claim(taken, _record(row))

    def get(self, *, dataset_id: int) -> ContentCheckRecord | None:
        """The dataset's check, if it was ever asked for."""
        with self._sessions() as session:
            row = session.scalars(
                select(ContentCheck).where(ContentCheck.dataset_id == dataset_id)
            ).first()
            return _record(row) if row else None

    def finished_for(self, *, sha256: str, model: str) -> ContentCheckRecord | None:
        """A finished check of the same content with the same model (any dataset)."""
        with self._sessions() as session:
            row = session.scalars(
                select(ContentCheck)
                .where(
                    ContentCheck.sha256 == sha256,
                    ContentCheck.model == model,
                    ContentCheck.status == DONE,
                )
                .order_by(ContentCheck.id)
            ).first()
            return _record(row) if row else None

    def set_message(self, *, check_id: int, ts: str, now: dt.datetime) -> None:
        """Where the check's progress (then its result) is shown."""
        self._set(check_id, now, message_ts=ts)

    def progress(self, *, check_id: int, total: int, checked: int, now: dt.datetime) -> None:
        """How far the check got (also what keeps its claim alive)."""
        self._set(check_id, now, total=total, checked=checked)

    def finish(
        self,
        *,
        check_id: int,
        status: str,
        total: int,
        checked: int,
        skipped: int,
        flagged: list[tuple[int, tuple[str, ...]]],
        unit: str,
        error: str | None,
        now: dt.datetime,
    ) -> None:
        """The check's outcome: DONE with every flagged line, or FAILED with what it found."""
        self._set(
            check_id,
            now,
            status=status,
            total=total,
            checked=checked,
            skipped=skipped,
            flagged_count=len(flagged),
            flagged={
                "unit": unit,
                "lines": [[line, list(c)] for line, c in flagged[:MAX_STORED]],
            },
            error=error,
        )

    def _set(self, check_id: int, now: dt.datetime, **values: Any) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ContentCheck)
                .where(ContentCheck.id == check_id)
                .values(updated_at=now, **values)
            )
