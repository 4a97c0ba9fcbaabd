"""Job repository: requests with idempotency keys, compare-and-set state, lookups."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.core.jobs import JobState
from bot.core.usage import JobCost
from storage.db import utc
from storage.models import Job
from storage.repositories import insert_for


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job (or a request for one) as stored."""

    id: int
    request_key: str
    backend: str
    remote_id: str | None  # the backend's own job id (ftjob-…, ft-…)
    dataset_id: int | None
    validation_dataset_id: int | None
    channel_id: str
    thread_ts: str | None
    owner_id: str
    model: str
    method: str
    hyperparameters: dict[str, Any] | None
    suffix: str | None
    seed: int | None
    state: JobState
    status: str | None
    estimated_cost_usd: float | None
    estimated_tokens: int | None
    trained_tokens: int | None
    fine_tuned_model: str | None
    status_ts: str | None
    approver_id: str | None
    approval_ts: str | None
    error: str | None
    created_at: dt.datetime
    cancelled_by: str | None = None  # who asked the bot to cancel it


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job request as first stored."""

    channel_id: str
    owner_id: str
    model: str
    state: JobState
    method: str = "supervised"
    dataset_id: int | None = None
    validation_dataset_id: int | None = None
    thread_ts: str | None = None
    hyperparameters: dict[str, Any] | None = None
    suffix: str | None = None
    seed: int | None = None
    estimated_cost_usd: float | None = None
    estimated_tokens: int | None = None
    backend: str = "openai"
    remote_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of a job learnt."""

    status: str
    snapshot: dict[str, Any]
    events_cursor: str | None
    trained_tokens: int | None
    fine_tuned_model: str | None
    finished: bool


def _job(row: Job) -> JobRecord:
    return JobRecord(
        id=row.id,
        request_key=row.request_key,
        backend=row.backend,
        remote_id=row.remote_id,
        dataset_id=row.dataset_id,
        validation_dataset_id=row.validation_dataset_id,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        owner_id=row.owner_id,
        model=row.model,
        method=row.method,
        hyperparameters=row.hyperparameters,
        suffix=row.suffix,
        seed=row.seed,
        state=JobState(row.state),
        status=row.status,
        estimated_cost_usd=row.estimated_cost_usd,
        estimated_tokens=row.estimated_tokens,
        trained_tokens=row.trained_tokens,
        fine_tuned_model=row.fine_tuned_model,
        status_ts=row.status_ts,
        approver_id=row.approver_id,
        approval_ts=row.approval_ts,
        error=row.error,
        created_at=utc(row.created_at) or row.created_at,
        cancelled_by=row.cancelled_by,
    )


def _billed(value: Any) -> float | None:
    """The backend's own price stored with the job's watch state (None when absent or bad)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


class JobRepository:
    """Jobs and job requests."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def add_request(
        self, *, request_key: str, now: dt.datetime, request: NewJob
    ) -> tuple[JobRecord, bool]:
        """Store a request under its idempotency key; (record, True) only for the first caller."""
        stmt = (
            insert_for(self._engine, Job)
            .values(
                request_key=request_key,
                created_at=now,
                updated_at=now,
                **{f.name: getattr(request, f.name) for f in fields(request)},
            )
            .on_conflict_do_nothing(index_elements=["request_key"])
            .returning(Job.id)
        )
        with self._sessions.begin() as session:
            created = session.execute(stmt).first() is not None
        record = self.by_key(request_key)
        assert record is not None
        return record, created

    def _move(
        self, request_key: str, from_states: tuple[JobState, ...], now: dt.datetime, **values: Any
    ) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(Job)
                .where(Job.request_key == request_key, Job.state.in_(from_states))
                .values(updated_at=now, **values)
                .returning(Job.id)
            )
            return result.first() is not None

    def _set(self, request_key: str, now: dt.datetime, **values: Any) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Job).where(Job.request_key == request_key).values(updated_at=now, **values)
            )

    def approve(self, *, request_key: str, approver_id: str, now: dt.datetime) -> bool:
        """An admin approved the spend: True only for the first approval."""
        return self._move(
            request_key,
            (JobState.AWAITING_APPROVAL,),
            now,
            state=JobState.APPROVED,
            approver_id=approver_id,
        )

    def decline(self, *, request_key: str, now: dt.datetime) -> bool:
        """An admin declined the spend (or the requester withdrew it): nothing is created;
        True only for the first answer (an approval or a decline, whichever came first)."""
        return self._move(
            request_key,
            (JobState.AWAITING_APPROVAL,),
            now,
            state=JobState.FAILED,
            error="declined: not approved by an admin",
        )

    def start_creating(self, *, request_key: str, now: dt.datetime) -> bool:
        """Take the request for creation: True for exactly one caller (whatever retries do)."""
        return self._move(
            request_key,
            (JobState.REQUESTED, JobState.APPROVED, JobState.RETRYABLE),
            now,
            state=JobState.CREATING,
        )

    def creation_failed(
        self, *, request_key: str, error: str, retryable: bool, now: dt.datetime
    ) -> None:
        """The creation did not happen: the request may be retried, or it failed for good."""
        state = JobState.RETRYABLE if retryable else JobState.FAILED
        self._set(request_key, now, state=state, error=error)

    def interrupted(self, *, request_key: str, now: dt.datetime) -> bool:
        """A creation cut short by a bug: retryable, if it was still being created."""
        return self._move(request_key, (JobState.CREATING,), now, state=JobState.RETRYABLE)

    def created(self, *, request_key: str, remote_id: str, status: str, now: dt.datetime) -> None:
        """The backend created the job: it is watched from now on."""
        self._set(request_key, now, state=JobState.CREATED, remote_id=remote_id, status=status)

    def quoted(
        self, *, request_key: str, cost_usd: float | None, tokens: int | None, now: dt.datetime
    ) -> None:
        """The backend's own quote for the job (None: it gave none, the cost is unknown)."""
        values: dict[str, Any] = {"estimated_cost_usd": cost_usd}
        if tokens is not None:
            values["estimated_tokens"] = tokens
        self._set(request_key, now, **values)

    def await_approval(self, *, request_key: str, now: dt.datetime) -> bool:
        """A job being created turns out (by its quote) to need an admin's approval first:
        True only for the caller that moved it."""
        return self._move(request_key, (JobState.CREATING,), now, state=JobState.AWAITING_APPROVAL)

    def set_approval_message(self, *, request_key: str, ts: str, now: dt.datetime) -> None:
        """Where the approval request was posted."""
        self._set(request_key, now, approval_ts=ts)

    def set_status_message(
        self, *, job_id: int, ts: str, now: dt.datetime, thread_ts: str | None = None
    ) -> None:
        """Where the job's status message is (and its thread, for an adopted job)."""
        values: dict[str, Any] = {"status_ts": ts}
        if thread_ts is not None:
            values["thread_ts"] = thread_ts
        with self._sessions.begin() as session:
            session.execute(update(Job).where(Job.id == job_id).values(updated_at=now, **values))

    def set_status(self, *, job_id: int, status: str, now: dt.datetime) -> None:
        """The backend's status after an action (cancel, pause, resume)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(updated_at=now, status=status)
            )

    def set_cancelled_by(self, *, job_id: int, user_id: str | None, now: dt.datetime) -> None:
        """Who asked to cancel the job (recorded before the backend is asked, so that a poll
        seeing it cancelled already knows who; None again when the backend refused)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(updated_at=now, cancelled_by=user_id)
            )

    def choose_model(self, *, job_id: int, chosen: str, now: dt.datetime) -> None:
        """The checkpoint (or final model) chosen as the default for `try`."""
        with self._sessions.begin() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(updated_at=now, chosen_model=chosen)
            )

    def by_id(self, job_id: int) -> JobRecord | None:
        """A job by its stored id."""
        with self._sessions() as session:
            row = session.get(Job, job_id)
            return _job(row) if row else None

    def by_key(self, request_key: str) -> JobRecord | None:
        """The job with this idempotency key."""
        with self._sessions() as session:
            row = session.scalar(select(Job).where(Job.request_key == request_key))
            return _job(row) if row else None

    def matching(self, reference: str, *, limit: int = 200) -> list[JobRecord]:
        """Jobs whose remote id (on any backend) is `reference` or starts with it (newest first,
        at most `limit`)."""
        with self._sessions() as session:
            exact = session.scalars(
                select(Job)
                .where(Job.remote_id == reference)
                .order_by(Job.created_at.desc(), Job.id.desc())
            ).all()
            if exact:
                return [_job(row) for row in exact]
            rows = session.scalars(
                select(Job)
                .where(Job.remote_id.startswith(reference, autoescape=True))
                .order_by(Job.created_at.desc(), Job.id.desc())
                .limit(limit)
            )
            return [_job(row) for row in rows]

    def claim_active(
        self, *, owner: str, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[JobRecord]:
        """Lease up to `limit` jobs being watched, so no other replica polls them meanwhile.

        PostgreSQL skips rows another replica has locked (FOR UPDATE SKIP LOCKED); the outer
        condition is re-checked so a row is never leased twice. SQLite serialises writers.
        """
        claimable = and_(
            Job.state == JobState.CREATED,
            or_(Job.lease_until.is_(None), Job.lease_until < now),
        )
        candidates = select(Job.id).where(claimable).order_by(Job.id).limit(limit)
        if self._engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        with self._sessions.begin() as session:
            ids = session.scalars(
                update(Job)
                .where(Job.id.in_(candidates.scalar_subquery()), claimable)
                .values(lease_owner=owner, lease_until=now + lease)
                .returning(Job.id)
            ).all()
            rows = session.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)).all()
            return [_job(row) for row in rows]

    def release(self, *, ids: list[int], owner: str) -> None:
        """Give the leases back (only ours)."""
        if not ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def record_poll(self, *, job_id: int, now: dt.datetime, poll: PollResult) -> None:
        """Store what a poll learnt (status, metrics and view, events cursor, results)."""
        values: dict[str, Any] = {
            "status": poll.status,
            "snapshot": poll.snapshot,
            "events_cursor": poll.events_cursor,
            "trained_tokens": poll.trained_tokens,
            "fine_tuned_model": poll.fine_tuned_model,
        }
        if poll.finished:
            values["finished_at"] = now
        with self._sessions.begin() as session:
            session.execute(update(Job).where(Job.id == job_id).values(updated_at=now, **values))

    def mark_finished(self, *, job_id: int, now: dt.datetime) -> None:
        """Everything about the finished job was posted: it is no longer watched."""
        with self._sessions.begin() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(updated_at=now, state=JobState.FINISHED)
            )

    def by_remote_id(self, *, backend: str, remote_id: str) -> JobRecord | None:
        """The job with this id on `backend`."""
        with self._sessions() as session:
            row = session.scalar(
                select(Job).where(Job.backend == backend, Job.remote_id == remote_id)
            )
            return _job(row) if row else None

    def by_openai_id(self, remote_id: str) -> JobRecord | None:
        """The job with this OpenAI id."""
        return self.by_remote_id(backend="openai", remote_id=remote_id)

    def snapshot_of(self, job_id: int) -> tuple[dict[str, Any] | None, str | None]:
        """The stored watch state (metrics, last status view) and events cursor."""
        with self._sessions() as session:
            row = session.get(Job, job_id)
            return (row.snapshot, row.events_cursor) if row else (None, None)

    def by_fine_tuned_model(self, name: str) -> JobRecord | None:
        """The job that produced a fine-tuned model."""
        with self._sessions() as session:
            row = session.scalar(select(Job).where(Job.fine_tuned_model == name).limit(1))
            return _job(row) if row else None

    def listing(
        self, *, channel_id: str | None = None, owner_id: str | None = None, limit: int = 500
    ) -> list[JobRecord]:
        """Started jobs and pending requests, newest first (optionally of a channel or owner)."""
        with self._sessions() as session:
            query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
            if channel_id:
                query = query.where(Job.channel_id == channel_id)
            if owner_id:
                query = query.where(Job.owner_id == owner_id)
            return [_job(row) for row in session.scalars(query)]

    def costs(self, job_ids: list[int] | None = None) -> list[JobCost]:
        """Every started job's estimate and result (for usage reports), or those of `job_ids`."""
        with self._sessions() as session:
            query = select(Job).where(Job.remote_id.is_not(None))
            if job_ids is not None:
                query = query.where(Job.id.in_(job_ids))
            return [
                JobCost(
                    owner_id=row.owner_id,
                    channel_id=row.channel_id,
                    model=row.model,
                    created_at=utc(row.created_at) or row.created_at,
                    estimated_tokens=row.estimated_tokens or 0,
                    estimated_usd=row.estimated_cost_usd,
                    trained_tokens=row.trained_tokens,
                    backend=row.backend,
                    billed_usd=_billed((row.snapshot or {}).get("billed_usd")),
                    job_id=row.id,
                )
                for row in session.scalars(query)
            ]

    def progress_of(self, job_ids: list[int]) -> dict[int, tuple[int, int]]:
        """(step, total steps) of each job, from the stored metrics, in one query."""
        found: dict[int, tuple[int, int]] = {}
        with self._sessions() as session:
            for start in range(0, len(job_ids), 500):
                rows = session.execute(
                    select(Job.id, Job.snapshot).where(Job.id.in_(job_ids[start : start + 500]))
                )
                for job_id, stored in rows:
                    metrics = (stored or {}).get("metrics") or {}
                    found[job_id] = (
                        int(metrics.get("step") or 0),
                        int(metrics.get("total_steps") or 0),
                    )
        return found

    def progress(self, job_id: int) -> tuple[int, int]:
        """(step, total steps) from the stored metrics."""
        stored, _ = self.snapshot_of(job_id)
        metrics = (stored or {}).get("metrics") or {}
        return int(metrics.get("step") or 0), int(metrics.get("total_steps") or 0)
