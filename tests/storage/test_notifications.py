"""The notifications outbox: a notice left `sending` by a crash is taken again after its lease."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from bot.core.jobs import JobState
from storage.jobs import JobRepository, NewJob
from storage.notifications import NotificationRepository

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=1)


def test_a_notice_left_sending_by_a_crash_is_claimed_again_after_its_lease(
    engine: Engine,
) -> None:
    job, _ = JobRepository(engine=engine).add_request(
        request_key="k",
        now=NOW,
        request=NewJob(channel_id="C1", owner_id="U1", model="m", state=JobState.CREATED),
    )
    outbox = NotificationRepository(engine=engine)
    for key in ("e1", "e2"):
        outbox.add(job_id=job.id, kind="event", key=key, payload={}, now=NOW)
    first = outbox.claim(job_id=job.id, now=NOW, lease=LEASE)
    assert [n.key for n in first] == ["e1", "e2"]
    outbox.sent(notification_id=first[0].id, ts="1.0", now=NOW)
    # the process dies here: e2 stays `sending` with its lease
    assert outbox.claim(job_id=job.id, now=NOW, lease=LEASE) == []  # still leased
    later = NOW + 2 * LEASE
    again = outbox.claim(job_id=job.id, now=later, lease=LEASE)  # raised TypeError on SQLite
    assert [(n.key, n.retried) for n in again] == [("e2", True)]
