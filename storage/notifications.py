"""Notifications: each message about a job is claimed under a unique key before it is posted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Notification
from storage.repositories import insert_for


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """A claimed notification; `retried` is True when an earlier sender may have posted it."""

    id: int
    job_id: int
    kind: str
    key: str
    payload: dict[str, Any]
    retried: bool


class NotificationRepository:
    """The outbox of job messages."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def add(
        self,
        *,
        job_id: int,
        kind: str,
        key: str,
        payload: dict[str, Any],
        now: dt.datetime,
        shown_in: str | None = None,
    ) -> bool:
        """Record a notice once (a second insert of the same job/kind/key does nothing).

        `shown_in`: the ts of the message that shows it (a timeline entry lives in the job's
        status message, which is edited from these rows): recorded as sent, never posted."""
        status = "pending" if shown_in is None else "sent"
        stmt = (
            insert_for(self._engine, Notification)
            .values(
                job_id=job_id,
                kind=kind,
                key=key,
                payload=payload,
                status=status,
                created_at=now,
                slack_ts=shown_in,
                sent_at=None if shown_in is None else now,
            )
            .on_conflict_do_nothing(index_elements=["job_id", "kind", "key"])
            .returning(Notification.id)
        )
        with self._sessions.begin() as session:
            return session.execute(stmt).first() is not None

    def claim(
        self, *, job_id: int, now: dt.datetime, lease: dt.timedelta
    ) -> list[NotificationRecord]:
        """Take the job's notifications that are due: pending, or stuck in sending past the lease."""
        due = and_(
            Notification.job_id == job_id,
            or_(
                Notification.status == "pending",
                and_(Notification.status == "sending", Notification.lease_until < now),
            ),
        )
        with self._sessions.begin() as session:
            rows = session.scalars(select(Notification).where(due).order_by(Notification.id)).all()
            claimed = []
            for row in rows:
                # No in-Python re-evaluation of `due` on the loaded row: SQLite gives its
                # lease_until back naive, and comparing that with an aware `now` raised
                # TypeError, so a notice left `sending` by a crash was never taken again.
                won = session.execute(
                    update(Notification)
                    .where(Notification.id == row.id, due)
                    .values(status="sending", lease_until=now + lease)
                    .returning(Notification.id)
                    .execution_options(synchronize_session=False)
                ).first()
                if won:
                    claimed.append(
                        NotificationRecord(
                            id=row.id,
                            job_id=row.job_id,
                            kind=row.kind,
                            key=row.key,
                            payload=row.payload or {},
                            retried=row.status == "sending",
                        )
                    )
            return claimed

    def sent(self, *, notification_id: int, ts: str | None, now: dt.datetime) -> None:
        """Record that the message is in Slack (and where)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Notification)
                .where(Notification.id == notification_id)
                .values(status="sent", slack_ts=ts, sent_at=now, lease_until=None)
            )

    def expire(self, *, ids: list[int]) -> None:
        """End the lease of notifications whose sending failed, so the next poll reconciles."""
        if not ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(ids), Notification.status == "sending")
                .values(lease_until=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
            )

    def has_due(self, *, job_id: int) -> bool:
        """Whether anything is waiting to be posted for the job (cheap check)."""
        with self._sessions() as session:
            return (
                session.scalar(
                    select(Notification.id)
                    .where(Notification.job_id == job_id, Notification.status != "sent")
                    .limit(1)
                )
                is not None
            )

    def latest(self, *, job_id: int, kind: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The payloads of the job's last `limit` notices of `kind`, oldest first, and how many
        notices of that kind it has in all."""
        with self._sessions() as session:
            total = session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.job_id == job_id, Notification.kind == kind)
            )
            rows = session.scalars(
                select(Notification.payload)
                .where(Notification.job_id == job_id, Notification.kind == kind)
                .order_by(Notification.id.desc())
                .limit(limit)
            ).all()
        return [dict(row or {}) for row in reversed(rows)], int(total or 0)

    def for_job(self, *, job_id: int) -> list[tuple[str, str, str]]:
        """(kind, key, status) of every notification of a job."""
        with self._sessions() as session:
            rows = session.execute(
                select(Notification.kind, Notification.key, Notification.status)
                .where(Notification.job_id == job_id)
                .order_by(Notification.id)
            ).all()
            return [(r[0], r[1], r[2]) for r in rows]

    def sent_ts(self, *, job_id: int, kind: str, key: str) -> str | None:
        """Where a notice that was sent is in Slack (its message's ts), to edit it later."""
        with self._sessions() as session:
            return session.scalar(
                select(Notification.slack_ts).where(
                    Notification.job_id == job_id,
                    Notification.kind == kind,
                    Notification.key == key,
                    Notification.status == "sent",
                )
            )
