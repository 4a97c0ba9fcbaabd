"""A watched job's notices wait for its thread (issue 13: two replicas on PostgreSQL).

An adopted job is stored (and so claimable by any replica's poller) a moment before its status
message, the root of its thread, is posted. A poll in that moment used to post the job's events
with no thread: in the channel, and missing from the thread. They now wait, recorded, and reach
the thread on the first poll after it exists, each once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.core.jobs import JobSnapshot, JobState
from bot.core.message import Message
from bot.core.watch import Event
from bot.services.backends import Backends
from bot.services.watch import JobWatcher, PollStats
from handlers.text import render
from storage import migrate
from storage.db import make_engine
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRecord, JobRepository, NewJob
from storage.notifications import NotificationRepository
from storage.repositories import DatasetRepository
from tests.db import fresh_database_url

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CREATED = Event(id="tev-1", created_at=1, level="info", message="Fine tune request created")
WARNED = Event(id="tev-2", created_at=2, level="warning", message="Close to the billing limit")


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Backend:
    """A queued Together job with a routine event and a warning."""

    configured = True

    def retrieve(self, job_id: str) -> JobSnapshot:
        return JobSnapshot(id=job_id, status="queued", model="m")

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Event], bool]:
        return ([] if after else [WARNED, CREATED]), False  # newest first


class Notifier:
    """Records where each message went."""

    def __init__(self) -> None:
        self.posts: list[tuple[str | None, str]] = []
        self.views: list[str] = []

    def update_status(self, *, job: JobRecord, view: Any) -> None:
        self.views.append(str(view))

    def post_in_thread(
        self, *, job: JobRecord, text: Message, key: str, broadcast: bool = False
    ) -> str:
        self.posts.append((job.thread_ts or job.status_ts, render(text)))
        return f"{len(self.posts)}.0"

    def find_marked(self, **_: Any) -> str | None:
        return None


def test_notices_wait_for_the_jobs_thread(tmp_path: Path) -> None:
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        jobs, notifier = JobRepository(engine=engine), Notifier()
        record, _ = jobs.add_request(
            request_key="adopt:together:ft-1", now=NOW, request=NewJob(
                remote_id="ft-1", channel_id="C1", owner_id="U1", model="m",
                state=JobState.CREATED, status="queued", backend="together",
            ),
        )  # fmt: skip
        watcher = JobWatcher(
            jobs=jobs,
            notifications=NotificationRepository(engine=engine),
            models=ModelRepository(engine=engine),
            datasets=DatasetRepository(engine=engine),
            backends=Backends({"together": Backend()}),  # type: ignore[dict-item]
            notifier=notifier,  # type: ignore[arg-type]
            clock=Clock(),
        )
        # polled before its status message exists: the event is recorded, nothing is posted
        assert watcher.poll_once(NOW) == PollStats(jobs=1, failed=0)
        assert notifier.posts == []
        assert jobs.by_key("adopt:together:ft-1").state == JobState.CREATED  # type: ignore[union-attr]
        assert notifier.views == []
        # the status message is posted: the next poll puts the warning in its thread, once,
        # and the routine event in the status message's timeline
        jobs.set_status_message(job_id=record.id, ts="100.1", thread_ts="100.1", now=NOW)
        watcher.poll_once(NOW + dt.timedelta(minutes=5))
        watcher.poll_once(NOW + dt.timedelta(minutes=10))
        assert notifier.posts == [("100.1", "⚠️ `ft-1`: Close to the billing limit")]
        assert len(notifier.views) == 1 and "Fine tune request created" in notifier.views[0]
        engine.dispose()
