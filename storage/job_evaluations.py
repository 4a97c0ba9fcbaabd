"""A job's automatic scorecard as a claimable piece of work (product §10).

`off` is recorded at start (`eval=off`); `pending` once the job succeeded with held-out data.
A replica takes a pending one (or one whose lease ran out: its runner crashed) under a lease it
renews while it works, so exactly one runner posts the job's scorecard, across replicas and
restarts. Where its progress line and scorecard went is recorded, so a runner taking over edits
the same line and never posts a second scorecard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.core.jobs import JobState
from storage.models import Job, JobEvaluation
from storage.repositories import insert_for

OFF, PENDING, RUNNING, DONE, SKIPPED = "off", "pending", "running", "done", "skipped"


@dataclass(frozen=True, slots=True)
class JobEvaluationRecord:
    """A claimed automatic evaluation (`attempts` counts this claim)."""

    id: int
    job_id: int
    state: str
    attempts: int
    progress_ts: str | None
    scorecard_ts: str | None
    evaluation_id: int | None
    note: str | None


def _record(row: JobEvaluation) -> JobEvaluationRecord:
    return JobEvaluationRecord(
        id=row.id,
        job_id=row.job_id,
        state=row.state,
        attempts=row.attempts,
        progress_ts=row.progress_ts,
        scorecard_ts=row.scorecard_ts,
        evaluation_id=row.evaluation_id,
        note=row.note,
    )


class JobEvaluationRepository:
    """Automatic evaluations: recorded once per job, claimed under a lease."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def _insert(self, *, job_id: int, state: str, now: dt.datetime) -> bool:
        stmt = (
            insert_for(self._engine, JobEvaluation)
            .values(job_id=job_id, state=state, attempts=0, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["job_id"])
            .returning(JobEvaluation.id)
        )
        with self._sessions.begin() as session:
            return session.execute(stmt).first() is not None

    def turn_off(self, *, job_id: int, now: dt.datetime) -> None:
        """`eval=off` at start: the job gets no automatic scorecard."""
        self._insert(job_id=job_id, state=OFF, now=now)

    def due(self, *, job_id: int, now: dt.datetime) -> bool:
        """The job succeeded: its evaluation is due (once; nothing when it was turned off)."""
        return self._insert(job_id=job_id, state=PENDING, now=now)

    def of_job(self, job_id: int) -> JobEvaluationRecord | None:
        """The job's automatic evaluation, if any was recorded."""
        with self._sessions() as session:
            row = session.scalar(select(JobEvaluation).where(JobEvaluation.job_id == job_id))
            return _record(row) if row else None

    def claim(
        self, *, owner: str, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[JobEvaluationRecord]:
        """Take up to `limit` due evaluations: pending ones of finished jobs (everything else
        about the job is posted by then), or running ones whose runner's lease ran out."""
        due = and_(
            or_(
                JobEvaluation.state == PENDING,
                and_(JobEvaluation.state == RUNNING, JobEvaluation.lease_until < now),
            ),
            JobEvaluation.job_id.in_(select(Job.id).where(Job.state == JobState.FINISHED)),
        )
        candidates = select(JobEvaluation.id).where(due).order_by(JobEvaluation.id).limit(limit)
        if self._engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        with self._sessions.begin() as session:
            ids = session.scalars(
                update(JobEvaluation)
                .where(JobEvaluation.id.in_(candidates.scalar_subquery()), due)
                .values(
                    state=RUNNING,
                    lease_owner=owner,
                    lease_until=now + lease,
                    attempts=JobEvaluation.attempts + 1,
                    updated_at=now,
                )
                .returning(JobEvaluation.id)
                .execution_options(synchronize_session=False)
            ).all()
            rows = session.scalars(
                select(JobEvaluation).where(JobEvaluation.id.in_(ids)).order_by(JobEvaluation.id)
            ).all()
            return [_record(row) for row in rows]

    def _mine(self, evaluation_id: int, owner: str) -> object:
        return and_(
            JobEvaluation.id == evaluation_id,
            JobEvaluation.state == RUNNING,
            JobEvaluation.lease_owner == owner,
        )

    def renew(
        self, *, evaluation_id: int, owner: str, now: dt.datetime, lease: dt.timedelta
    ) -> bool:
        """Extend the lease while working; False when another runner took it over."""
        with self._sessions.begin() as session:
            won = session.execute(
                update(JobEvaluation)
                .where(self._mine(evaluation_id, owner))  # type: ignore[arg-type]
                .values(lease_until=now + lease, updated_at=now)
                .returning(JobEvaluation.id)
                .execution_options(synchronize_session=False)
            ).first()
            return won is not None

    def record(
        self,
        *,
        evaluation_id: int,
        owner: str,
        now: dt.datetime,
        progress_ts: str | None = None,
        scorecard_ts: str | None = None,
        run_id: int | None = None,
    ) -> None:
        """Remember where the progress line or the scorecard went, or the stored run."""
        values: dict[str, object] = {"updated_at": now}
        if progress_ts is not None:
            values["progress_ts"] = progress_ts
        if scorecard_ts is not None:
            values["scorecard_ts"] = scorecard_ts
        if run_id is not None:
            values["evaluation_id"] = run_id
        with self._sessions.begin() as session:
            session.execute(
                update(JobEvaluation)
                .where(self._mine(evaluation_id, owner))  # type: ignore[arg-type]
                .values(**values)
            )

    def finish(
        self, *, evaluation_id: int, owner: str, state: str, note: str | None, now: dt.datetime
    ) -> bool:
        """Done or skipped (`note`: why); False when the lease was lost meanwhile."""
        with self._sessions.begin() as session:
            won = session.execute(
                update(JobEvaluation)
                .where(self._mine(evaluation_id, owner))  # type: ignore[arg-type]
                .values(state=state, note=note, lease_owner=None, lease_until=None, updated_at=now)
                .returning(JobEvaluation.id)
                .execution_options(synchronize_session=False)
            ).first()
            return won is not None
