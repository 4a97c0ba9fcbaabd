"""The automatic scorecard's claim (SQLite, and PostgreSQL in the `db` run): recorded once per
job, `eval=off` wins, only finished jobs are claimed, one runner at a time under a lease that a
second runner takes over only once it ran out; a runner that lost it can neither renew, record
nor finish."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from storage.job_evaluations import DONE, OFF, PENDING, RUNNING, JobEvaluationRepository
from storage.jobs import JobRepository
from tests.storage.test_evaluations import NOW, dataset_and_job

pytestmark = pytest.mark.db

LEASE = dt.timedelta(seconds=30)


def finished(engine: Engine, n: int = 1) -> int:
    _, job_id = dataset_and_job(engine, n)
    JobRepository(engine=engine).mark_finished(job_id=job_id, now=NOW)
    return job_id


def test_due_once_and_eval_off_wins(engine: Engine) -> None:
    runs = JobEvaluationRepository(engine=engine)
    on, off = finished(engine, 1), finished(engine, 2)
    runs.turn_off(job_id=off, now=NOW)
    assert runs.due(job_id=on, now=NOW) is True
    assert runs.due(job_id=on, now=NOW) is False  # every poll that sees the success: once
    assert runs.due(job_id=off, now=NOW) is False
    assert (runs.of_job(on).state, runs.of_job(off).state) == (PENDING, OFF)  # type: ignore[union-attr]
    claimed = runs.claim(owner="a", now=NOW, lease=LEASE, limit=10)
    assert [c.job_id for c in claimed] == [on] and claimed[0].attempts == 1


def test_a_job_still_posting_is_not_claimed(engine: Engine) -> None:
    runs = JobEvaluationRepository(engine=engine)
    _, job_id = dataset_and_job(engine)  # not finished: its completion notices come first
    runs.due(job_id=job_id, now=NOW)
    assert runs.claim(owner="a", now=NOW, lease=LEASE, limit=10) == []
    JobRepository(engine=engine).mark_finished(job_id=job_id, now=NOW)
    assert len(runs.claim(owner="a", now=NOW, lease=LEASE, limit=10)) == 1


def test_one_runner_at_a_time_and_a_take_over_after_the_lease(engine: Engine) -> None:
    runs = JobEvaluationRepository(engine=engine)
    job_id = finished(engine)
    runs.due(job_id=job_id, now=NOW)
    (first,) = runs.claim(owner="a", now=NOW, lease=LEASE, limit=10)
    runs.record(evaluation_id=first.id, owner="a", now=NOW, progress_ts="5.0")
    assert runs.claim(owner="b", now=NOW + LEASE / 2, lease=LEASE, limit=10) == []
    assert runs.renew(evaluation_id=first.id, owner="a", now=NOW + LEASE / 2, lease=LEASE)
    assert runs.claim(owner="b", now=NOW + LEASE, lease=LEASE, limit=10) == []  # renewed
    later = NOW + 2 * LEASE  # "a" stopped renewing (it crashed)
    (second,) = runs.claim(owner="b", now=later, lease=LEASE, limit=10)
    assert (second.attempts, second.progress_ts, second.state) == (2, "5.0", RUNNING)
    assert not runs.renew(evaluation_id=first.id, owner="a", now=later, lease=LEASE)
    runs.record(evaluation_id=first.id, owner="a", now=later, scorecard_ts="9.0")
    assert not runs.finish(evaluation_id=first.id, owner="a", state=DONE, note=None, now=later)
    assert runs.of_job(job_id).scorecard_ts is None  # type: ignore[union-attr]
    runs.record(evaluation_id=second.id, owner="b", now=later, scorecard_ts="7.0")
    assert runs.finish(evaluation_id=second.id, owner="b", state=DONE, note=None, now=later)
    done = runs.of_job(job_id)
    assert done is not None and (done.state, done.scorecard_ts) == (DONE, "7.0")
    assert runs.claim(owner="c", now=later + 10 * LEASE, lease=LEASE, limit=10) == []
